using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Grpc;
using Mesh.Client.Model;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds.Internal;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Xds;

public class XdsTargetWatcherTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task RouteToNewCluster_TakesEffectOnlyWhenTheClusterIsComplete()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        mesh.SetService("catalog", "old-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);
        Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline)).Backend);

        // The routes now point at a cluster the server has not described yet.
        var routes = mesh.Server.SetResource(XdsResources.RouteConfiguration("catalog-routes", "catalog", "new-cluster"));
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.RouteConfiguration, routes);
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Cluster && r.ResourceNames.Contains("new-cluster"));
        var cluster = mesh.Server.SetResource(XdsResources.Cluster("new-cluster", http2: true));
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.Cluster, cluster);
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.ClusterLoadAssignment && r.ResourceNames.Contains("new-cluster"));

        // Routes and cluster are there, endpoints are not: the whole old chain stays in force (gRFC A74).
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest())).Backend);
        }

        mesh.SetEndpoints("new-cluster", 1);
        await Wait.UntilAsync(async () => (await client.HelloAsync(new HelloRequest())).Backend == mesh.Backends[1].Name, "the completed chain to take over");
    }

    [Fact]
    public async Task AggregateCluster_FailsOverToTheNextChildWhenTheFirstHasNoHealthyEndpoint()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        mesh.Server.Update(set => set
            .Set(XdsResources.Listener("catalog", "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog", "aggregate"))
            .Set(TestingTypeUrls.Cluster, "aggregate", Aggregate("aggregate", "primary", "secondary"))
            .Set(XdsResources.Cluster("primary", http2: true))
            .Set(XdsResources.Cluster("secondary", http2: true))
            .Set(XdsResources.ClusterLoadAssignment("primary", new XdsLocality("z", new XdsEndpoint(mesh.Backends[0].Address) { Health = XdsHealthStatus.Unhealthy })))
            .Set(XdsResources.ClusterLoadAssignment("secondary", mesh.Backends[1].Address)));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);

        Assert.Equal(mesh.Backends[1].Name, (await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline)).Backend);

        // The primary recovers: traffic returns to it.
        mesh.Server.SetResource(XdsResources.ClusterLoadAssignment("primary", mesh.Backends[0].Address));
        await Wait.UntilAsync(async () => (await client.HelloAsync(new HelloRequest())).Backend == mesh.Backends[0].Name, "traffic back on the primary child");
    }

    [Fact]
    public async Task AggregateCycle_FailsItsCallsWithTheReason()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        mesh.Server.Update(set => set
            .Set(XdsResources.Listener("catalog", "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog", "a"))
            .Set(TestingTypeUrls.Cluster, "a", Aggregate("a", "b"))
            .Set(TestingTypeUrls.Cluster, "b", Aggregate("b", "a")));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);

        var ex = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync);

        Assert.Equal(global::Grpc.Core.StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("is part of a cycle", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogicalDnsCluster_SendsToTheNamedHost()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        mesh.Server.Update(set => set
            .Set(XdsResources.Listener("catalog", "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog", "dns"))
            .Set(TestingTypeUrls.Cluster, "dns", LogicalDns("dns", "localhost", mesh.Backends[0].Port)));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);

        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        Assert.Equal(mesh.Backends[0].Name, reply.Backend);
    }

    [Fact]
    public async Task MissingRouteConfiguration_CallWaitsNoLongerThanItsDeadline_ThenFailsNamingIt()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: services => services.AddSingleton<TimeProvider>(time));
        mesh.Server.SetResource(XdsResources.Listener("catalog", "no-such-routes"));
        mesh.Server.SetResource(XdsResources.RouteConfiguration("other-routes", "x", "y"));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);

        // RDS responses list only what exists, so only the does-not-exist timer can tell the absence; until
        // then a call waits, bounded by its own deadline.
        var early = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync);
        Assert.Equal(global::Grpc.Core.StatusCode.DeadlineExceeded, early.StatusCode);

        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.RouteConfiguration && r.ResourceNames.Contains("no-such-routes"));
        time.Advance(XdsClient.DoesNotExistTimeout);
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                    return false;
                }
                catch (global::Grpc.Core.RpcException ex) when (ex.StatusCode == global::Grpc.Core.StatusCode.Unavailable)
                {
                    return ex.Status.Detail.Contains("route configuration 'no-such-routes' does not exist", StringComparison.Ordinal);
                }
            },
            "calls to fail naming the missing route configuration");
    }

    [Theory]
    [InlineData("catalog", "catalog", "exact")]
    [InlineData("catalog.shop.svc:8080", "catalog.shop.svc:8080", "exact")]
    [InlineData("api.shop.example", "*.shop.example", "longest-suffix")]
    [InlineData("catalog:8080", "catalog:*", "prefix")]
    [InlineData("anything", "*", "any")]
    public void SelectVirtualHost_FollowsDomainPrecedence(string target, string expectedDomain, string why)
    {
        XdsVirtualHost Host(params string[] domains) => new(string.Join(",", domains), domains, []);
        var hosts = new[]
        {
            Host("*"),
            Host("catalog:*"),
            Host("*.example"),
            Host("*.shop.example"),
            Host("catalog"),
            Host("catalog.shop.svc:8080"),
            Host("bad*domain", "a*b*"),
        };

        var chosen = XdsTargetWatcher.SelectVirtualHost(hosts, target);

        Assert.True(chosen is not null, why);
        Assert.Contains(expectedDomain, chosen!.Domains);
    }

    [Fact]
    public void SelectVirtualHost_NoMatch_ReturnsNull() =>
        Assert.Null(XdsTargetWatcher.SelectVirtualHost([new XdsVirtualHost("a", ["a.example", "bad*domain"], [])], "b.example"));

    private static Any Aggregate(string name, params string[] children)
    {
        var config = new Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig();
        config.Clusters.AddRange(children);
        return Any.Pack(new Cluster
        {
            Name = name,
            ClusterType = new Cluster.Types.CustomClusterType { Name = "envoy.clusters.aggregate", TypedConfig = Any.Pack(config) },
            LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
        });
    }

    private static Any LogicalDns(string name, string host, int port) =>
        Any.Pack(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.LogicalDns,
            LoadAssignment = new ClusterLoadAssignment
            {
                ClusterName = name,
                Endpoints =
                {
                    new LocalityLbEndpoints
                    {
                        LbEndpoints =
                        {
                            new LbEndpoint
                            {
                                Endpoint = new Envoy.Config.Endpoint.V3.Endpoint
                                {
                                    Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = (uint)port } },
                                },
                            },
                        },
                    },
                },
            },
        });
}
