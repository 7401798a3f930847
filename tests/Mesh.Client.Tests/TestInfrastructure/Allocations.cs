namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Measures what a hot-path step allocates once warm, telling a step that allocates from what the runtime does once.</summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="step"/> (given the iteration's index) <paramref name="warmUp"/> times, then
    /// <paramref name="rounds"/> rounds of <paramref name="count"/>, and returns what each round allocated on this thread.
    /// </summary>
    /// <remarks>
    /// A step that allocates, even once every few thousand steps, shows in every round or in most of them. What the
    /// runtime may do once on the test's thread while the rounds run (tiered compilation replacing a method's code
    /// in the middle of its loop, a type's first use) shows in one round at most: see
    /// <see cref="SteadyStateAllocations.RoundsThatAllocated"/>.
    /// </remarks>
    public static SteadyStateAllocations Measure(Action<int> step, int warmUp = 2_000, int count = 10_000, int rounds = 3)
    {
        for (var i = 0; i < warmUp; i++)
        {
            step(i);
        }

        var perRound = new long[rounds];
        for (var round = 0; round < rounds; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < count; i++)
            {
                step(i);
            }

            perRound[round] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        return new SteadyStateAllocations(perRound, count);
    }
}

/// <summary>Bytes allocated on the test's thread by each round of <see cref="Count"/> warm steps.</summary>
public sealed record SteadyStateAllocations(long[] PerRound, int Count)
{
    /// <summary>Rounds that allocated anything; a step that allocates nothing leaves at most one (the runtime's, once).</summary>
    public int RoundsThatAllocated => PerRound.Count(bytes => bytes != 0);

    public override string ToString() => $"{PerRound.Length} rounds of {Count} steps allocated {string.Join(", ", PerRound)} B on this thread";
}
