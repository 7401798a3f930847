using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class LocalityPickerTests
{
    [Fact]
    public void Pick_RoundRobinLocalitiesWeighted1And3_Exactly25To75AndRoundRobinInside()
    {
        // Localities are chosen by the same deterministic weighted schedule as endpoints, so over 400 picks the
        // split is exactly 100 / 300 (25% / 75%), and round robin inside each locality halves it again. The
        // candidates are interleaved (locality 0, 1, 0, 1) to check the mapping back to candidate indexes.
        var candidates = Candidates.Make(4, locality: i => i % 2, localityWeight: l => l == 0 ? 1u : 3u);
        var picker = PickerBuilder.Build(RoundRobinPolicy.Instance, candidates, MeshRandom.CreateSeeded(91));

        var counts = Candidates.Histogram(picker, 400);

        Assert.IsType<LocalityPicker>(picker);
        Assert.Equal(new[] { 50, 150, 50, 150 }, counts);
    }

    [Fact]
    public void Pick_RandomPolicyLocalitiesWeighted1And3_LocalitySplitExactEndpointSplitWithinBounds()
    {
        // The locality is still chosen by weighted round robin (exactly 25,000 / 75,000 of 100,000); inside the
        // heavy locality's two endpoints the choice is random: Binomial(75,000, 1/2), sigma ≈ 136.9.
        const int picks = 100_000;
        var candidates = Candidates.Make(4, locality: i => i % 2, localityWeight: l => l == 0 ? 1u : 3u);
        var picker = PickerBuilder.Build(RandomPolicy.Instance, candidates, MeshRandom.CreateSeeded(92));

        var counts = Candidates.Histogram(picker, picks);

        Assert.Equal(25_000, counts[0] + counts[2]);
        Assert.Equal(75_000, counts[1] + counts[3]);
        BalancingTestData.AssertBinomial(counts[1], 75_000, 0.5, 4, "first endpoint of the heavy locality");
    }

    [Fact]
    public void Pick_EqualLocalityWeightsUnequalSizes_LocalitiesShareEqually()
    {
        // Locality weights split traffic between localities before endpoints are considered: a lone endpoint in
        // one locality gets half the traffic, the three in the other a sixth each.
        var candidates = Candidates.Make(4, locality: i => i == 0 ? 0 : 1);
        var picker = PickerBuilder.Build(RoundRobinPolicy.Instance, candidates, MeshRandom.CreateSeeded(93));

        Assert.Equal(new[] { 300, 100, 100, 100 }, Candidates.Histogram(picker, 600));
    }

    [Fact]
    public void Pick_ChildPickers_MapLocalIndexesToGlobalIndexes()
    {
        // Locality 0 owns global candidates 3 and 1, locality 1 owns candidate 0, locality 2 candidate 2.
        var picker = new LocalityPicker(
            [1, 1, 2],
            [new RoundRobinPicker([1, 1], MeshRandom.CreateSeeded(94)), new FixedPicker(0, 1), new FixedPicker(0, 1)],
            [[3, 1], [0], [2]],
            MeshRandom.CreateSeeded(95));

        var counts = Candidates.Histogram(picker, 400);

        Assert.Equal(4, picker.Count);
        Assert.Equal(new[] { 100, 50, 200, 50 }, counts);
    }

    [Fact]
    public void Pick_ChosenLocalityHasNoEndpoint_ReturnsMinusOne()
    {
        var picker = new LocalityPicker([1], [EmptyPicker.Instance], [[]], MeshRandom.CreateSeeded(96));

        Assert.Equal(-1, picker.Pick(PickRequest.None));
    }

    [Fact]
    public void Pick_LeastRequestLocalities_LoadedEndpointAvoidedWithinItsLocality()
    {
        // Locality split stays 50/50 (weights 1:1); inside locality 0, endpoint 0 is loaded and is picked only
        // when both draws hit it: Binomial(50,000, 1/4), sigma ≈ 96.8.
        const int picks = 100_000;
        var candidates = Candidates.Make(4, locality: i => i / 2);
        for (var i = 0; i < 20; i++)
        {
            candidates[0].State.OnStart();
        }

        var picker = PickerBuilder.Build(new LeastRequestPolicy(), candidates, MeshRandom.CreateSeeded(97));

        var counts = Candidates.Histogram(picker, picks);

        Assert.Equal(50_000, counts[0] + counts[1]);
        BalancingTestData.AssertBinomial(counts[0], 50_000, 0.25, 4, "loaded endpoint");
    }
}
