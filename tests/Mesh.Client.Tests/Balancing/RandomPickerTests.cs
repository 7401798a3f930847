using Mesh.Client.Balancing.Internal;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class RandomPickerTests
{
    private const int Picks = 100_000;

    [Fact]
    public void Pick_EqualWeights_UniformWithinFourSigma()
    {
        // Each of 10 endpoints is a Binomial(100,000, 0.1) count: sigma = sqrt(100,000 * 0.1 * 0.9) ≈ 94.9,
        // so 4 sigma ≈ 380 picks around 10,000.
        var picker = new RandomPicker([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], MeshRandom.CreateSeeded(11));

        var counts = Candidates.Histogram(picker, Picks);

        for (var i = 0; i < counts.Length; i++)
        {
            BalancingTestData.AssertBinomial(counts[i], Picks, 0.1, 4, $"endpoint {i}");
        }
    }

    [Fact]
    public void Pick_Weights1234_ProportionalWithinFourSigma()
    {
        // Endpoint i is drawn with p = w / 10: sigma = sqrt(n p (1 - p)) is 94.9, 126.5, 144.9 and 154.9 picks.
        uint[] weights = [1, 2, 3, 4];
        var picker = new RandomPicker(weights, MeshRandom.CreateSeeded(12));

        var counts = Candidates.Histogram(picker, Picks);

        for (var i = 0; i < counts.Length; i++)
        {
            BalancingTestData.AssertBinomial(counts[i], Picks, weights[i] / 10.0, 4, $"endpoint {i} (weight {weights[i]})");
        }
    }

    [Fact]
    public void Pick_VerySkewedWeights_LightEndpointStillDrawn()
    {
        // Weights 1 and 999: p = 0.001, expected 100 picks, sigma = sqrt(100,000 * 0.001 * 0.999) ≈ 9.99.
        var picker = new RandomPicker([1, 999], MeshRandom.CreateSeeded(13));

        var counts = Candidates.Histogram(picker, Picks);

        BalancingTestData.AssertBinomial(counts[0], Picks, 0.001, 4, "weight-1 endpoint");
    }

    [Fact]
    public void Pick_SameSeed_SameSequence()
    {
        var a = new RandomPicker([1, 2, 3], MeshRandom.CreateSeeded(14));
        var b = new RandomPicker([1, 2, 3], MeshRandom.CreateSeeded(14));

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(a.Pick(PickRequest.None), b.Pick(PickRequest.None));
        }
    }

    [Fact]
    public void Pick_NoEndpoints_ReturnsMinusOne()
    {
        var picker = new RandomPicker([], MeshRandom.CreateSeeded(15));

        Assert.Equal(-1, picker.Pick(PickRequest.None));
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysZero()
    {
        var picker = new RandomPicker([3], MeshRandom.CreateSeeded(16));

        Assert.Equal(new[] { 20 }, Candidates.Histogram(picker, 20));
    }
}
