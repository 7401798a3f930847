using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;

namespace Mesh.Client.Tests.Resilience;

/// <summary>The one backoff rule both doors use: fully jittered exponential backoff (Envoy, gRFC A44).</summary>
public class RetryBackoffTests
{
    [Theory]
    [InlineData(1, 25)]
    [InlineData(2, 50)]
    [InlineData(3, 100)]
    [InlineData(4, 200)]
    [InlineData(5, 250)] // capped: the default maximum is 10 × base
    [InlineData(12, 250)]
    public void Ceiling_DoublesPerRetry_CappedAtTheMaximum(int retry, double expectedMs)
    {
        var policy = new RetryPolicy { BaseInterval = TimeSpan.FromMilliseconds(25) };

        Assert.Equal(expectedMs, RetryBackoff.Ceiling(policy, retry).TotalMilliseconds, precision: 6);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Delay_SeededRandom_StaysBelowTheCeilingAndSpreadsOverIt(int retry)
    {
        // 4,000 uniform draws in [0, ceiling): every one in range; the mean within 3 % of ceiling / 2
        // (the standard error of the mean is ceiling / sqrt(12 × 4,000) ≈ 0.46 % of the ceiling).
        var policy = new RetryPolicy { BaseInterval = TimeSpan.FromMilliseconds(10), MaxInterval = TimeSpan.FromMilliseconds(300) };
        var random = MeshRandom.CreateSeeded(151);
        var ceiling = RetryBackoff.Ceiling(policy, retry);

        var draws = Enumerable.Range(0, 4_000).Select(_ => RetryBackoff.Delay(policy, retry, random)).ToArray();

        Assert.All(draws, d => Assert.InRange(d, TimeSpan.Zero, ceiling - TimeSpan.FromTicks(1)));
        Assert.InRange(draws.Average(d => d.TotalMilliseconds) / ceiling.TotalMilliseconds, 0.47, 0.53);
    }

    [Fact]
    public void Delay_SameSeed_SameSequence()
    {
        var policy = new RetryPolicy { BaseInterval = TimeSpan.FromMilliseconds(25) };
        var first = MeshRandom.CreateSeeded(152);
        var second = MeshRandom.CreateSeeded(152);

        Assert.All(Enumerable.Range(1, 5), n => Assert.Equal(RetryBackoff.Delay(policy, n, first), RetryBackoff.Delay(policy, n, second)));
    }
}
