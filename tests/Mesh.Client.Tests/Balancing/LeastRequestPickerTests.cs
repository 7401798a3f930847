using Mesh.Client.Balancing.Internal;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class LeastRequestPickerTests
{
    private const int Picks = 100_000;

    [Fact]
    public void Pick_TwoEndpointsOneLoaded_LoadedPickedOnlyWhenBothDrawsHitIt()
    {
        // Power of two choices with replacement: the loaded endpoint wins only when both draws land on it,
        // p = 1/2 * 1/2 = 1/4. Over 100,000 picks: expected 25,000, sigma = sqrt(n p (1 - p)) ≈ 136.9, 4 sigma ≈ 548.
        var candidates = Candidates.Make(2);
        Load(candidates[0], 100);
        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(21));

        var counts = Candidates.Histogram(picker, Picks);

        BalancingTestData.AssertBinomial(counts[0], Picks, 0.25, 4, "loaded endpoint");
    }

    [Fact]
    public void Pick_ChoiceCountTenTenEndpointsOneLoaded_LoadedNeverPicked()
    {
        // The loaded endpoint wins only if all 10 draws land on it: p = 0.1^10 = 1e-10, so over 100,000 picks
        // it is expected 1e-5 times; any pick at all means the load was ignored. The other nine share the rest
        // evenly (the first idle one drawn wins): p ≈ 1/9 each, sigma = sqrt(n * 1/9 * 8/9) ≈ 99.4.
        var candidates = Candidates.Make(10);
        Load(candidates[3], 5);
        var picker = new LeastRequestPicker(candidates, choiceCount: 10, MeshRandom.CreateSeeded(22));

        var counts = Candidates.Histogram(picker, Picks);

        Assert.Equal(0, counts[3]);
        for (var i = 0; i < counts.Length; i++)
        {
            if (i != 3)
            {
                BalancingTestData.AssertBinomial(counts[i], Picks, 1.0 / 9, 4, $"idle endpoint {i}");
            }
        }
    }

    [Fact]
    public void Pick_NoLoad_ProportionalToWeights()
    {
        // With no requests in flight no draw beats the first one, and draws are by weight: p = w / 10 for
        // weights 1:2:3:4; sigma = sqrt(n p (1 - p)) is 94.9 to 154.9 picks.
        var candidates = Candidates.Make(4, weight: i => (uint)(i + 1));
        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(23));

        var counts = Candidates.Histogram(picker, Picks);

        for (var i = 0; i < counts.Length; i++)
        {
            BalancingTestData.AssertBinomial(counts[i], Picks, (i + 1) / 10.0, 4, $"endpoint {i} (weight {i + 1})");
        }
    }

    [Fact]
    public void Pick_LoadProportionalToWeight_ProportionalToWeights()
    {
        // Loads of 2, 4, 6, 8 on weights 1:2:3:4 are all 2 per unit weight: again no draw beats the first.
        var candidates = Candidates.Make(4, weight: i => (uint)(i + 1));
        for (var i = 0; i < candidates.Length; i++)
        {
            Load(candidates[i], 2 * (i + 1));
        }

        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(28));

        var counts = Candidates.Histogram(picker, Picks);

        for (var i = 0; i < counts.Length; i++)
        {
            BalancingTestData.AssertBinomial(counts[i], Picks, (i + 1) / 10.0, 4, $"endpoint {i} (weight {i + 1})");
        }
    }

    [Fact]
    public void Pick_LoadComparedPerUnitWeight_HeavierEndpointWithMoreRequestsPreferred()
    {
        // Endpoint 0: weight 1, 1 in flight (1 per unit weight). Endpoint 1: weight 4, 2 in flight (0.5 per unit).
        // Endpoint 1 is less loaded per unit weight, so endpoint 0 wins only when both draws hit it. Draws are by
        // weight (p = 1/5 for endpoint 0), so p = (1/5)^2 = 0.04: expected 4,000, sigma = sqrt(n * 0.04 * 0.96) ≈ 62.
        // Comparing raw counts instead would make endpoint 0 the favourite (p = 1 - (4/5)^2 = 0.36).
        var candidates = Candidates.Make(2, weight: i => i == 0 ? 1u : 4u);
        Load(candidates[0], 1);
        Load(candidates[1], 2);
        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(24));

        var counts = Candidates.Histogram(picker, Picks);

        BalancingTestData.AssertBinomial(counts[0], Picks, 0.04, 4, "endpoint with more load per unit weight");
    }

    [Fact]
    public void Pick_RequestsEnd_LoadedEndpointRecovers()
    {
        // After OnEnd balances every OnStart the loads are equal again: back to 1/2 each
        // (sigma = sqrt(n / 4) ≈ 158, 4 sigma ≈ 632).
        var candidates = Candidates.Make(2);
        Load(candidates[0], 50);
        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(25));
        Assert.True(Candidates.Histogram(picker, 1000)[0] < 400, "the loaded endpoint should be avoided while loaded");

        for (var i = 0; i < 50; i++)
        {
            candidates[0].State.OnEnd();
        }

        var counts = Candidates.Histogram(picker, Picks);

        Assert.Equal(0, candidates[0].State.InFlight);
        BalancingTestData.AssertBinomial(counts[0], Picks, 0.5, 4, "recovered endpoint");
    }

    [Fact]
    public void Pick_NoEndpoints_ReturnsMinusOne()
    {
        var picker = new LeastRequestPicker([], choiceCount: 2, MeshRandom.CreateSeeded(26));

        Assert.Equal(-1, picker.Pick(PickRequest.None));
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysZeroEvenWhenLoaded()
    {
        var candidates = Candidates.Make(1);
        Load(candidates[0], 10);
        var picker = new LeastRequestPicker(candidates, choiceCount: 2, MeshRandom.CreateSeeded(27));

        Assert.Equal(new[] { 10 }, Candidates.Histogram(picker, 10));
    }

    private static void Load(PickCandidate candidate, int requests)
    {
        for (var i = 0; i < requests; i++)
        {
            candidate.State.OnStart();
        }
    }
}
