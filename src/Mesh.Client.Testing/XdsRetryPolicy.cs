using Google.Protobuf.WellKnownTypes;
using EnvoyRetryPolicy = Envoy.Config.Route.V3.RetryPolicy;

namespace Mesh.Client.Testing;

/// <summary>
/// A route's retry policy for <see cref="XdsRoute.Retry"/>, written as the <c>envoy.config.route.v3.RetryPolicy</c>
/// of the route's action, as Istio writes a VirtualService's <c>retries</c>.
/// </summary>
/// <param name="RetryOn">
/// The conditions, comma-separated, as Envoy spells them: <c>5xx</c>, <c>gateway-error</c>, <c>reset</c>,
/// <c>connect-failure</c>, <c>retriable-status-codes</c> (HTTP) and <c>cancelled</c>, <c>deadline-exceeded</c>,
/// <c>internal</c>, <c>resource-exhausted</c>, <c>unavailable</c> (gRPC).
/// </param>
/// <param name="NumRetries">How many retries after the first attempt (<c>num_retries</c>); gRPC clients reject 0.</param>
public sealed record XdsRetryPolicy(string RetryOn, uint NumRetries = 1)
{
    /// <summary>Each attempt's own timeout (<c>per_try_timeout</c>); none when <see langword="null"/>.</summary>
    public TimeSpan? PerTryTimeout { get; init; }

    /// <summary>
    /// The back-off between attempts (<c>retry_back_off.base_interval</c>); the client's default (25 ms) when
    /// <see langword="null"/>. Tests usually want a short one.
    /// </summary>
    public TimeSpan? BaseInterval { get; init; }

    /// <summary>The longest back-off (<c>retry_back_off.max_interval</c>); 10 × the base interval when <see langword="null"/>. Needs <see cref="BaseInterval"/>.</summary>
    public TimeSpan? MaxInterval { get; init; }

    /// <summary>The HTTP statuses that <c>retriable-status-codes</c> retries (<c>retriable_status_codes</c>).</summary>
    public IReadOnlyList<uint> RetriableStatusCodes { get; init; } = [];

    /// <summary>The policy as Envoy's message.</summary>
    internal EnvoyRetryPolicy ToEnvoy(string routeConfigName)
    {
        if (string.IsNullOrWhiteSpace(RetryOn))
        {
            throw new ArgumentException($"Route configuration '{routeConfigName}': a retry policy needs RetryOn (e.g. \"5xx,connect-failure\").", nameof(RetryOn));
        }

        if (MaxInterval is not null && BaseInterval is null)
        {
            throw new ArgumentException($"Route configuration '{routeConfigName}': a retry policy's MaxInterval needs a BaseInterval.", nameof(MaxInterval));
        }

        var policy = new EnvoyRetryPolicy { RetryOn = RetryOn, NumRetries = NumRetries };
        if (PerTryTimeout is { } perTry)
        {
            policy.PerTryTimeout = Duration.FromTimeSpan(perTry);
        }

        if (BaseInterval is { } baseInterval)
        {
            policy.RetryBackOff = new EnvoyRetryPolicy.Types.RetryBackOff { BaseInterval = Duration.FromTimeSpan(baseInterval) };
            if (MaxInterval is { } maxInterval)
            {
                policy.RetryBackOff.MaxInterval = Duration.FromTimeSpan(maxInterval);
            }
        }

        policy.RetriableStatusCodes.Add(RetriableStatusCodes);
        return policy;
    }
}
