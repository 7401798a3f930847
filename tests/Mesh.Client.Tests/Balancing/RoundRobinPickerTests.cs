using Mesh.Client.Balancing.Internal;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class RoundRobinPickerTests
{
    [Fact]
    public void Pick_EqualWeights_EachEndpointExactlyKTimesOverKRounds()
    {
        // Arrange
        const int n = 7;
        const int rounds = 50;
        var picker = new RoundRobinPicker(Weights(n, _ => 1), MeshRandom.CreateSeeded(1));

        // Act
        var counts = Candidates.Histogram(picker, n * rounds);

        // Assert
        Assert.All(counts, c => Assert.Equal(rounds, c));
    }

    [Fact]
    public void Pick_EqualWeights_ConsecutivePicksCycleThroughAllEndpoints()
    {
        const int n = 5;
        var picker = new RoundRobinPicker(Weights(n, _ => 1), MeshRandom.CreateSeeded(2));

        var previous = picker.Pick(PickRequest.None);
        for (var i = 0; i < 3 * n; i++)
        {
            var current = picker.Pick(PickRequest.None);

            // Plain rotation: every pick is the successor of the previous one, so any n consecutive picks hit all n.
            Assert.Equal((previous + 1) % n, current);
            previous = current;
        }
    }

    [Fact]
    public void Pick_Weights123_ExactProportionsOverWholeCycles()
    {
        // One cycle of weights 1:2:3 is 6 picks; 100 cycles must give exactly 100, 200 and 300.
        var picker = new RoundRobinPicker([1, 2, 3], MeshRandom.CreateSeeded(3));

        var counts = Candidates.Histogram(picker, 600);

        Assert.Equal(new[] { 100, 200, 300 }, counts);
    }

    [Fact]
    public void Pick_Weights123_EveryWindowOfOneCycleHasExactProportions()
    {
        // Whatever the start offset, any 6 consecutive picks are one full rotation of the schedule.
        var picker = new RoundRobinPicker([1, 2, 3], MeshRandom.CreateSeeded(4));
        var sequence = Enumerable.Range(0, 60).Select(_ => picker.Pick(PickRequest.None)).ToArray();

        for (var start = 0; start + 6 <= sequence.Length; start++)
        {
            var window = sequence.AsSpan(start, 6);
            Assert.Equal(1, window.Count(0));
            Assert.Equal(2, window.Count(1));
            Assert.Equal(3, window.Count(2));
        }
    }

    [Fact]
    public void Pick_Weights1To1To10_HeavyEndpointRunIsSmoothed()
    {
        // Weights 1:1:10 give 12-pick cycles in which the heavy endpoint has 10 turns. A smooth schedule lets the
        // two light turns split those 10 into two runs: 5 at best. nginx's smooth weighted round robin (the
        // algorithm the term comes from) orders one cycle H H H A H H H B H H H H, whose longest run, across the
        // cycle boundary, is 4 + 3 = 7. A run of 10 means the light turns sit next to each other and the schedule
        // is no smoother than "A B then H ten times".
        const int bound = 7;
        var picker = new RoundRobinPicker([1, 1, 10], MeshRandom.CreateSeeded(5));

        var longest = 0;
        var run = 0;
        for (var i = 0; i < 12 * 20; i++)
        {
            run = picker.Pick(PickRequest.None) == 2 ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        Assert.True(longest <= bound, $"the heavy endpoint got {longest} picks in a row; a smooth schedule keeps it to {bound} or fewer");
    }

    [Fact]
    public void Pick_Weights1To1To10_ExactCountsOverWholeCycles()
    {
        // Over whole cycles each light endpoint gets exactly one turn per 12 picks, the heavy one ten.
        var picker = new RoundRobinPicker([1, 1, 10], MeshRandom.CreateSeeded(6));

        var counts = Candidates.Histogram(picker, 12 * 30);

        Assert.Equal(new[] { 30, 30, 300 }, counts);
    }

    [Fact]
    public void Constructor_DifferentSeeds_StartAtDifferentEndpoints()
    {
        // The start offset is uniform over the 10 endpoints. Over 16 seeds, seeing 3 or fewer distinct first picks
        // has probability below C(10,3) * (3/10)^16 ≈ 5e-7; the seeds are fixed, so the outcome is reproducible.
        var firsts = Enumerable.Range(1, 16)
            .Select(seed => new RoundRobinPicker(Weights(10, _ => 1), MeshRandom.CreateSeeded(seed)).Pick(PickRequest.None))
            .Distinct()
            .Count();

        Assert.True(firsts >= 4, $"only {firsts} distinct first picks over 16 seeds");
    }

    [Fact]
    public void Constructor_WeightedSchedule_DifferentSeedsStartAtDifferentPlaces()
    {
        // With unequal weights the offset is into the 6-entry schedule; compare the first 6 picks as a sequence.
        var sequences = Enumerable.Range(1, 16)
            .Select(seed =>
            {
                var picker = new RoundRobinPicker([1, 2, 3], MeshRandom.CreateSeeded(seed));
                return string.Concat(Enumerable.Range(0, 6).Select(_ => picker.Pick(PickRequest.None)));
            })
            .Distinct()
            .Count();

        Assert.True(sequences >= 3, $"only {sequences} distinct starting sequences over 16 seeds");
    }

    [Fact]
    public void Constructor_SameSeed_SameSequence()
    {
        var a = new RoundRobinPicker([1, 2, 3, 4], MeshRandom.CreateSeeded(42));
        var b = new RoundRobinPicker([1, 2, 3, 4], MeshRandom.CreateSeeded(42));

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(a.Pick(PickRequest.None), b.Pick(PickRequest.None));
        }
    }

    [Fact]
    public void Pick_TenThousandEndpointsWeights1To10000_ProportionsWithinOneScheduleEntry()
    {
        // Weights 1..10,000 add up to 50,005,000, far more than the 65,536 entries a schedule may hold, so weights
        // are scaled by ~65,536 / 50,005,000 and rounded, with a floor of one entry. Rounding moves an endpoint by
        // at most half an entry and the floor by at most one, so over one full schedule (L picks) every endpoint's
        // count is within 1 of its exact share w * L / W. For the heavier half (w > 5,000, i.e. 6.5+ entries) the
        // error is at most half an entry of 6.5 plus the 0.6% by which L exceeds 65,536, about 8.3%: bound 9%.
        // The heavier half's total share stays within 1 percentage point of its exact 75%.
        const int n = 10_000;
        var weights = Weights(n, i => (uint)(i + 1));
        var length = WeightedSchedule.Build(weights)!.Length;
        var picker = new RoundRobinPicker(weights, MeshRandom.CreateSeeded(7));

        var counts = Candidates.Histogram(picker, length);

        var total = weights.Sum(w => (double)w);
        double heavyObserved = 0, heavyExpected = 0;
        for (var i = 0; i < n; i++)
        {
            var expected = weights[i] / total * length;
            Assert.True(Math.Abs(counts[i] - expected) <= 1.0, $"endpoint {i} (weight {weights[i]}): {counts[i]} picks of {length}, expected {expected:F2} ± 1");
            if (weights[i] > 5000)
            {
                Assert.True(Math.Abs(counts[i] - expected) <= 0.09 * expected, $"endpoint {i} (weight {weights[i]}): {counts[i]}, expected {expected:F2} ± 9%");
                heavyObserved += counts[i];
                heavyExpected += expected;
            }
        }

        Assert.InRange(heavyObserved / length, (heavyExpected / length) - 0.01, (heavyExpected / length) + 0.01);
    }

    [Fact]
    public void Pick_NoEndpoints_ReturnsMinusOne()
    {
        var picker = new RoundRobinPicker([], MeshRandom.CreateSeeded(8));

        Assert.Equal(-1, picker.Pick(PickRequest.None));
        Assert.Equal(0, picker.Count);
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysZero()
    {
        var picker = new RoundRobinPicker([5], MeshRandom.CreateSeeded(9));

        Assert.All(Candidates.Histogram(picker, 10), c => Assert.Equal(10, c));
    }

    private static uint[] Weights(int count, Func<int, uint> weight) => [.. Enumerable.Range(0, count).Select(weight)];
}
