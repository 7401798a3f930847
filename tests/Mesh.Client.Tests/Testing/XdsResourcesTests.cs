using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3;
using Mesh.Client.Testing;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;

namespace Mesh.Client.Tests.Testing;

public sealed class XdsResourcesTests
{
    [Fact]
    public void Listener_RouteConfigName_ApiListenerWithRdsOverAdsAndRouter()
    {
        var any = XdsResources.Listener("catalog", "catalog-routes");

        Assert.Equal(XdsTypeUrls.Listener, any.TypeUrl);
        var listener = any.Unpack<Listener>();
        Assert.Equal("catalog", listener.Name);
        var manager = listener.ApiListener.ApiListener_.Unpack<HttpConnectionManager>();
        Assert.Equal(HttpConnectionManager.RouteSpecifierOneofCase.Rds, manager.RouteSpecifierCase);
        Assert.Equal("catalog-routes", manager.Rds.RouteConfigName);
        Assert.Equal(ConfigSource.ConfigSourceSpecifierOneofCase.Ads, manager.Rds.ConfigSource.ConfigSourceSpecifierCase);
        Assert.Equal(ApiVersion.V3, manager.Rds.ConfigSource.ResourceApiVersion);
        var router = Assert.Single(manager.HttpFilters);
        Assert.Equal("envoy.filters.http.router", router.Name);
        Assert.True(router.TypedConfig.Is(Router.Descriptor));
    }

    [Fact]
    public void ListenerWithInlineRoutes_Cluster_RouteConfigForEveryDomain()
    {
        var manager = XdsResources.ListenerWithInlineRoutes("catalog", "c1").Unpack<Listener>().ApiListener.ApiListener_.Unpack<HttpConnectionManager>();

        Assert.Equal(HttpConnectionManager.RouteSpecifierOneofCase.RouteConfig, manager.RouteSpecifierCase);
        var host = Assert.Single(manager.RouteConfig.VirtualHosts);
        Assert.Equal(["*"], host.Domains);
        var route = Assert.Single(host.Routes);
        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal("c1", route.Route_.Cluster);
        Assert.Equal("envoy.filters.http.router", Assert.Single(manager.HttpFilters).Name);
    }

    [Fact]
    public void RouteConfiguration_WeightedClusters_SplitsByWeight()
    {
        var config = XdsResources.RouteConfiguration("routes", "catalog", ("c1", 80), ("c2", 20)).Unpack<RouteConfiguration>();

        Assert.Equal("routes", config.Name);
        var host = Assert.Single(config.VirtualHosts);
        Assert.Equal(["catalog"], host.Domains);
        var action = Assert.Single(host.Routes).Route_;
        Assert.Equal(RouteAction.ClusterSpecifierOneofCase.WeightedClusters, action.ClusterSpecifierCase);
        Assert.Equal([("c1", 80u), ("c2", 20u)], action.WeightedClusters.Clusters.Select(c => (c.Name, c.Weight ?? 0)));
        Assert.Equal(100u, action.WeightedClusters.TotalWeight);
    }

