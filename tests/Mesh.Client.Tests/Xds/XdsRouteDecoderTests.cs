using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Xds.Internal;
using MeshHashPolicy = Mesh.Client.Model.HashPolicy;
using MeshHeaderMatch = Mesh.Client.Model.HeaderMatch;
using MeshWeightedCluster = Mesh.Client.Model.WeightedCluster;
using XdsRouteMatch = Envoy.Config.Route.V3.RouteMatch;
using XdsWeightedCluster = Envoy.Config.Route.V3.WeightedCluster;

namespace Mesh.Client.Tests.Xds;

public class XdsRouteDecoderTests
{
    private static Route ClusterRoute(XdsRouteMatch match, string cluster = "c1") => new() { Match = match, Route_ = new RouteAction { Cluster = cluster } };

    private static XdsRouteMatch Prefix(string prefix = "/") => new() { Prefix = prefix };

    private static RouteConfiguration Config(params Route[] routes)
    {
        var virtualHost = new VirtualHost { Name = "vh", Domains = { "echo", "echo:7070" } };
        virtualHost.Routes.Add(routes);
        return new RouteConfiguration { Name = "rc", VirtualHosts = { virtualHost } };
    }

    private static XdsDecodeResult Decode(RouteConfiguration config) =>
        XdsResourceDecoder.Decode(XdsTypeUrls.RouteConfiguration, Any.Pack(config));

    private static IReadOnlyList<MeshRoute> Routes(params Route[] routes)
    {
        var result = Decode(Config(routes));
        Assert.Null(result.Error);
        var update = Assert.IsType<XdsRouteConfigUpdate>(result.Update);
        return Assert.Single(update.VirtualHosts).Routes;
    }

    private static MeshRoute SingleRoute(Route route) => Assert.Single(Routes(route));

    private static string Error(RouteConfiguration config)
    {
        var result = Decode(config);
        Assert.Null(result.Update);
        Assert.Equal("rc", result.Name);
        return Assert.IsType<string>(result.Error);
    }

    private static string Error(params Route[] routes) => Error(Config(routes));

    private static XdsRouteMatch WithHeader(HeaderMatcher header)
    {
        var match = Prefix();
        match.Headers.Add(header);
        return match;
    }

    [Fact]
    public void Decode_VirtualHost_KeepsNameDomainsAndRoutes()
    {
        var route = ClusterRoute(Prefix("/echo."));
        route.Name = "default";

        var result = Decode(Config(route));

        var update = Assert.IsType<XdsRouteConfigUpdate>(result.Update);
        Assert.Equal("rc", update.Name);
        var virtualHost = Assert.Single(update.VirtualHosts);
        Assert.Equal("vh", virtualHost.Name);
        Assert.Equal(["echo", "echo:7070"], virtualHost.Domains);
        var meshRoute = Assert.Single(virtualHost.Routes);
        Assert.Equal("default", meshRoute.Name);
        Assert.Equal(new PathMatch(PathMatchKind.Prefix, "/echo."), meshRoute.Match.Path);
        Assert.Equal([new MeshWeightedCluster("c1", 1)], meshRoute.Clusters);
        Assert.Null(meshRoute.ErrorMessage);
        Assert.Null(meshRoute.Match.FractionPerMillion);
        Assert.Empty(meshRoute.Match.Headers);
        Assert.Empty(meshRoute.HashPolicies);
    }

    [Fact]
    public void Decode_NoVirtualHosts_Valid()
    {
        var update = Assert.IsType<XdsRouteConfigUpdate>(Decode(new RouteConfiguration { Name = "rc" }).Update);

        Assert.Empty(update.VirtualHosts);
    }

