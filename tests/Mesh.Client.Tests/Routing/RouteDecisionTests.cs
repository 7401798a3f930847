using Grpc.Core;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Routing;

public class RouteDecisionTests
{
    private readonly MeshRandom _random = MeshRandom.CreateSeeded(141);

    [Fact]
    public void Decide_WeightedCluster_PicksAnEndpointAndHoldsABreakerSlot()
    {
        var cluster = Cluster("catalog", 2);
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("catalog")] }, [cluster]);

        var decision = RouteDecision.Decide(route, View(), _random, 0, previous: null);

        Assert.Equal(RouteFailure.None, decision.Failure);
        Assert.Same(cluster, decision.Cluster);
        Assert.Contains(decision.Endpoint, cluster.AllEndpoints);
        Assert.Equal(1, cluster.State.Active);
        cluster.State.Release();
    }

    [Fact]
    public void Decide_Retry_AvoidsThePreviousEndpointWhenThereIsAnother()
    {
        var cluster = Cluster("catalog", 2);
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("catalog")] }, [cluster]);

        for (var i = 0; i < 50; i++)
        {
            var previous = cluster.AllEndpoints[i % 2];
            var decision = RouteDecision.Decide(route, View(), _random, 0, previous);
            cluster.State.Release();

            Assert.NotSame(previous, decision.Endpoint);
        }
    }

    [Fact]
    public void Decide_BreakerFull_FailsWithTheBreakerMessageAndTakesNoSlot()
    {
        var cluster = Cluster("catalog", 1, maxRequests: 1);
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("catalog")] }, [cluster]);
        Assert.True(cluster.State.TryAcquire(1));

        var decision = RouteDecision.Decide(route, View(), _random, 0, previous: null);

        Assert.Equal(RouteFailure.CircuitBreakerOpen, decision.Failure);
        Assert.Null(decision.Endpoint);
        Assert.Equal(1, cluster.State.Active);
        Assert.Equal(
            "Mesh service 'shop': cluster 'catalog' already has 1 requests in flight (max_requests); the request was not sent.",
            decision.Message("shop", null, MeshRequestMessages.Request));
    }

    [Theory]
    [InlineData(null, "Mesh service 'shop': cluster 'catalog' has no healthy endpoint.")]
    [InlineData("the control plane removed it", "Mesh service 'shop': the control plane removed it")]
    public void Decide_NoEndpoint_FailsGivesTheSlotBackAndSaysWhy(string? clusterError, string expected)
    {
        var cluster = Cluster("catalog", 0, error: clusterError);
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("catalog")] }, [cluster]);

        var decision = RouteDecision.Decide(route, View(), _random, 0, previous: null);

        Assert.Equal(RouteFailure.NoEndpoint, decision.Failure);
        Assert.Equal(0, cluster.State.Active);
        Assert.Equal(expected, decision.Message("shop", null, MeshRequestMessages.Request));
    }

    [Theory]
    [InlineData(null, "ClusterHeaderMissing", "Mesh service 'shop': the route takes its cluster from header 'x-target', which the call does not have.")]
    [InlineData("v9", "ClusterHeaderUnknown", "Mesh service 'shop': header 'x-target' names cluster 'v9', which is not configured.")]
    [InlineData("v2", "None", null)]
    public void Decide_ClusterHeader_NamesTheClusterOrFailsWithItsMessage(string? header, string failure, string? expected)
    {
        var v2 = Cluster("v2", 1);
        var route = new CompiledRoute(
            new MeshRoute { Match = RouteMatch.Any, Clusters = [], ClusterHeader = "x-target" },
            new RouteMatcher(RouteMatch.Any),
            [],
            new Dictionary<string, ClusterRuntime> { ["v2"] = v2 });
        var metadata = new Metadata();
        if (header is not null)
        {
            metadata.Add("x-target", header);
        }

        var decision = RouteDecision.Decide(route, new GrpcRequestView(metadata), _random, 0, previous: null);

        Assert.Equal(Enum.Parse<RouteFailure>(failure), decision.Failure);
        if (expected is null)
        {
            Assert.Same(v2, decision.Cluster);
            v2.State.Release();
        }
        else
        {
            Assert.Equal(expected, decision.Message("shop", "x-target", MeshRequestMessages.Call));
        }
    }

    [Fact]
    public void Decide_AfterWarmUp_AllocatesNothing()
    {
        var cluster = Cluster("catalog", 4);
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("catalog")] }, [cluster]);
        var view = View();

        var measured = Allocations.Measure(_ =>
        {
            var decision = RouteDecision.Decide(route, view, _random, 0, cluster.AllEndpoints[0]);
            decision.Cluster!.State.Release();
        });

        Assert.True(measured.RoundsThatAllocated <= 1, measured.ToString());
    }

    [Fact]
    public void Messages_NoRouteAndRouteError_ReadAsBothDoorsShowThem()
    {
        Assert.Equal("No route of mesh service 'shop' matches GET /admin.", MeshRequestMessages.NoRoute("shop", "GET /admin"));
        Assert.Equal("No route of mesh service 'shop' matches '/pkg.Shop/Buy'.", MeshRequestMessages.NoRoute("shop", "'/pkg.Shop/Buy'"));
        Assert.Equal("Mesh service 'shop': route is broken", MeshRequestMessages.RouteError("shop", "route is broken"));
    }

    private static GrpcRequestView View() => new(new Metadata());

    private static ClusterRuntime Cluster(string name, int endpoints, uint maxRequests = MeshCluster.DefaultMaxRequests, string? error = null)
    {
        var config = BalancingTestData.Cluster(name, RoundRobinPolicy.Instance) with { MaxRequests = maxRequests, ErrorMessage = error };
        var states = Enumerable.Range(0, endpoints).Select(i => new EndpointState(name, Endpoint(i))).ToArray();
        LocalityRuntime[][] priorities = endpoints == 0 ? [] : [[new LocalityRuntime(LocalityName.Default, 1, states)]];
        return new ClusterRuntime(config, priorities, MeshRandom.CreateSeeded(142));
    }
}
