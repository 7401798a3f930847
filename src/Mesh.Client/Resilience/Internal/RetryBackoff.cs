using Mesh.Client.Model;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// The one backoff rule of both front doors: fully jittered exponential backoff as Envoy and gRFC A44 define it,
/// a random time in [0, base × 2^(n−1)), where the ceiling is capped at the policy's maximum interval.
/// </summary>
internal static class RetryBackoff
{
    /// <summary>The wait before retry number <paramref name="retryNumber"/> (1 for the first retry).</summary>
    public static TimeSpan Delay(RetryPolicy policy, int retryNumber, MeshRandom random) =>
        TimeSpan.FromMilliseconds(random.NextDouble() * Ceiling(policy, retryNumber).TotalMilliseconds);

    /// <summary>The exclusive upper bound of <see cref="Delay"/>: base × 2^(n−1), at most the maximum interval.</summary>
    public static TimeSpan Ceiling(RetryPolicy policy, int retryNumber)
    {
        var ceiling = policy.BaseInterval.TotalMilliseconds * Math.Pow(2, Math.Max(0, retryNumber - 1));
        return TimeSpan.FromMilliseconds(Math.Min(ceiling, policy.EffectiveMaxInterval.TotalMilliseconds));
    }
}
