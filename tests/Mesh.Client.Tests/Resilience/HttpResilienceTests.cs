using System.Net;
using Mesh.Client.Http;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Resilience;

/// <summary>HttpClient traffic policy against real Kestrel backends that fail on purpose.</summary>
public class HttpResilienceTests
{
    private static string Catalog(Backends backends, string extra) => MeshJson.WithServices(
        MeshJson.Service("catalog", backends.EndpointsJson(), extra: extra));

    [Theory]
    [InlineData(EchoFault.Unavailable, "5xx")]
    [InlineData(EchoFault.Reset, "reset")]
    public async Task OneOfThreeFailing_WithRetries_CallersSeeNoFailureOver1000Requests(EchoFault fault, string retryOn)
    {
        await using var backends = await Backends.StartAsync(3);
        backends[1].Fault = fault;
        await using var host = await MeshHost.StartAsync(Catalog(backends, $$"""  "Retry": { "RetryOn": "{{retryOn}}", "NumRetries": 2, "BaseInterval": "1ms" }  """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var failures = 0;
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                using var response = await client.GetAsync("http://catalog/whoami");
                failures += response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (HttpRequestException)
            {
                failures++;
            }
        }

        Assert.Equal(0, failures);
        Assert.True(backends[1].Requests > 0, "the failing backend took its share of first attempts");
        Assert.Equal(1000, backends[0].Requests + backends[2].Requests);
    }

    [Fact]
    public async Task WithoutRetries_TheFailingBackendsShareFails()
    {
        await using var backends = await Backends.StartAsync(3);
        backends[1].Fault = EchoFault.Unavailable;
        await using var host = await MeshHost.StartAsync(Catalog(backends, string.Empty));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++)
        {
            statuses.Add((await client.GetAsync("http://catalog/whoami")).StatusCode);
        }

        // Round robin sends exactly a third to the failing endpoint.
        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.ServiceUnavailable));
    }

    [Fact]
    public async Task NonIdempotentMethod_IsNotRetriedUnlessTheRouteSaysSo()
    {
        await using var backends = await Backends.StartAsync(2);
        backends[0].Fault = EchoFault.Unavailable;
        backends[1].Fault = EchoFault.Unavailable;
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            {{MeshJson.Service("catalog", backends.EndpointsJson(), extra: """  "Retry": { "RetryOn": "5xx", "NumRetries": 3, "BaseInterval": "1ms" }  """)}},
            {{MeshJson.Service("orders", backends.EndpointsJson(), extra: """  "Retry": { "RetryOn": "5xx", "NumRetries": 3, "BaseInterval": "1ms", "RetryNonIdempotent": true }  """)}}
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var before = backends.Items.Sum(b => b.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("http://catalog/items", new StringContent("x"))).StatusCode);
        Assert.Equal(1, backends.Items.Sum(b => b.Requests) - before);

        before = backends.Items.Sum(b => b.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("http://orders/items", new StringContent("x"))).StatusCode);
        Assert.Equal(4, backends.Items.Sum(b => b.Requests) - before);

        before = backends.Items.Sum(b => b.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("http://catalog/items")).StatusCode);
        Assert.Equal(4, backends.Items.Sum(b => b.Requests) - before);
    }

    [Fact]
    public async Task StandardResilienceHandler_DoesNotRetryWhatTheMeshRetries()
    {
        await using var backends = await Backends.StartAsync(2);
        backends[0].Fault = EchoFault.Unavailable;
        backends[1].Fault = EchoFault.Unavailable;
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices($$"""
                {{MeshJson.Service("catalog", backends.EndpointsJson(), extra: """  "Retry": { "RetryOn": "5xx", "NumRetries": 2, "BaseInterval": "1ms" }  """)}},
                {{MeshJson.Service("plain", backends.EndpointsJson())}}
                """),
            services => services.AddHttpClient("resilient").AddStandardResilienceHandler(o =>
            {
                o.Retry.Delay = TimeSpan.FromMilliseconds(1);
                o.Retry.MaxRetryAttempts = 3;
                o.CircuitBreaker.MinimumThroughput = 1000;
            }));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("resilient");

        // The mesh route retries: 1 + 2 attempts, the standard handler adds none.
        var before = backends.Items.Sum(b => b.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("http://catalog/x")).StatusCode);
        Assert.Equal(3, backends.Items.Sum(b => b.Requests) - before);

        // A route without mesh retries keeps the standard handler's: 1 + 3 attempts.
        before = backends.Items.Sum(b => b.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("http://plain/x")).StatusCode);
        Assert.Equal(4, backends.Items.Sum(b => b.Requests) - before);
    }

    [Fact]
    public async Task RouteTimeout_FailsSlowRequestsAsTimeouts()
    {
        await using var backends = await Backends.StartAsync(1);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(10);
        await using var host = await MeshHost.StartAsync(Catalog(backends, """  "Timeout": "300ms"  """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => client.GetAsync("http://catalog/whoami"));

        Assert.IsType<TimeoutException>(ex.InnerException);
        Assert.Contains("timed out after 0.3 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerTryTimeout_RetriesTheSlowEndpointElsewhere()
    {
        await using var backends = await Backends.StartAsync(2);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(10);
        await using var host = await MeshHost.StartAsync(Catalog(backends, """  "Retry": { "RetryOn": "5xx", "NumRetries": 2, "BaseInterval": "1ms", "PerTryTimeout": "200ms" }  """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        for (var i = 0; i < 4; i++)
        {
            Assert.StartsWith(backends[1].Name, await client.GetStringAsync("http://catalog/whoami"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Hedging_SlowFirstAttempt_IsOvertakenByACopy()
    {
        await using var backends = await Backends.StartAsync(2);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(10);
        await using var host = await MeshHost.StartAsync(
            Catalog(backends, """  "Hedging": { "MaxHedgedAttempts": 1, "Delay": "100ms" }  """),
            services => services.AddSingleton(MeshRandom.CreateSeeded(1)));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Round robin alternates: whichever request lands on the slow backend first is answered by the copy.
        for (var i = 0; i < 4; i++)
        {
            Assert.StartsWith(backends[1].Name, await client.GetStringAsync("http://catalog/whoami"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CircuitBreaker_RefusesBeyondMaxRequests_FailsFastAndCounts()
    {
        await using var backends = await Backends.StartAsync(1);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(2);
        await using var host = await MeshHost.StartAsync(Catalog(backends, """  "MaxRequests": 2, "Retry": { "RetryOn": "5xx,reset,connect-failure", "NumRetries": 3 }  """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        var runtime = host.Services.GetRequiredService<MeshRuntime>();

        var slow = new[] { client.GetAsync("http://catalog/a"), client.GetAsync("http://catalog/b") };
        await Wait.UntilAsync(() => runtime.Current.Clusters["catalog"].State.Active == 2, "two requests in flight");
        var started = backends[0].Requests;

        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.GetAsync("http://catalog/c"));

        Assert.Equal(MeshFailureReason.CircuitBreakerOpen, ex.Reason);
        Assert.Contains("already has 2 requests in flight (max_requests)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, runtime.Current.Clusters["catalog"].State.Overflows);
        Assert.Equal(started, backends[0].Requests);
        Assert.All(await Task.WhenAll(slow), r => Assert.True(r.IsSuccessStatusCode));
        Assert.Equal(0, runtime.Current.Clusters["catalog"].State.Active);
    }

    [Fact]
    public async Task FaultInjection_AbortShareIsWithinBounds()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(
            Catalog(backends, """  "Fault": { "Abort": { "HttpStatus": 418, "Percentage": 25 } }  """),
            services => services.AddSingleton(MeshRandom.CreateSeeded(42)));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        const int n = 1000;
        var aborted = 0;
        for (var i = 0; i < n; i++)
        {
            aborted += (await client.GetAsync("http://catalog/whoami")).StatusCode == (HttpStatusCode)418 ? 1 : 0;
        }

        // p = 0.25, sigma = sqrt(0.25 * 0.75 / 1000) = 1.37 percentage points; allow 4 sigma.
        Assert.InRange(aborted / (double)n, 0.25 - 0.055, 0.25 + 0.055);
        Assert.Equal(n - aborted, backends[0].Requests);
    }

    [Fact]
    public async Task FaultInjection_HeaderDrivenDelayAndAbort()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(Catalog(backends, """  "Fault": { "Delay": { "FromHeader": true }, "Abort": { "FromHeader": true } }  """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        using var abort = new HttpRequestMessage(HttpMethod.Get, "http://catalog/whoami");
        abort.Headers.Add("x-envoy-fault-abort-request", "429");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.SendAsync(abort)).StatusCode);

        using var delay = new HttpRequestMessage(HttpMethod.Get, "http://catalog/whoami");
        delay.Headers.Add("x-envoy-fault-delay-request", "300");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True((await client.SendAsync(delay)).IsSuccessStatusCode);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"the request was delayed ({watch.Elapsed.TotalMilliseconds:F0} ms)");

        // Without the headers nothing is injected.
        Assert.True((await client.GetAsync("http://catalog/whoami")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task QueryParameterRoute_MatchesHttpClientRequests()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "shop": { "Routes": [
              { "Match": { "QueryParameters": { "beta": "1" } }, "Cluster": "v2" },
              { "Match": { "PathRegex": "/items/[0-9]+" }, "Cluster": "v1" } ] },
            {{MeshJson.Service("v1", backends.EndpointsJson(0))}},
            {{MeshJson.Service("v2", backends.EndpointsJson(1))}}
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        Assert.StartsWith(backends[1].Name, await client.GetStringAsync("http://shop/items/abc?beta=1"), StringComparison.Ordinal);
        Assert.StartsWith(backends[0].Name, await client.GetStringAsync("http://shop/items/42"), StringComparison.Ordinal);
        await Assert.ThrowsAsync<MeshRequestException>(() => client.GetStringAsync("http://shop/items/abc"));
    }

    [Fact]
    public async Task ClusterHeader_SendsToTheNamedService()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "shop": { "Routes": [ { "ClusterHeader": "x-target" } ] },
            {{MeshJson.Service("v1", backends.EndpointsJson(0))}},
            {{MeshJson.Service("v2", backends.EndpointsJson(1))}}
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop/whoami");
        request.Headers.Add("x-target", "v2");
        Assert.StartsWith(backends[1].Name, await (await client.SendAsync(request)).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unknown = new HttpRequestMessage(HttpMethod.Get, "http://shop/whoami");
        unknown.Headers.Add("x-target", "v9");
        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.SendAsync(unknown));
        Assert.Contains("header 'x-target' names cluster 'v9', which is not configured", ex.Message, StringComparison.Ordinal);
    }
}
