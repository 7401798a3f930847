namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Checks that a hot-path step allocates nothing once warm, without failing on what the runtime does once.</summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="step"/> (given the iteration's index) <paramref name="warmUp"/> times, then
    /// <paramref name="rounds"/> rounds of <paramref name="count"/>, and fails unless all rounds but at most one
    /// allocated nothing on this thread.
    /// </summary>
    /// <remarks>
    /// A step that allocates, even once every few thousand steps, shows in every round or in most of them. What the
    /// runtime may do once on the test's thread while the rounds run (tiered compilation replacing a method's code
    /// in the middle of its loop, a type's first use) shows in one round at most: one such round is allowed.
    /// </remarks>
    public static void AssertSteadyStateAllocatesNothing(Action<int> step, int warmUp = 2_000, int count = 10_000, int rounds = 3)
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

        Assert.True(
            perRound.Count(bytes => bytes != 0) <= 1,
            $"{rounds} rounds of {count} steps after {warmUp} to warm up allocated {string.Join(", ", perRound)} B on this thread (at most one round may allocate, once).");
    }
}