    [Fact]
    public void Decode_VirtualHostWithoutDomains_Error()
    {
        var config = Config(ClusterRoute(Prefix()));
        config.VirtualHosts[0].Domains.Clear();

        Assert.Equal("virtual_hosts[0].domains: must be non-empty", Error(config));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a*b")]
    public void Decode_InvalidDomainPattern_Error(string domain)
    {
        var config = Config(ClusterRoute(Prefix()));
        config.VirtualHosts[0].Domains.Add(domain);

        Assert.Equal($"virtual_hosts[0].domains[2]: invalid domain pattern \"{domain}\"", Error(config));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("*.example.com")]
    [InlineData("echo.*")]
    public void Decode_WildcardDomains_Accepted(string domain)
    {
        var config = Config(ClusterRoute(Prefix()));
        config.VirtualHosts[0].Domains.Add(domain);

        Assert.Null(Decode(config).Error);
    }

    [Fact]
    public void Decode_ExactPath_ExactMatch()
    {
        Assert.Equal(new PathMatch(PathMatchKind.Exact, "/echo.Echo/Say"), SingleRoute(ClusterRoute(new XdsRouteMatch { Path = "/echo.Echo/Say" })).Match.Path);
    }

    [Fact]
    public void Decode_SafeRegexPath_RegexMatch()
    {
        var match = new XdsRouteMatch { SafeRegex = new RegexMatcher { Regex = "/echo\\.Echo/.*" } };

        Assert.Equal(new PathMatch(PathMatchKind.Regex, "/echo\\.Echo/.*"), SingleRoute(ClusterRoute(match)).Match.Path);
    }

    [Fact]
    public void Decode_CaseSensitiveFalse_CarriedToPath()
    {
        var match = Prefix("/Echo");
        match.CaseSensitive = false;

        Assert.Equal(new PathMatch(PathMatchKind.Prefix, "/Echo", CaseSensitive: false), SingleRoute(ClusterRoute(match)).Match.Path);
    }

    [Fact]
    public void Decode_InvalidPathRegex_ErrorNamesFieldAndPattern()
    {
        var route = ClusterRoute(new XdsRouteMatch { SafeRegex = new RegexMatcher { Regex = "a(" } });

        var error = Error(ClusterRoute(Prefix()), ClusterRoute(Prefix()), route);

        Assert.StartsWith("virtual_hosts[0].routes[2].match.safe_regex: invalid regular expression \"a(\": ", error, StringComparison.Ordinal);
    }

    public static TheoryData<string> OtherPathSpecifiers => ["connect_matcher", "path_separated_prefix", "path_match_policy", "none"];

    [Theory]
    [MemberData(nameof(OtherPathSpecifiers))]
    public void Decode_OtherPathSpecifier_IsRejected(string specifier)
    {
        var match = specifier switch
        {
            "connect_matcher" => new XdsRouteMatch { ConnectMatcher = new XdsRouteMatch.Types.ConnectMatcher() },
            "path_separated_prefix" => new XdsRouteMatch { PathSeparatedPrefix = "/api" },
            "path_match_policy" => new XdsRouteMatch { PathMatchPolicy = new TypedExtensionConfig { Name = "uri_template" } },
            _ => new XdsRouteMatch(),
        };

        // gRFC A28: gRPC NACKs a route without a path specifier it supports.
        var error = Error(ClusterRoute(match, "rejected"), ClusterRoute(Prefix(), "kept"));

        Assert.StartsWith("virtual_hosts[0].routes[0].match: ", error, StringComparison.Ordinal);
        Assert.Contains(specifier == "none" ? "no path specifier" : "is not supported", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_QueryParameters_RouteLeftOut()
    {
        var match = Prefix();
        match.QueryParameters.Add(new QueryParameterMatcher { Name = "debug", PresentMatch = true });

        var routes = Routes(ClusterRoute(match, "skipped"), ClusterRoute(Prefix(), "kept"));

        Assert.Equal("kept", Assert.Single(routes).Clusters[0].Cluster);
    }

    [Fact]
    public void Decode_NoMatch_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].match: field not present", Error(new Route { Route_ = new RouteAction { Cluster = "c1" } }));
    }

    public static TheoryData<string, MeshHeaderMatch> HeaderMatchers => new()
    {
        { "exact", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Exact, Value = "v" } },
        { "prefix", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Prefix, Value = "v" } },
        { "suffix", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Suffix, Value = "v" } },
        { "contains", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Contains, Value = "v" } },
        { "safe_regex", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Regex, Value = "v+" } },
        { "range", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Range, RangeStart = 10, RangeEnd = 20 } },
        { "present", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Present, PresentMatch = true } },
        { "absent", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Present, PresentMatch = false } },
        { "inverted", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Exact, Value = "v", Invert = true } },
        { "string_exact", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Exact, Value = "v", IgnoreCase = true } },
        { "string_prefix", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Prefix, Value = "v" } },
        { "string_suffix", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Suffix, Value = "v", IgnoreCase = true } },
        { "string_contains", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Contains, Value = "v" } },
        { "string_safe_regex", new MeshHeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Regex, Value = "v+" } },
    };

    [Theory]
    [MemberData(nameof(HeaderMatchers))]
    public void Decode_HeaderMatcher_MapsToHeaderMatch(string kind, MeshHeaderMatch expected)
    {
        var header = new HeaderMatcher { Name = "x-track" };
        switch (kind)
        {
            case "exact": header.ExactMatch = "v"; break;
            case "prefix": header.PrefixMatch = "v"; break;
            case "suffix": header.SuffixMatch = "v"; break;
            case "contains": header.ContainsMatch = "v"; break;
            case "safe_regex": header.SafeRegexMatch = new RegexMatcher { Regex = "v+" }; break;
            case "range": header.RangeMatch = new Int64Range { Start = 10, End = 20 }; break;
            case "present": header.PresentMatch = true; break;
            case "absent": header.PresentMatch = false; break;
            case "inverted": header.ExactMatch = "v"; header.InvertMatch = true; break;
            case "string_exact": header.StringMatch = new StringMatcher { Exact = "v", IgnoreCase = true }; break;
            case "string_prefix": header.StringMatch = new StringMatcher { Prefix = "v" }; break;
            case "string_suffix": header.StringMatch = new StringMatcher { Suffix = "v", IgnoreCase = true }; break;
            case "string_contains": header.StringMatch = new StringMatcher { Contains = "v" }; break;
            case "string_safe_regex": header.StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "v+" } }; break;
        }

        var route = SingleRoute(ClusterRoute(WithHeader(header)));

        Assert.Equal(expected, Assert.Single(route.Match.Headers));
    }

    [Fact]
    public void Decode_BinaryHeaderName_Allowed()
    {
        var route = SingleRoute(ClusterRoute(WithHeader(new HeaderMatcher { Name = "x-trace-bin", PresentMatch = true })));

        Assert.Equal("x-trace-bin", Assert.Single(route.Match.Headers).Name);
    }

    [Fact]
    public void Decode_RangeStartAfterEnd_Error()
    {
        var header = new HeaderMatcher { Name = "x-n", RangeMatch = new Int64Range { Start = 20, End = 10 } };

        Assert.Equal("virtual_hosts[0].routes[0].match.headers[0].range_match: start (20) must not be greater than end (10)", Error(ClusterRoute(WithHeader(header))));
    }

    [Fact]
    public void Decode_EmptyRange_Accepted()
    {
        var header = new HeaderMatcher { Name = "x-n", RangeMatch = new Int64Range { Start = 10, End = 10 } };

        Assert.Equal(HeaderMatchKind.Range, Assert.Single(SingleRoute(ClusterRoute(WithHeader(header))).Match.Headers).Kind);
    }

    [Fact]
    public void Decode_InvalidHeaderRegex_Error()
    {
        var header = new HeaderMatcher { Name = "x-n", SafeRegexMatch = new RegexMatcher { Regex = "[z-a]" } };

        Assert.StartsWith("virtual_hosts[0].routes[0].match.headers[0].safe_regex_match: invalid regular expression \"[z-a]\": ", Error(ClusterRoute(WithHeader(header))), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_InvalidStringMatchRegex_Error()
    {
        var header = new HeaderMatcher { Name = "x-n", StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "(" } } };

        Assert.StartsWith("virtual_hosts[0].routes[0].match.headers[0].string_match.safe_regex: invalid regular expression \"(\": ", Error(ClusterRoute(WithHeader(header))), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HeaderWithoutSpecifier_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].match.headers[0]: no header match specifier set", Error(ClusterRoute(WithHeader(new HeaderMatcher { Name = "x-n" }))));
    }

    [Fact]
    public void Decode_StringMatchWithoutPattern_Error()
    {
        var header = new HeaderMatcher { Name = "x-n", StringMatch = new StringMatcher { IgnoreCase = true } };

        Assert.Equal(
            "virtual_hosts[0].routes[0].match.headers[0].string_match: no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)",
            Error(ClusterRoute(WithHeader(header))));
    }

    [Fact]
    public void Decode_HeaderWithoutName_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].match.headers[0].name: must be non-empty", Error(ClusterRoute(WithHeader(new HeaderMatcher { ExactMatch = "v" }))));
    }

    [Theory]
    [InlineData((int)FractionalPercent.Types.DenominatorType.Hundred, 25u, 250_000u)]
    [InlineData((int)FractionalPercent.Types.DenominatorType.TenThousand, 25u, 2_500u)]
    [InlineData((int)FractionalPercent.Types.DenominatorType.Million, 25u, 25u)]
    [InlineData((int)FractionalPercent.Types.DenominatorType.Hundred, 150u, 1_000_000u)]
    [InlineData((int)FractionalPercent.Types.DenominatorType.Million, 4_000_000_000u, 1_000_000u)]
    public void Decode_RuntimeFraction_ConvertedToPerMillion(int denominator, uint numerator, uint expected)
    {
        var match = Prefix();
        match.RuntimeFraction = new RuntimeFractionalPercent
        {
            DefaultValue = new FractionalPercent { Numerator = numerator, Denominator = (FractionalPercent.Types.DenominatorType)denominator },
            RuntimeKey = "ignored",
        };

        Assert.Equal(expected, SingleRoute(ClusterRoute(match)).Match.FractionPerMillion);
    }

    [Fact]
    public void Decode_RuntimeFractionUnknownDenominator_Error()
    {
        var match = Prefix();
        match.RuntimeFraction = new RuntimeFractionalPercent { DefaultValue = new FractionalPercent { Numerator = 1, Denominator = (FractionalPercent.Types.DenominatorType)7 } };

        Assert.Equal("virtual_hosts[0].routes[0].match.runtime_fraction.default_value.denominator: unknown denominator 7", Error(ClusterRoute(match)));
    }

    public static TheoryData<string> UnsupportedActions => ["redirect", "direct_response", "filter_action", "non_forwarding_action"];

    [Theory]
    [MemberData(nameof(UnsupportedActions))]
    public void Decode_ActionAClientCannotCarryOut_KeptWithErrorMessage(string kind)
    {
        var route = new Route { Name = "odd", Match = Prefix() };
        switch (kind)
        {
            case "redirect": route.Redirect = new RedirectAction(); break;
            case "direct_response": route.DirectResponse = new DirectResponseAction { Status = 404 }; break;
            case "filter_action": route.FilterAction = new FilterAction(); break;
            default: route.NonForwardingAction = new NonForwardingAction(); break;
        }

        var meshRoute = SingleRoute(route);

        Assert.Empty(meshRoute.Clusters);
        Assert.Equal($"route 'odd' has a {kind} action, which a client cannot carry out", meshRoute.ErrorMessage);
    }

    [Fact]
    public void Decode_UnnamedRouteWithUnsupportedAction_MessageNamesItsPath()
    {
        var meshRoute = SingleRoute(new Route { Match = Prefix(), Redirect = new RedirectAction() });

        Assert.Equal("route 'virtual_hosts[0].routes[0]' has a redirect action, which a client cannot carry out", meshRoute.ErrorMessage);
    }

    [Fact]
    public void Decode_NoAction_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0]: no action set (expected route, redirect, direct_response, filter_action or non_forwarding_action)",
            Error(new Route { Match = Prefix() }));
    }

    [Fact]
    public void Decode_EmptyClusterName_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].route.cluster: must be non-empty", Error(ClusterRoute(Prefix(), "")));
    }

    private static Route WeightedRoute(params (string Name, uint? Weight)[] clusters)
    {
        var weighted = new XdsWeightedCluster();
        foreach (var (name, weight) in clusters)
        {
            weighted.Clusters.Add(new XdsWeightedCluster.Types.ClusterWeight { Name = name, Weight = weight });
        }

        return new Route { Match = Prefix(), Route_ = new RouteAction { WeightedClusters = weighted } };
    }

    [Fact]
    public void Decode_WeightedClusters_ZeroWeightsDropped()
    {
        var route = SingleRoute(WeightedRoute(("a", 70), ("b", 0), ("c", 30)));

        Assert.Equal([new MeshWeightedCluster("a", 70), new MeshWeightedCluster("c", 30)], route.Clusters);
    }

    [Fact]
    public void Decode_WeightedClustersAllZero_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].route.weighted_clusters: the sum of the weights must be above 0", Error(WeightedRoute(("a", 0), ("b", 0))));
    }

    [Fact]
    public void Decode_WeightedClustersEmpty_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].route.weighted_clusters: the sum of the weights must be above 0", Error(WeightedRoute()));
    }

    [Fact]
    public void Decode_WeightedClustersSumAboveUInt32_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].route.weighted_clusters: the sum of the weights (4294967296) must not exceed 4294967295",
            Error(WeightedRoute(("a", uint.MaxValue), ("b", 1))));
    }

    [Fact]
    public void Decode_WeightedClusterWithoutName_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name: must be non-empty", Error(WeightedRoute(("a", 1), ("", 1))));
    }

    [Fact]
    public void Decode_WeightedClusterWithoutWeight_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].weight: field not present", Error(WeightedRoute(("a", null))));
    }

    [Fact]
    public void Decode_ClusterHeader_KeptWithErrorMessage()
    {
        var route = SingleRoute(new Route { Match = Prefix(), Route_ = new RouteAction { ClusterHeader = "x-cluster" } });

        Assert.Empty(route.Clusters);
        Assert.Equal("cluster_header is not supported yet", route.ErrorMessage);
    }

    [Fact]
    public void Decode_ClusterSpecifierPlugin_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].route.cluster_specifier_plugin: cluster specifier plugins are not supported (found \"rls\")",
            Error(new Route { Match = Prefix(), Route_ = new RouteAction { ClusterSpecifierPlugin = "rls" } }));
    }

    [Fact]
    public void Decode_RouteActionWithoutClusterSpecifier_RouteLeftOut()
    {
        var routes = Routes(new Route { Match = Prefix(), Route_ = new RouteAction() }, ClusterRoute(Prefix(), "kept"));

        Assert.Equal("kept", Assert.Single(routes).Clusters[0].Cluster);
    }

    [Fact]
    public void Decode_HashPolicies_HeaderAndChannelIdKeptOthersIgnored()
    {
        var action = new RouteAction { Cluster = "c1" };
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { Cookie = new RouteAction.Types.HashPolicy.Types.Cookie { Name = "session" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { Header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = "x-user" }, Terminal = true });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { ConnectionProperties = new RouteAction.Types.HashPolicy.Types.ConnectionProperties { SourceIp = true } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { QueryParameter = new RouteAction.Types.HashPolicy.Types.QueryParameter { Name = "q" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { FilterState = new RouteAction.Types.HashPolicy.Types.FilterState { Key = "other" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { FilterState = new RouteAction.Types.HashPolicy.Types.FilterState { Key = "io.grpc.channel_id" } });

        var route = SingleRoute(new Route { Match = Prefix(), Route_ = action });

        Assert.Equal([new MeshHashPolicy(HashPolicyKind.Header, "x-user", Terminal: true), new MeshHashPolicy(HashPolicyKind.ChannelId)], route.HashPolicies);
    }

    [Fact]
    public void Decode_HashPolicyRegexRewriteValid_HeaderKept()
    {
        var header = new RouteAction.Types.HashPolicy.Types.Header
        {
            HeaderName = "x-user",
            RegexRewrite = new RegexMatchAndSubstitute { Pattern = new RegexMatcher { Regex = "^(.*)-.*$" }, Substitution = "\\1" },
        };
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Header = header } } };

        Assert.Equal([new MeshHashPolicy(HashPolicyKind.Header, "x-user")], SingleRoute(new Route { Match = Prefix(), Route_ = action }).HashPolicies);
    }

    [Fact]
    public void Decode_HashPolicyRegexRewriteInvalid_Error()
    {
        var header = new RouteAction.Types.HashPolicy.Types.Header
        {
            HeaderName = "x-user",
            RegexRewrite = new RegexMatchAndSubstitute { Pattern = new RegexMatcher { Regex = "a(" } },
        };
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Header = header } } };

        Assert.StartsWith(
            "virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.pattern.regex: invalid regular expression \"a(\": ",
            Error(new Route { Match = Prefix(), Route_ = action }),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HashPolicyRegexRewriteWithoutPattern_Error()
    {
        var header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = "x-user", RegexRewrite = new RegexMatchAndSubstitute() };
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Header = header } } };

        Assert.Equal("virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.pattern: field not present", Error(new Route { Match = Prefix(), Route_ = action }));
    }

    [Fact]
    public void Decode_HashPolicyHeaderWithoutName_Error()
    {
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Header = new RouteAction.Types.HashPolicy.Types.Header() } } };

        Assert.Equal("virtual_hosts[0].routes[0].route.hash_policy[0].header.header_name: must be non-empty", Error(new Route { Match = Prefix(), Route_ = action }));
    }

    [Fact]
    public void Decode_SeveralProblems_AllReported()
    {
        var error = Error(ClusterRoute(Prefix(), ""), new Route { Match = Prefix() });

        Assert.Equal(
            "virtual_hosts[0].routes[0].route.cluster: must be non-empty; "
            + "virtual_hosts[0].routes[1]: no action set (expected route, redirect, direct_response, filter_action or non_forwarding_action)",
            error);
    }
}
