using System.Net;
using Grpc.Core;
using Mesh.Client.Grpc.Internal;
using Mesh.Client.Http;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;
using Polly.Timeout;

namespace Mesh.Client.Tests.Resilience;

public class ClassifierAndStatusTests
{
    [Theory]
    [InlineData(StatusCode.OK)]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.AlreadyExists)]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.OutOfRange)]
    [InlineData(StatusCode.DataLoss)]
    public void ControlPlaneStatus_ReservedCode_BecomesInternalKeepingTheOriginal(StatusCode code)
    {
        var status = ControlPlaneStatus.Sanitize(new Status(code, "from the control plane"));

        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Contains(code.ToString(), status.Detail, StringComparison.Ordinal);
        Assert.Contains("from the control plane", status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.DeadlineExceeded)]
    [InlineData(StatusCode.ResourceExhausted)]
    public void ControlPlaneStatus_AllowedCode_IsKept(StatusCode code) =>
        Assert.Equal(code, ControlPlaneStatus.Sanitize(new Status(code, "x")).StatusCode);

    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<object, string, int?, Type?, bool> Cases => new()
    {
        { RetryOn.Http5xx, "GET", 500, null, true },
        { RetryOn.Http5xx, "GET", 404, null, false },
        { RetryOn.GatewayError, "GET", 503, null, true },
        { RetryOn.GatewayError, "GET", 500, null, false },
        { RetryOn.Http5xx, "POST", 503, null, false },
        { RetryOn.ConnectFailure, "GET", null, typeof(HttpRequestException), true },
        { RetryOn.GatewayError, "GET", null, typeof(HttpRequestException), false },
        { RetryOn.Reset, "GET", null, typeof(HttpIOException), true },
        { RetryOn.Http5xx | RetryOn.Reset | RetryOn.ConnectFailure, "GET", null, typeof(MeshRequestException), false },
        { RetryOn.Http5xx, "GET", null, typeof(TimeoutRejectedException), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RetryClassifier_HttpOutcome_FollowsRetryOn(object retryOnValue, string method, int? status, Type? exceptionType, bool retryable)
    {
        var retryOn = (RetryOn)retryOnValue;
        var policy = new RetryPolicy { RetryOn = retryOn };
        using var request = new HttpRequestMessage(new HttpMethod(method), "http://catalog/");
        using var response = status is { } s ? new HttpResponseMessage((HttpStatusCode)s) : null;
        Exception? exception = exceptionType switch
        {
            null => null,
            var t when t == typeof(HttpRequestException) => new HttpRequestException(HttpRequestError.ConnectionError, "refused"),
            var t when t == typeof(HttpIOException) => new HttpIOException(HttpRequestError.ResponseEnded, "reset"),
            var t when t == typeof(MeshRequestException) => new MeshRequestException("catalog", MeshFailureReason.CircuitBreakerOpen, "full"),
            _ => new TimeoutRejectedException(),
        };

        Assert.Equal(retryable, RetryClassifier.IsRetryable(policy, HttpOutcome.Describe(request, response, exception)));
    }

    [Fact]
    public void RetryClassifier_HttpOutcome_RetriableStatusCodesAndPerTryTimeout()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://catalog/");
        using var conflict = new HttpResponseMessage(HttpStatusCode.Conflict);
        var policy = new RetryPolicy { RetryOn = RetryOn.RetriableStatusCodes, RetriableStatusCodes = [409], PerTryTimeout = TimeSpan.FromSeconds(1) };

        Assert.True(RetryClassifier.IsRetryable(policy, HttpOutcome.Describe(request, conflict, null)));
        Assert.True(RetryClassifier.IsRetryable(policy, HttpOutcome.Describe(request, null, new TimeoutRejectedException())));
    }

    [Theory]
    [InlineData("session=abc", "session", "abc")]
    [InlineData("a=1; session=\"quoted\"; b=2", "session", "quoted")]
    [InlineData("a=1;session= spaced ", "session", "spaced")]
    [InlineData("sessionx=1", "session", null)]
    public void Cookies_FindsTheNamedCookie(string header, string name, string? expected)
    {
        var found = Cookies.TryGet(header, name, out var value);

        Assert.Equal(expected is not null, found);
        Assert.Equal(expected ?? string.Empty, found ? value.ToString() : string.Empty);
    }

    [Fact]
    public void CookieHashPolicy_SameCookieSameHash_NoCookieNoHash()
    {
        var route = new MeshRoute
        {
            Match = RouteMatch.Any,
            Clusters = [new WeightedCluster("c")],
            HashPolicies = [new HashPolicy(HashPolicyKind.Cookie, "session")],
        };
        var compiled = new CompiledRoute(route, []);
        using var one = new HttpRequestMessage(HttpMethod.Get, "http://c/");
        one.Headers.Add("Cookie", "session=alpha; theme=dark");
        using var two = new HttpRequestMessage(HttpMethod.Get, "http://c/");
        two.Headers.Add("Cookie", "theme=light; session=alpha");
        using var none = new HttpRequestMessage(HttpMethod.Get, "http://c/");

        Assert.Equal(compiled.ComputeHash(one, 0).Hash, compiled.ComputeHash(two, 0).Hash);
        Assert.True(compiled.ComputeHash(one, 0).HasHash);
        Assert.False(compiled.ComputeHash(none, 0).HasHash);
    }
}
