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

public class ServiceRouteTableIndexTests
{
    private static Mesh.Client.Routing.Internal.ServiceRouteTable Table(params Mesh.Client.Model.PathMatch[] paths)
    {
        var routes = paths.Select((p, i) => new Mesh.Client.Model.MeshRoute
        {
            Name = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Match = new Mesh.Client.Model.RouteMatch { Path = p },
            Clusters = [new Mesh.Client.Model.WeightedCluster("c")],
        }).ToArray();
        return new Mesh.Client.Routing.Internal.ServiceRouteTable(
            new Mesh.Client.Model.MeshService { Name = "s", Routes = routes },
            [.. routes.Select(r => new Mesh.Client.Routing.Internal.CompiledRoute(r, []))]);
    }

    private static int Match(Mesh.Client.Routing.Internal.ServiceRouteTable table, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://s" + path);
        return table.MatchIndex(path, request);
    }

    [Theory]
    [InlineData("/api/v1/items", 0)]
    [InlineData("/api/v2/items", 1)]    // "/ap" matches any path and comes before the regex
    [InlineData("/apix/1", 1)]
    [InlineData("/api", 1)]
    [InlineData("/orders/7", 3)]
    [InlineData("/ORDERS/7", 4)]        // case-insensitive route, tried for every path
    [InlineData("/health", 5)]
    [InlineData("/health/deep", 6)]
    [InlineData("/other", 6)]
    [InlineData("/api/v1/x/deeper/still", 0)]
    public void MatchIndex_KeepsTableOrderAcrossIndexedAndUnindexedRoutes(string path, int expected)
    {
        var table = Table(
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/api/v1/"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/ap"),
            new(Mesh.Client.Model.PathMatchKind.Regex, "/api/v[0-9]+/.*"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/orders/"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/orders/", CaseSensitive: false),
            new(Mesh.Client.Model.PathMatchKind.Exact, "/health"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/"));

        Assert.Equal(expected, Match(table, path));
    }

    [Fact]
    public void MatchIndex_DeepPrefixesAndExactPaths_OrderIsTheTables()
    {
        var table = Table(
            new(Mesh.Client.Model.PathMatchKind.Exact, "/a/b/c"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/a/"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/a/b/"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/a/b/c/d/"));

        Assert.Equal(0, Match(table, "/a/b/c"));
        Assert.Equal(1, Match(table, "/a/b/c/d/e"));   // "/a/" comes before the deeper prefixes
        Assert.Equal(1, Match(table, "/a/x"));
        Assert.Equal(-1, Match(table, "/b"));
    }

    [Fact]
    public void MatchIndex_PrefixWithoutTrailingSlash_StillMatchesLongerSegments()
    {
        var table = Table(new(Mesh.Client.Model.PathMatchKind.Prefix, "/api"), new(Mesh.Client.Model.PathMatchKind.Prefix, "/apix/"));

        Assert.Equal(0, Match(table, "/apix/1"));
        Assert.Equal(-1, Match(table, "/other"));
    }

    [Theory]
    [InlineData("/api/v2/orders/[0-9]+", "/api/v2/orders/")]
    [InlineData("/api/v2/orders?/x", "/api/v2/order")]        // the '?' makes the 's' optional
    [InlineData("/api/v2/x*", "/api/v2/")]
    [InlineData("/api/v2/x{0,3}", "/api/v2/")]
    [InlineData("/api/v2/x+", "/api/v2/x")]
    [InlineData("/a/(b|c)/d", "/a/")]                         // alternation inside a group keeps the prefix
    [InlineData("/a/b|/c/d", "")]                             // top-level alternation: nothing is common
    [InlineData("/a/[|]/b|/c", "")]
    [InlineData("/a/[|]/b", "/a/")]                           // '|' inside a class is a member, not alternation
    [InlineData("/a/\\(x|y)", "")]                            // an escaped paren opens no group: the '|' is top-level
    [InlineData("(?i)/api/", "")]
    [InlineData(".*", "")]
    [InlineData("/a/b.c", "/a/b")]
    public void RegexLiteralPrefix_IsTextEveryMatchBeginsWith(string pattern, string expected)
    {
        var prefix = Mesh.Client.Routing.Internal.ServiceRouteTable.RegexLiteralPrefix(pattern);

        Assert.Equal(expected, prefix);
    }

    [Fact]
    public void MatchIndex_RegexRoutesPinnedByTheirLiteralPrefix_KeepTableOrder()
    {
        var table = Table(
            new(Mesh.Client.Model.PathMatchKind.Regex, "/api/v2/orders/[0-9]+"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/api/"),
            new(Mesh.Client.Model.PathMatchKind.Regex, "/api/v2/users/[a-z]+"),
            new(Mesh.Client.Model.PathMatchKind.Regex, "/x/a|/api/v2/users/zz"),
            new(Mesh.Client.Model.PathMatchKind.Regex, "/api/v3/items?/[0-9]+"));

        Assert.Equal(0, Match(table, "/api/v2/orders/17"));
        Assert.Equal(1, Match(table, "/api/v2/orders/x"));
        Assert.Equal(1, Match(table, "/api/v2/users/bob"));     // the prefix route comes first
        Assert.Equal(3, Match(table, "/x/a"));

        var optional = Table(
            new(Mesh.Client.Model.PathMatchKind.Regex, "/api/v3/items?/[0-9]+"),
            new(Mesh.Client.Model.PathMatchKind.Prefix, "/"));
        Assert.Equal(0, Match(optional, "/api/v3/item/5"));     // pinned by "api", "v3" only
        Assert.Equal(0, Match(optional, "/api/v3/items/5"));
        Assert.Equal(1, Match(optional, "/api/v3/itemz/5"));
    }
}
