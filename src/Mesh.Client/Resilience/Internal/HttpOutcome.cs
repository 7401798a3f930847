using Mesh.Client.Http;
using Polly.Timeout;

namespace Mesh.Client.Resilience.Internal;

/// <summary>Describes an HttpClient attempt (its response or exception) as an <see cref="AttemptOutcome"/>.</summary>
internal static class HttpOutcome
{
    public static AttemptOutcome Describe(HttpRequestMessage? request, HttpResponseMessage? response, Exception? exception) =>
        new(exception is null ? AttemptFailure.None : Classify(exception),
            exception is null && response is not null ? (int)response.StatusCode : -1,
            -1,
            request is null || IsIdempotent(request.Method),
            Committed: false);

    private static AttemptFailure Classify(Exception exception) => exception switch
    {
        MeshRequestException => AttemptFailure.Refused,
        OperationCanceledException => AttemptFailure.Cancelled,
        TimeoutRejectedException => AttemptFailure.PerTryTimeout,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }
            => AttemptFailure.ConnectFailure,
        HttpRequestException or HttpIOException or IOException => AttemptFailure.Reset,
        _ => AttemptFailure.Other,
    };

    private static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options ||
        method == HttpMethod.Trace || method == HttpMethod.Put || method == HttpMethod.Delete;
}