    [Fact]
    public void RouteConfiguration_WeightsAddUpToZero_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => XdsResources.RouteConfiguration("routes", "catalog", ("c1", 0u)));

        Assert.Contains("add up to 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RouteConfiguration_RouteWithRetry_WritesRetryPolicy()
    {
        var retry = new XdsRetryPolicy("5xx,connect-failure", NumRetries: 2)
        {
            PerTryTimeout = TimeSpan.FromMilliseconds(500),
            BaseInterval = TimeSpan.FromMilliseconds(5),
            MaxInterval = TimeSpan.FromMilliseconds(50),
            RetriableStatusCodes = [409],
        };

        var config = XdsResources.RouteConfiguration(
            "routes",
            "catalog",
            new XdsRoute { Cluster = "c1", Retry = retry },
            new XdsRoute { Cluster = "c2" }).Unpack<RouteConfiguration>();

        var routes = Assert.Single(config.VirtualHosts).Routes;
        var policy = routes[0].Route_.RetryPolicy;
        Assert.Equal("5xx,connect-failure", policy.RetryOn);
        Assert.Equal(2u, policy.NumRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), policy.PerTryTimeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromMilliseconds(5), policy.RetryBackOff.BaseInterval.ToTimeSpan());
        Assert.Equal(TimeSpan.FromMilliseconds(50), policy.RetryBackOff.MaxInterval.ToTimeSpan());
        Assert.Equal([409u], policy.RetriableStatusCodes);
        Assert.Null(routes[1].Route_.RetryPolicy);
    }

    [Fact]
    public void RouteConfiguration_RetryWithDefaults_LeavesOptionalFieldsUnset()
    {
        var policy = Assert.Single(Assert.Single(XdsResources.RouteConfiguration("routes", "catalog", new XdsRoute { Cluster = "c1", Retry = new XdsRetryPolicy("unavailable") })
            .Unpack<RouteConfiguration>().VirtualHosts).Routes).Route_.RetryPolicy;

        Assert.Equal("unavailable", policy.RetryOn);
        Assert.Equal(1u, policy.NumRetries);
        Assert.Null(policy.PerTryTimeout);
        Assert.Null(policy.RetryBackOff);
        Assert.Empty(policy.RetriableStatusCodes);
    }

    [Theory]
    [InlineData("", false, "needs RetryOn")]
    [InlineData("5xx", true, "MaxInterval needs a BaseInterval")]
    public void RouteConfiguration_InvalidRetry_ThrowsNamingRouteConfiguration(string retryOn, bool maxIntervalOnly, string expected)
    {
        var retry = new XdsRetryPolicy(retryOn) { MaxInterval = maxIntervalOnly ? TimeSpan.FromSeconds(1) : null };

        var error = Assert.Throws<ArgumentException>(() => XdsResources.RouteConfiguration("routes", "catalog", new XdsRoute { Cluster = "c1", Retry = retry }));

        Assert.Contains("Route configuration 'routes'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("round_robin", (int)EnvoyCluster.Types.LbPolicy.RoundRobin, 0)]
    [InlineData("least_request", (int)EnvoyCluster.Types.LbPolicy.LeastRequest, 0)]
    [InlineData("random", (int)EnvoyCluster.Types.LbPolicy.Random, 0)]
    [InlineData("ring_hash", (int)EnvoyCluster.Types.LbPolicy.RingHash, EnvoyCluster.RingHashLbConfigFieldNumber)]
    [InlineData("maglev", (int)EnvoyCluster.Types.LbPolicy.Maglev, EnvoyCluster.MaglevLbConfigFieldNumber)]
    public void Cluster_LbPolicy_SetsEnumAndConfig(string policy, int expectedPolicy, int expectedConfigField)
    {
        var cluster = XdsResources.Cluster("c1", lbPolicy: policy).Unpack<EnvoyCluster>();

        Assert.Equal((EnvoyCluster.Types.LbPolicy)expectedPolicy, cluster.LbPolicy);
        Assert.Equal((EnvoyCluster.LbConfigOneofCase)expectedConfigField, cluster.LbConfigCase);
        Assert.Null(cluster.LoadBalancingPolicy);
        Assert.Equal(EnvoyCluster.Types.DiscoveryType.Eds, cluster.Type);
        Assert.Equal(ConfigSource.ConfigSourceSpecifierOneofCase.Ads, cluster.EdsClusterConfig.EdsConfig.ConfigSourceSpecifierCase);
        Assert.Equal(string.Empty, cluster.EdsClusterConfig.ServiceName);
    }

    [Fact]
    public void Cluster_PickFirst_UsesLoadBalancingPolicyExtension()
    {
        var cluster = XdsResources.Cluster("c1", "c1-eds", "pick_first").Unpack<EnvoyCluster>();

        var policy = Assert.Single(cluster.LoadBalancingPolicy.Policies).TypedExtensionConfig;
        Assert.Equal("envoy.load_balancing_policies.pick_first", policy.Name);
        Assert.True(policy.TypedConfig.Is(PickFirst.Descriptor));
        Assert.Equal("c1-eds", cluster.EdsClusterConfig.ServiceName);
    }

    [Fact]
    public void Cluster_UnknownPolicy_ThrowsNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => XdsResources.Cluster("c1", lbPolicy: "weighted_target"));

        Assert.Contains("'weighted_target'", error.Message, StringComparison.Ordinal);
        Assert.Equal("lbPolicy", error.ParamName);
    }

    [Fact]
    public void ClusterLoadAssignment_Addresses_OneHealthyLocality()
    {
        var assignment = XdsResources.ClusterLoadAssignment("c1", "127.0.0.1:5001", "[::1]:5002").Unpack<ClusterLoadAssignment>();

        Assert.Equal("c1", assignment.ClusterName);
        var locality = Assert.Single(assignment.Endpoints);
        Assert.Equal(1u, locality.LoadBalancingWeight);
        Assert.Equal(0u, locality.Priority);
        Assert.Equal(
            [("127.0.0.1", 5001u), ("::1", 5002u)],
            locality.LbEndpoints.Select(e => (e.Endpoint.Address.SocketAddress.Address, e.Endpoint.Address.SocketAddress.PortValue)));
        Assert.All(locality.LbEndpoints, e => Assert.Equal(HealthStatus.Healthy, e.HealthStatus));
        Assert.Empty(XdsResources.ClusterLoadAssignment("c2").Unpack<ClusterLoadAssignment>().Endpoints);
    }

    [Fact]
    public void ClusterLoadAssignment_Localities_CarriesWeightsPrioritiesAndHealth()
    {
        var assignment = XdsResources.ClusterLoadAssignment(
            "c1",
            new XdsLocality("zone-a", new XdsEndpoint("10.0.0.1:80") { Weight = 3 }) { Region = "eu", Weight = 2 },
            new XdsLocality("zone-b", new XdsEndpoint("10.0.0.2:80") { Health = XdsHealthStatus.Draining }) { Priority = 1, SubZone = "rack-1" })
            .Unpack<ClusterLoadAssignment>();

        Assert.Equal(2, assignment.Endpoints.Count);
        var first = assignment.Endpoints[0];
        Assert.Equal(new Locality { Region = "eu", Zone = "zone-a" }, first.Locality);
        Assert.Equal(2u, first.LoadBalancingWeight);
        Assert.Equal(0u, first.Priority);
        Assert.Equal(3u, Assert.Single(first.LbEndpoints).LoadBalancingWeight);
        var second = assignment.Endpoints[1];
        Assert.Equal(new Locality { Zone = "zone-b", SubZone = "rack-1" }, second.Locality);
        Assert.Equal(1u, second.Priority);
        Assert.Equal(HealthStatus.Draining, Assert.Single(second.LbEndpoints).HealthStatus);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("::1:80")]
    [InlineData("[::1]")]
    [InlineData(":80")]
    public void ClusterLoadAssignment_BadAddress_ThrowsNamingIt(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => XdsResources.ClusterLoadAssignment("c1", address));

        Assert.Contains($"'{address}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResourceSetSet_AnyOfKnownType_UsesItsName()
    {
        var set = new XdsResourceSet();

        set.Set(XdsResources.ClusterLoadAssignment("eds-name", "127.0.0.1:1"))
            .Set(XdsResources.RouteConfiguration("r1", "*", "c1"));

        Assert.Equal(
            [(XdsTypeUrls.ClusterLoadAssignment, "eds-name"), (XdsTypeUrls.RouteConfiguration, "r1")],
            set.Changes.Select(c => (c.TypeUrl, c.Name)));
        Assert.Throws<ArgumentException>(() => set.Set(Google.Protobuf.WellKnownTypes.Any.Pack(new Locality())));
    }
}
