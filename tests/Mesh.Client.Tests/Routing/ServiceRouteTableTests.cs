using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.Routing.HeaderMatcherTests;

namespace Mesh.Client.Tests.Routing;

public class ServiceRouteTableTests
{
    [Theory]
    [InlineData("/api/v1/orders", "canary", 0)]
    [InlineData("/api/v1/orders", "stable", 1)]
    [InlineData("/api/v2/orders", "canary", 2)]
    [InlineData("/web", "canary", 3)]
    public void MatchIndex_SeveralRoutesMatch_FirstWins(string path, string track, int expected)
    {
        var table = Table(
            Route("/api/v1", ("x-track", "canary")),
            Route("/api/v1"),
            Route("/api"),
            Route(""));

        Assert.Equal(expected, table.MatchIndex(path, Request(("x-track", track))));
        Assert.Same(table.Routes[expected], table.Match(path, Request(("x-track", track))));
    }

    [Fact]
    public void MatchIndex_BroadRouteFirst_ShadowsLaterSpecificRoute()
    {
        // Envoy and gRFC A28 take the first match, not the most specific one.
        var table = Table(Route("/pkg.Service"), Route("/pkg.Service/Method"));

        Assert.Equal(0, table.MatchIndex("/pkg.Service/Method", Request()));
    }

    [Fact]
    public void Match_NoRouteMatches_NullAndMinusOne()
    {
        var table = Table(Route("/api"), Route("/admin", ("x-role", "admin")));

        Assert.Equal(-1, table.MatchIndex("/admin", Request(("x-role", "user"))));
        Assert.Null(table.Match("/web", Request()));
    }

    [Fact]
    public void Match_NoRoutes_Null()
    {
        var table = Table();

        Assert.Null(table.Match("/", Request()));
        Assert.Equal(-1, table.MatchIndex("/", Request()));
    }

    private static ServiceRouteTable Table(params MeshRoute[] routes) => new(
        new MeshService { Name = "svc", Routes = routes },
        [.. routes.Select(r => new CompiledRoute(r, [.. r.Clusters.Select(c => BalancingTestData.EmptyCluster(c.Cluster))]))]);

    private static MeshRoute Route(string prefix, params (string Name, string Value)[] headers) => new()
    {
        Name = prefix,
        Match = new RouteMatch
        {
            Path = new PathMatch(PathMatchKind.Prefix, prefix),
            Headers = [.. headers.Select(h => new HeaderMatch { Name = h.Name, Kind = HeaderMatchKind.Exact, Value = h.Value })],
        },
        Clusters = [new WeightedCluster("cluster-" + prefix)],
    };
}
