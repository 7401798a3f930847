using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Type.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Grpc;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
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

    // ---- Traffic policy completed by the connection manager (gRFC A31, A33, A39) ----

    private static readonly FaultPolicy HcmFault = new() { Abort = new Mesh.Client.Model.FaultAbort { GrpcStatus = 14 } };
    private static readonly FaultPolicy VirtualHostFault = new() { Abort = new Mesh.Client.Model.FaultAbort { GrpcStatus = 2 } };
    private static readonly FaultPolicy RouteFault = new() { Delay = new Mesh.Client.Model.FaultDelay { FixedDelay = TimeSpan.FromSeconds(1) } };
    private static readonly FaultPolicy ClusterFault = new() { Abort = new Mesh.Client.Model.FaultAbort { HttpStatus = 503 } };

    private static MeshRoute PlainRoute(params string[] clusters) =>
        new() { Match = Mesh.Client.Model.RouteMatch.Any, Clusters = [.. clusters.Select(c => new Mesh.Client.Model.WeightedCluster(c))] };

    private static XdsListenerUpdate ListenerUpdate(TimeSpan? maxStreamDuration = null, params XdsFaultFilter[] faults) =>
        new("routes", null, [], maxStreamDuration) { FaultFilters = faults };

    private static XdsVirtualHost VirtualHost(MeshRoute route, XdsRouteExtras? extras = null, IReadOnlyDictionary<string, FaultPolicy>? overrides = null)
    {
        var table = new Dictionary<MeshRoute, XdsRouteExtras>(ReferenceEqualityComparer.Instance);
        if (extras is not null)
        {
            table[route] = extras;
        }

        return new XdsVirtualHost("vh", ["*"], [route]) { RouteExtras = table, FaultOverrides = overrides ?? XdsFaultOverrides.Empty };
    }

    private static Dictionary<string, FaultPolicy> Overrides(string name, FaultPolicy policy) => new(StringComparer.Ordinal) { [name] = policy };

    [Fact]
    public void DeriveRoute_NothingFromTheConnectionManager_SameInstance()
    {
        var route = PlainRoute("c");

        Assert.Same(route, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), ListenerUpdate()));
        Assert.Same(route, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), ListenerUpdate(TimeSpan.Zero, new XdsFaultFilter("fault", new FaultPolicy()))));
    }

    [Fact]
    public void DeriveRoute_ConnectionManagerFaultAndDuration_Applied()
    {
        var route = PlainRoute("c");

        var derived = XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), ListenerUpdate(TimeSpan.FromSeconds(7), new XdsFaultFilter("fault", HcmFault)));

        Assert.Equal(HcmFault, derived.Fault);
        Assert.Equal(TimeSpan.FromSeconds(7), derived.MaxStreamDuration);
        Assert.Equal(route with { Fault = HcmFault, MaxStreamDuration = TimeSpan.FromSeconds(7) }, derived);
    }

    [Fact]
    public void DeriveRoute_RouteSetsItsOwnDuration_ConnectionManagerDurationIgnoredEvenForZero()
    {
        var route = PlainRoute("c");

        var derived = XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, new XdsRouteExtras { SetsMaxStreamDuration = true }), ListenerUpdate(TimeSpan.FromSeconds(7)));

        Assert.Same(route, derived);
        Assert.Null(derived.MaxStreamDuration);
    }

    [Fact]
    public void DeriveRoute_FaultOverrides_MostSpecificWins()
    {
        var route = PlainRoute("a", "b");
        var listener = ListenerUpdate(null, new XdsFaultFilter("fault", HcmFault));

        Assert.Equal(VirtualHostFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, null, Overrides("fault", VirtualHostFault)), listener).Fault);

        var routeExtras = new XdsRouteExtras { FaultOverrides = Overrides("fault", RouteFault) };
        Assert.Equal(RouteFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, routeExtras, Overrides("fault", VirtualHostFault)), listener).Fault);

        // Every weighted cluster overrides alike: exact, so it wins.
        var sameClusters = routeExtras with { ClusterFaultOverrides = [Overrides("fault", ClusterFault), Overrides("fault", ClusterFault)] };
        Assert.Equal(ClusterFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, sameClusters), listener).Fault);

        // The clusters differ (or only some override): the model has one policy per route, the route's.
        var differentClusters = routeExtras with { ClusterFaultOverrides = [Overrides("fault", ClusterFault), XdsFaultOverrides.Empty] };
        Assert.Equal(RouteFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, differentClusters), listener).Fault);
    }

    [Fact]
    public void DeriveRoute_OverrideForAnotherFilterName_Ignored()
    {
        var route = PlainRoute("c");
        var extras = new XdsRouteExtras { FaultOverrides = Overrides("other", RouteFault) };

        Assert.Equal(HcmFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, extras), ListenerUpdate(null, new XdsFaultFilter("fault", HcmFault))).Fault);
    }

    [Fact]
    public void DeriveRoute_DisabledOverride_NoFault()
    {
        var route = PlainRoute("c");
        var extras = new XdsRouteExtras { FaultOverrides = Overrides("fault", XdsFaultOverrides.None) };

        Assert.Same(route, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, extras), ListenerUpdate(null, new XdsFaultFilter("fault", HcmFault))));
    }

    [Fact]
    public void DeriveRoute_DisabledConnectionManagerFilter_EnabledByTheRoute()
    {
        var route = PlainRoute("c");
        var listener = ListenerUpdate(null, new XdsFaultFilter("fault", XdsFaultOverrides.None));

        Assert.Null(XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), listener).Fault);
        Assert.Equal(RouteFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route, new XdsRouteExtras { FaultOverrides = Overrides("fault", RouteFault) }), listener).Fault);
    }

    [Fact]
    public void DeriveRoute_SeveralFaultFilters_FirstThatInjectsWins()
    {
        var route = PlainRoute("c");
        var listener = ListenerUpdate(null, new XdsFaultFilter("idle", new FaultPolicy()), new XdsFaultFilter("first", HcmFault), new XdsFaultFilter("second", RouteFault));

        Assert.Equal(HcmFault, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), listener).Fault);
    }

    [Fact]
    public void DeriveRoute_ErrorRoute_Untouched()
    {
        var route = PlainRoute() with { ErrorMessage = "redirect" };

        Assert.Same(route, XdsTargetWatcher.DeriveRoute(route, VirtualHost(route), ListenerUpdate(TimeSpan.FromSeconds(7), new XdsFaultFilter("fault", HcmFault))));
    }

    [Fact]
    public async Task TrafficPolicy_FromTheControlPlane_ReachesTheModelAndRoutesStayTheSameAcrossEndpointUpdates()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        var hcm = new HttpConnectionManager
        {
            Rds = new Rds { ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() }, RouteConfigName = "catalog-routes" },
            CommonHttpProtocolOptions = new HttpProtocolOptions { MaxStreamDuration = new Duration { Seconds = 7 } },
            HttpFilters =
            {
                new HttpFilter
                {
                    Name = "envoy.filters.http.fault",
                    TypedConfig = Any.Pack(new HTTPFault { Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { FixedDelay = new Duration { Seconds = 2 }, Percentage = new FractionalPercent { Numerator = 10 } } }),
                },
                new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) },
            },
        };
        var overridden = new Route
        {
            Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/mesh.samples.Echo/" },
            Route_ = new RouteAction
            {
                Cluster = "catalog-cluster",
                MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { GrpcTimeoutHeaderMax = new Duration { Seconds = 3 } },
                RetryPolicy = new Envoy.Config.Route.V3.RetryPolicy { RetryOn = "unavailable", NumRetries = 2 },
            },
            TypedPerFilterConfig = { ["envoy.filters.http.fault"] = Any.Pack(new HTTPFault { Abort = new Envoy.Extensions.Filters.Http.Fault.V3.FaultAbort { GrpcStatus = 14, Percentage = new FractionalPercent { Numerator = 100 } } }) },
        };
        var fallback = new Route { Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = "catalog-cluster" } };
        var cluster = Cluster.Parser.ParseFrom(XdsResources.Cluster("catalog-cluster", http2: true).Value);
        cluster.CircuitBreakers = new CircuitBreakers { Thresholds = { new CircuitBreakers.Types.Thresholds { MaxRequests = 64 } } };
        cluster.OutlierDetection = new OutlierDetection { EnforcingFailurePercentage = 100, Interval = new Duration { Seconds = 1 } };
        mesh.Server.Update(set => set
            .Set(TestingTypeUrls.Listener, "catalog", Any.Pack(new Listener { Name = "catalog", ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } }))
            .Set(TestingTypeUrls.RouteConfiguration, "catalog-routes", Any.Pack(new RouteConfiguration
            {
                Name = "catalog-routes",
                VirtualHosts = { new VirtualHost { Name = "catalog", Domains = { "catalog" }, Routes = { overridden, fallback } } },
            }))
            .Set(TestingTypeUrls.Cluster, "catalog-cluster", Any.Pack(cluster))
            .Set(XdsResources.ClusterLoadAssignment("catalog-cluster", mesh.Backends[0].Address)));
        var runtime = mesh.Services.GetRequiredService<MeshRuntime>();

        var table = await runtime.WaitForNameAsync("catalog", Deadline, CancellationToken.None);

        Assert.NotNull(table);
        var routes = table.Snapshot.Services["catalog"].Routes;
        Assert.Equal(2, routes.Count);
        Assert.Equal(new FaultPolicy { Abort = new Mesh.Client.Model.FaultAbort { GrpcStatus = 14, PerMillion = 1_000_000 } }, routes[0].Fault);
        Assert.Equal(TimeSpan.FromSeconds(3), routes[0].GrpcTimeoutHeaderMax);
        Assert.Null(routes[0].MaxStreamDuration);
        Assert.Equal((RetryOn.Unavailable, 2), (routes[0].Retry!.RetryOn, routes[0].Retry!.NumRetries));
        Assert.Equal(new FaultPolicy { Delay = new Mesh.Client.Model.FaultDelay { FixedDelay = TimeSpan.FromSeconds(2), PerMillion = 100_000 } }, routes[1].Fault);
        Assert.Equal(TimeSpan.FromSeconds(7), routes[1].MaxStreamDuration);
        var model = table.Snapshot.Clusters["catalog-cluster"];
        Assert.Equal(64u, model.MaxRequests);
        Assert.Equal(TimeSpan.FromSeconds(1), model.OutlierDetection?.Interval);
        Assert.Equal(100u, model.OutlierDetection?.FailurePercentage?.EnforcementPercentage);

        // An endpoint update rebuilds the cluster, not the routes: the runtime keeps their compiled matchers.
        mesh.SetEndpoints("catalog-cluster", 1);
        await Wait.UntilAsync(
            () => runtime.Current.Snapshot.Clusters["catalog-cluster"].Priorities.SelectMany(p => p.Localities).SelectMany(l => l.Endpoints).Any(e => e.Port == mesh.Backends[1].Port),
            "the new endpoint in the model");
        var after = runtime.Current.Snapshot.Services["catalog"].Routes;
        Assert.Same(routes[0], after[0]);
        Assert.Same(routes[1], after[1]);
    }

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
