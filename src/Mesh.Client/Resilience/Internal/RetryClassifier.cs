using Mesh.Client.Model;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// Which attempt outcomes a route's <see cref="RetryPolicy"/> retries, for both front doors: Envoy's
/// <c>retry_on</c> for HTTP outcomes (<c>5xx</c>, <c>gateway-error</c>, <c>reset</c>, <c>connect-failure</c>,
/// <c>retriable-status-codes</c>) and gRPC's for gRPC statuses (<c>cancelled</c>, <c>deadline-exceeded</c>,
/// <c>internal</c>, <c>resource-exhausted</c>, <c>unavailable</c>).
/// </summary>
internal static class RetryClassifier
{
    public static bool IsRetryable(RetryPolicy policy, in AttemptOutcome outcome)
    {
        if (outcome.Committed || (!outcome.Idempotent && !policy.RetryNonIdempotent))
        {
            return false;
        }

        var on = policy.RetryOn;
        return outcome.Failure switch
        {
            // The mesh's own refusals (circuit breaker, no route, no endpoint, drops) are never retried.
            AttemptFailure.Refused or AttemptFailure.Cancelled or AttemptFailure.Other => false,

            // A per-try timeout is retried, as Envoy retries it.
            AttemptFailure.PerTryTimeout => policy.PerTryTimeout is not null,
            AttemptFailure.ConnectFailure => (on & (RetryOn.ConnectFailure | RetryOn.Reset | RetryOn.Http5xx)) != 0,
            AttemptFailure.Reset => (on & (RetryOn.Reset | RetryOn.Http5xx)) != 0,
            _ => outcome.GrpcStatus >= 0 ? IsRetryableGrpc(on, outcome.GrpcStatus) : IsRetryableHttp(policy, outcome.HttpStatus),
        };
    }

    private static bool IsRetryableHttp(RetryPolicy policy, int status)
    {
        if (status < 0)
        {
            return false;
        }

        var on = policy.RetryOn;
        return ((on & RetryOn.Http5xx) != 0 && status >= 500) ||
            ((on & RetryOn.GatewayError) != 0 && status is 502 or 503 or 504) ||
            ((on & RetryOn.RetriableStatusCodes) != 0 && policy.RetriableStatusCodes.Contains(status));
    }

    // gRPC status codes: CANCELLED 1, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, INTERNAL 13, UNAVAILABLE 14.
    private static bool IsRetryableGrpc(RetryOn on, int status) => status switch
    {
        1 => (on & RetryOn.Cancelled) != 0,
        4 => (on & RetryOn.DeadlineExceeded) != 0,
        13 => (on & RetryOn.Internal) != 0,
        8 => (on & RetryOn.ResourceExhausted) != 0,
        14 => (on & RetryOn.Unavailable) != 0,
        _ => false,
    };
}
