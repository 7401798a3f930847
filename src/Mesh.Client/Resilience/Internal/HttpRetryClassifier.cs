using System.Net;
using System.Net.Http;
using Mesh.Client.Http;
using Mesh.Client.Model;
using Polly.Timeout;

namespace Mesh.Client.Resilience.Internal;

/// <summary>Decides, the way Envoy's <c>retry_on</c> does, whether an HttpClient attempt's outcome is worth another try.</summary>
internal static class HttpRetryClassifier
{
    public static bool IsRetryable(RetryPolicy policy, HttpRequestMessage request, HttpResponseMessage? response, Exception? exception)
    {
        if (!policy.RetryNonIdempotent && !IsIdempotent(request.Method))
        {
            return false;
        }

        if (exception is not null)
        {
            return exception switch
            {
                // The mesh's own refusals (circuit breaker, no route, no endpoint) are never retried.
                MeshRequestException => false,

                // A per-try timeout is retried, as Envoy retries it.
                TimeoutRejectedException => policy.PerTryTimeout is not null,
                HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }
                    => (policy.RetryOn & (RetryOn.ConnectFailure | RetryOn.Reset | RetryOn.Http5xx)) != 0,
                HttpRequestException or HttpIOException or IOException
                    => (policy.RetryOn & (RetryOn.Reset | RetryOn.Http5xx)) != 0,
                _ => false,
            };
        }

        if (response is null)
        {
            return false;
        }

        var status = (int)response.StatusCode;
        if ((policy.RetryOn & RetryOn.Http5xx) != 0 && status >= 500)
        {
            return true;
        }

        if ((policy.RetryOn & RetryOn.GatewayError) != 0 && status is 502 or 503 or 504)
        {
            return true;
        }

        return (policy.RetryOn & RetryOn.RetriableStatusCodes) != 0 && policy.RetriableStatusCodes.Contains(status);
    }

    /// <summary>Whether the outcome counts as a failure of the endpoint, for outlier detection.</summary>
    public static bool IsEndpointFailure(HttpResponseMessage? response, Exception? exception) =>
        exception is not null and not OperationCanceledException and not MeshRequestException ||
        response is { StatusCode: >= HttpStatusCode.InternalServerError };

    private static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options ||
        method == HttpMethod.Trace || method == HttpMethod.Put || method == HttpMethod.Delete;
}
