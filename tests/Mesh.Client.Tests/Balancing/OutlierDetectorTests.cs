using Grpc.Core;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Client.Tests.Balancing;

/// <summary>Outlier detection (gRFC A50): the algorithm on its own, then both front doors against real failing backends.</summary>
public class OutlierDetectorTests
{
    private static EndpointState[] Endpoints(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new EndpointState("c", new MeshEndpoint { Host = "10.0.0." + i, Port = 80 }))];

    private static void Outcomes(EndpointState endpoint, int successes, int failures)
    {
        for (var i = 0; i < successes; i++)
        {
            endpoint.RecordSuccess();
        }

        for (var i = 0; i < failures; i++)
        {
            endpoint.RecordFailure();
        }
    }

    [Fact]
    public void FailurePercentage_EjectsAboveThreshold_AndReturnsAfterBaseEjectionTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var changes = 0;
        var policy = new OutlierDetectionPolicy
        {
            BaseEjectionTime = TimeSpan.FromSeconds(30),
            MaxEjectionPercent = 50,
            FailurePercentage = new FailurePercentageEjection { Threshold = 50, MinimumHosts = 3, RequestVolume = 10 },
        };
        using var detector = new OutlierDetector(policy, time, MeshRandom.CreateSeeded(1), () => changes++);
        var endpoints = Endpoints(4);
        detector.Update(policy, endpoints);
        Outcomes(endpoints[0], 20, 0);
        Outcomes(endpoints[1], 4, 16);
        Outcomes(endpoints[2], 19, 1);
        Outcomes(endpoints[3], 5, 4);   // below the request volume: not judged

        time.Advance(policy.Interval);

        Assert.Equal([false, true, false, false], endpoints.Select(e => e.IsEjected));
        Assert.Equal(1, changes);

        // Ejection lasts base × 1 = 30 s, checked at each interval: still out at t = 30 s, back at t = 40 s.
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(endpoints[1].IsEjected);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(endpoints[1].IsEjected);
        Assert.Equal(2, changes);
    }

    [Fact]
    public void SuccessRate_EjectsEndpointsFarBelowTheMean()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var policy = new OutlierDetectionPolicy
        {
            MaxEjectionPercent = 100,
            SuccessRate = new SuccessRateEjection { StdevFactor = 1000, MinimumHosts = 5, RequestVolume = 100 },
        };
        using var detector = new OutlierDetector(policy, time, MeshRandom.CreateSeeded(1), () => { });
        var endpoints = Endpoints(6);
        detector.Update(policy, endpoints);
        foreach (var endpoint in endpoints.Take(5))
        {
            Outcomes(endpoint, 100, 0);
        }

        // Mean success 0.9, one endpoint at 0.4: stdev ≈ 0.19, threshold ≈ 0.71 with factor 1.0.
        Outcomes(endpoints[5], 40, 60);
        detector.RunInterval();

        Assert.Equal([false, false, false, false, false, true], endpoints.Select(e => e.IsEjected));
    }

    [Fact]
    public void MaxEjectionPercent_LimitsHowManyAreEjected()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var policy = new OutlierDetectionPolicy
        {
            MaxEjectionPercent = 25,
            FailurePercentage = new FailurePercentageEjection { Threshold = 50, MinimumHosts = 1, RequestVolume = 1 },
        };
        using var detector = new OutlierDetector(policy, time, MeshRandom.CreateSeeded(1), () => { });
        var endpoints = Endpoints(4);
        detector.Update(policy, endpoints);
        foreach (var endpoint in endpoints)
        {
            Outcomes(endpoint, 0, 10);
        }

        detector.RunInterval();

        // 0 % < 25 % allows one; then 25 % is not below 25 %.
        Assert.Equal(1, endpoints.Count(e => e.IsEjected));
    }

    [Fact]
    public void RepeatedEjection_LastsLonger_UpToMaxEjectionTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var policy = new OutlierDetectionPolicy
        {
            Interval = TimeSpan.FromSeconds(1),
            BaseEjectionTime = TimeSpan.FromSeconds(10),
            MaxEjectionTime = TimeSpan.FromSeconds(15),
            MaxEjectionPercent = 100,
            FailurePercentage = new FailurePercentageEjection { Threshold = 50, MinimumHosts = 1, RequestVolume = 1 },
        };
        using var detector = new OutlierDetector(policy, time, MeshRandom.CreateSeeded(1), () => { });
        var endpoints = Endpoints(1);
        detector.Update(policy, endpoints);

        // FakeTimeProvider shows every timer tick of one Advance the final time, so time moves a second at a
        // time here, as it would for real.
        void Tick(int seconds)
        {
            for (var i = 0; i < seconds; i++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Outcomes(endpoints[0], 0, 5);
        Tick(1);
        Assert.True(endpoints[0].IsEjected);
        Tick(10);
        Assert.False(endpoints[0].IsEjected);

        // Failing again at once: ejected for 2 × 10 s, capped at 15 s.
        Outcomes(endpoints[0], 0, 5);
        Tick(1);
        Assert.True(endpoints[0].IsEjected);
        Tick(14);
        Assert.True(endpoints[0].IsEjected);
        Tick(1);
        Assert.False(endpoints[0].IsEjected);

        // A clean interval while not ejected forgets one earlier ejection: the next lasts 2 × 10 s again, not 3 ×.
        Tick(1);
        Outcomes(endpoints[0], 0, 5);
        Tick(1);
        Assert.True(endpoints[0].IsEjected);
        Tick(14);
        Assert.True(endpoints[0].IsEjected);
        Tick(1);
        Assert.False(endpoints[0].IsEjected);
    }

    [Fact]
    public async Task BothFrontDoors_StopSendingToAnEjectedEndpoint_UntilItReturns()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var backends = await Backends.StartAsync(3);
        backends[1].Fault = EchoFault.Unavailable;
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(), extra: """
                "OutlierDetection": { "Interval": "10s", "BaseEjectionTime": "30s", "MaxEjectionPercent": 50,
                                      "FailurePercentage": { "Threshold": 50, "MinimumHosts": 3, "RequestVolume": 10 } }
                """)),
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///catalog"));
            });
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        var grpc = host.Services.GetRequiredService<Echo.EchoClient>();
        var runtime = host.Services.GetRequiredService<MeshRuntime>();

        // Passive outcomes from both doors: HTTP 503s and gRPC UNAVAILABLEs from the failing backend.
        for (var i = 0; i < 30; i++)
        {
            await http.GetAsync("http://catalog/whoami");
            try
            {
                await grpc.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            }
            catch (RpcException)
            {
            }
        }

        var generation = runtime.Current.Generation;
        time.Advance(TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(() => runtime.Current.Clusters["catalog"].AllEndpoints.Single(e => e.Endpoint.Port == backends[1].Port).IsEjected, "the failing endpoint to be ejected");

        var before = backends[1].Requests;
        for (var i = 0; i < 30; i++)
        {
            Assert.True((await http.GetAsync("http://catalog/whoami")).IsSuccessStatusCode);
        }

        await Wait.UntilAsync(async () =>
        {
            // The channel's balancer hears of the ejection from the cluster (no table is published); wait for it.
            var reply = await grpc.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            return reply.Backend != backends[1].Name;
        }, "gRPC calls to avoid the ejected endpoint");
        for (var i = 0; i < 30; i++)
        {
            Assert.NotEqual(backends[1].Name, (await grpc.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Backend);
        }

        Assert.Equal(before, backends[1].Requests);
        Assert.Equal(generation, runtime.Current.Generation);

        // After the base ejection time it gets traffic again.
        backends[1].Fault = EchoFault.None;
        time.Advance(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => (await http.GetStringAsync("http://catalog/whoami")).StartsWith(backends[1].Name, StringComparison.Ordinal), "the endpoint to return");
    }
}
