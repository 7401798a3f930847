using System.Net;
using Grpc.Core;
using Mesh.Client.Http;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Polly.Timeout;

namespace Mesh.Client.Tests.Resilience;

/// <summary>The one classification both doors use: which outcome a route's retry policy retries.</summary>
public class RetryClassifierTests
{
    public static TheoryData<object, StatusCode, bool, bool, bool> GrpcCases => new()
    {
        { RetryOn.Unavailable, StatusCode.Unavailable, false, false, true },
        { RetryOn.Unavailable, StatusCode.Internal, false, false, false },
        { RetryOn.Cancelled, StatusCode.Cancelled, false, false, true },
        { RetryOn.DeadlineExceeded, StatusCode.DeadlineExceeded, false, false, true },
        { RetryOn.Internal, StatusCode.Internal, false, false, true },
        { RetryOn.ResourceExhausted, StatusCode.ResourceExhausted, false, false, true },
        { RetryOn.Http5xx | RetryOn.GatewayError | RetryOn.Reset, StatusCode.Unavailable, false, false, false },
        { RetryOn.Unavailable, StatusCode.NotFound, false, false, false },
        { RetryOn.Unavailable, StatusCode.Unavailable, true, false, false },
        { RetryOn.Unavailable, StatusCode.Unavailable, false, true, false },
    };

    [Theory]
    [MemberData(nameof(GrpcCases))]
    public void IsRetryable_GrpcOutcome_FollowsRetryOnCommitAndDrops(object retryOnValue, StatusCode status, bool dropped, bool committed, bool retryable)
    {
        var policy = new RetryPolicy { RetryOn = (RetryOn)retryOnValue };

        Assert.Equal(retryable, RetryClassifier.IsRetryable(policy, AttemptOutcome.Grpc((int)status, dropped, committed)));
    }

    public static TheoryData<string, int?, string?, bool, bool, bool> EndpointCases => new()
    {
        // door, HTTP status or gRPC status, exception kind, dropped → endpoint failure, endpoint success
        { "http", 200, null, false, false, true },
        { "http", 404, null, false, false, true },
        { "http", 503, null, false, true, false },
        { "http", null, "connect", false, true, false },
        { "http", null, "reset", false, true, false },
        { "http", null, "timeout", false, true, false },
        { "http", null, "cancelled", false, false, false },
        { "http", null, "mesh", false, false, false },
        { "grpc", 0, null, false, false, true },
        { "grpc", (int)StatusCode.NotFound, null, false, true, false },
        { "grpc", (int)StatusCode.Unavailable, null, false, true, false },
        { "grpc", (int)StatusCode.Unavailable, null, true, false, false },
    };

    [Theory]
    [MemberData(nameof(EndpointCases))]
    public void EndpointVerdict_BothDoors_CountsWhatOutlierDetectionCounts(string door, int? status, string? exception, bool dropped, bool failure, bool success)
    {
        var outcome = door == "grpc" ? AttemptOutcome.Grpc(status!.Value, dropped, committed: false) : Http(status, exception);

        Assert.Equal(failure, outcome.IsEndpointFailure);
        Assert.Equal(success, outcome.IsEndpointSuccess);
    }

    [Fact]
    public void Record_OnEndpoint_CountsFailuresAndSuccessesOnly()
    {
        var endpoint = new Mesh.Client.Runtime.Internal.EndpointState("c", new MeshEndpoint { Host = "10.0.0.1", Port = 80 });

        OutcomeRecorder.Record(endpoint, AttemptOutcome.Grpc(0, false, false));
        OutcomeRecorder.Record(endpoint, Http(500, null));
        OutcomeRecorder.Record(endpoint, Http(null, "cancelled"));
        OutcomeRecorder.Record(endpoint, AttemptOutcome.Grpc((int)StatusCode.Unavailable, dropped: true, false));
        OutcomeRecorder.Record(null, Http(500, null));

        Assert.Equal(1, endpoint.IntervalSuccesses);
        Assert.Equal(1, endpoint.IntervalFailures);
    }

    [Fact]
    public void IsRetryable_HttpNonIdempotent_OnlyWhenThePolicySaysSo()
    {
        using var post = new HttpRequestMessage(HttpMethod.Post, "http://catalog/");
        using var failed = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        var outcome = HttpOutcome.Describe(post, failed, null);

        Assert.False(RetryClassifier.IsRetryable(new RetryPolicy { RetryOn = RetryOn.Http5xx }, outcome));
        Assert.True(RetryClassifier.IsRetryable(new RetryPolicy { RetryOn = RetryOn.Http5xx, RetryNonIdempotent = true }, outcome));
    }

    private static AttemptOutcome Http(int? status, string? exception)
    {
        using var response = status is { } s ? new HttpResponseMessage((HttpStatusCode)s) : null;
        Exception? thrown = exception switch
        {
            null => null,
            "connect" => new HttpRequestException(HttpRequestError.ConnectionError, "refused"),
            "reset" => new HttpIOException(HttpRequestError.ResponseEnded, "reset"),
            "timeout" => new TimeoutRejectedException(),
            "cancelled" => new TaskCanceledException(),
            _ => new MeshRequestException("catalog", MeshFailureReason.CircuitBreakerOpen, "full"),
        };
        return HttpOutcome.Describe(null, response, thrown);
    }
}
