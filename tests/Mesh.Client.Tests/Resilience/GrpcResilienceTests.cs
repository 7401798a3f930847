using Grpc.Core;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Resilience;

/// <summary>gRPC traffic policy, through a client from AddGrpcClient (which carries the mesh's interceptor).</summary>
public class GrpcResilienceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static Task<MeshHost> StartAsync(Backends backends, string extra, Action<IServiceCollection>? configure = null) =>
        MeshHost.StartAsync(
            MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(), extra: extra)),
            services =>
            {
                services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///catalog"));
                configure?.Invoke(services);
            });

    [Fact]
    public async Task OneOfThreeUnavailable_WithRetries_NoCallFailsOver1000Calls()
    {
        await using var backends = await Backends.StartAsync(3);
        backends[1].Fault = EchoFault.Unavailable;
        await using var host = await StartAsync(backends, """  "Retry": { "RetryOn": "unavailable", "NumRetries": 2, "BaseInterval": "1ms" }  """);
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        var failures = 0;
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
            }
            catch (RpcException)
            {
                failures++;
            }
        }

        Assert.Equal(0, failures);
        Assert.True(backends[1].Requests > 0, "the failing backend took first attempts");
    }

    [Fact]
    public async Task CommittedCall_IsNotRetried_TrailersOnlyIs()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await StartAsync(backends, """  "Retry": { "RetryOn": "unavailable", "NumRetries": 3, "BaseInterval": "1ms" }  """);
        var client = host.Services.GetRequiredService<Echo.EchoClient>();
        await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        var before = backends[0].Requests;
        var committed = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest { Name = EchoBackend.HeadersThenUnavailable }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, committed.StatusCode);
        Assert.Equal(1, backends[0].Requests - before);

        backends[0].Fault = EchoFault.Unavailable;
        before = backends[0].Requests;
        await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest()).ResponseAsync);
        Assert.Equal(4, backends[0].Requests - before);
    }

    [Fact]
    public async Task ServerStreaming_IsRetriedBeforeItsFirstMessage()
    {
        await using var backends = await Backends.StartAsync(2);
        backends[0].Fault = EchoFault.Unavailable;
        await using var host = await StartAsync(backends, """  "Retry": { "RetryOn": "unavailable", "NumRetries": 2, "BaseInterval": "1ms" }  """);
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        for (var i = 0; i < 6; i++)
        {
            using var call = client.Count(new CountRequest { Count = 3 }, deadline: DateTime.UtcNow + Deadline);
            var replies = await call.ResponseStream.ReadAllAsync().ToListAsync();
            Assert.Equal(3, replies.Count);
            Assert.All(replies, r => Assert.Equal(backends[1].Name, r.Backend));
        }
    }

    [Fact]
    public async Task MaxStreamDuration_CapsTheCallersDeadline()
    {
        await using var backends = await Backends.StartAsync(1);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(10);
        await using var host = await StartAsync(backends, """  "MaxStreamDuration": "300ms"  """);
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the route's limit applied ({watch.Elapsed.TotalSeconds:F1} s)");
    }

    [Fact]
    public async Task CircuitBreaker_DropsBeyondMaxRequests_WithoutRetrying()
    {
        await using var backends = await Backends.StartAsync(1);
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(2);
        await using var host = await StartAsync(backends, """  "MaxRequests": 1, "Retry": { "RetryOn": "unavailable", "NumRetries": 3 }  """);
        var client = host.Services.GetRequiredService<Echo.EchoClient>();
        var runtime = host.Services.GetRequiredService<MeshRuntime>();

        var slow = client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync;
        await Wait.UntilAsync(() => runtime.Current.Clusters["catalog"].State.Active == 1, "one call in flight");

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("max_requests", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, runtime.Current.Clusters["catalog"].State.Overflows);
        Assert.Equal(backends[0].Name, (await slow).Backend);
    }

    [Fact]
    public async Task FaultInjection_AbortsWithTheConfiguredStatus()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await StartAsync(
            backends,
            """  "Fault": { "Abort": { "GrpcStatus": 8, "Percentage": 20 } }  """,
            services => services.AddSingleton(MeshRandom.CreateSeeded(7)));
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        const int n = 1000;
        var aborted = 0;
        for (var i = 0; i < n; i++)
        {
            try
            {
                await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                aborted++;
            }
        }

        // p = 0.2, sigma = 1.26 percentage points; 4 sigma. Aborts are not retried and never reach the backend.
        Assert.InRange(aborted / (double)n, 0.2 - 0.051, 0.2 + 0.051);
        Assert.Equal(n - aborted, backends[0].Requests);
    }
}
