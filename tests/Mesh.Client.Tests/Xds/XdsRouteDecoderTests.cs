using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
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
    public void Decode_QueryParameters_RouteKeptWithItsConditions()
    {
        var match = Prefix();
        match.QueryParameters.Add(new QueryParameterMatcher { Name = "debug", PresentMatch = true });

        var routes = Routes(ClusterRoute(match, "debug"), ClusterRoute(Prefix(), "kept"));

        Assert.Equal(2, routes.Count);
        Assert.Equal("debug", routes[0].Clusters[0].Cluster);
        Assert.Equal([new QueryParameterMatch { Name = "debug", Kind = HeaderMatchKind.Present }], routes[0].Match.QueryParameters);
        Assert.Empty(routes[1].Match.QueryParameters);
    }

    [Fact]
    public void Decode_NoMatch_Error()
    {
        Assert.Equal("virtual_hosts[0].routes[0].match: field not present", Error(new Route { Route_ = new RouteAction { Cluster = "c1" } }));
    }

    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<string, object> HeaderMatchers => new()
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
    public void Decode_HeaderMatcher_MapsToHeaderMatch(string kind, object expectedValue)
    {
        var expected = (MeshHeaderMatch)expectedValue;
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
    public void Decode_ClusterHeader_HeaderNamesTheCluster()
    {
        var route = SingleRoute(new Route { Match = Prefix(), Route_ = new RouteAction { ClusterHeader = "x-cluster" } });

        Assert.Empty(route.Clusters);
        Assert.Equal("x-cluster", route.ClusterHeader);
        Assert.Null(route.ErrorMessage);
    }

    [Theory]
    [InlineData("", "must be non-empty")]
    [InlineData("x-clu\nster", "invalid header name \"x-clu ster\" (NUL, CR and LF are not allowed)")]
    [InlineData("x-\0", "invalid header name \"x- \" (NUL, CR and LF are not allowed)")]
    public void Decode_ClusterHeaderInvalid_Error(string header, string message)
    {
        Assert.Equal(
            $"virtual_hosts[0].routes[0].route.cluster_header: {message}",
            Error(new Route { Match = Prefix(), Route_ = new RouteAction { ClusterHeader = header } }));
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
    public void Decode_HashPolicies_HeaderCookieAndChannelIdKeptOthersIgnored()
    {
        var action = new RouteAction { Cluster = "c1" };
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { Cookie = new RouteAction.Types.HashPolicy.Types.Cookie { Name = "session" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { Header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = "x-user" }, Terminal = true });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { ConnectionProperties = new RouteAction.Types.HashPolicy.Types.ConnectionProperties { SourceIp = true } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { QueryParameter = new RouteAction.Types.HashPolicy.Types.QueryParameter { Name = "q" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { FilterState = new RouteAction.Types.HashPolicy.Types.FilterState { Key = "other" } });
        action.HashPolicy.Add(new RouteAction.Types.HashPolicy { FilterState = new RouteAction.Types.HashPolicy.Types.FilterState { Key = "io.grpc.channel_id" } });

        var route = SingleRoute(new Route { Match = Prefix(), Route_ = action });

        Assert.Equal(
            [
                new MeshHashPolicy(HashPolicyKind.Cookie, "session"),
                new MeshHashPolicy(HashPolicyKind.Header, "x-user", Terminal: true),
                new MeshHashPolicy(HashPolicyKind.ChannelId),
            ],
            route.HashPolicies);
    }

    [Fact]
    public void Decode_CookieHashPolicy_NameAndTerminalKeptTtlIgnored()
    {
        var cookie = new RouteAction.Types.HashPolicy.Types.Cookie { Name = "session", Ttl = new Duration { Seconds = 60 }, Path = "/" };
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Cookie = cookie, Terminal = true } } };

        Assert.Equal([new MeshHashPolicy(HashPolicyKind.Cookie, "session", Terminal: true)], SingleRoute(new Route { Match = Prefix(), Route_ = action }).HashPolicies);
    }

    [Fact]
    public void Decode_CookieHashPolicyWithoutName_Error()
    {
        var action = new RouteAction { Cluster = "c1", HashPolicy = { new RouteAction.Types.HashPolicy { Cookie = new RouteAction.Types.HashPolicy.Types.Cookie() } } };

        Assert.Equal("virtual_hosts[0].routes[0].route.hash_policy[0].cookie.name: must be non-empty", Error(new Route { Match = Prefix(), Route_ = action }));
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

    // ---- Query parameters (Envoy; HttpClient requests only) ----

    private static XdsRouteMatch WithQuery(QueryParameterMatcher query)
    {
        var match = Prefix();
        match.QueryParameters.Add(query);
        return match;
    }

    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<string, object> QueryStringMatchers => new()
    {
        { "exact", new QueryParameterMatch { Name = "v", Kind = HeaderMatchKind.Exact, Value = "2" } },
        { "prefix", new QueryParameterMatch { Name = "v", Kind = HeaderMatchKind.Prefix, Value = "2" } },
        { "suffix", new QueryParameterMatch { Name = "v", Kind = HeaderMatchKind.Suffix, Value = "2", IgnoreCase = true } },
        { "contains", new QueryParameterMatch { Name = "v", Kind = HeaderMatchKind.Contains, Value = "2" } },
        { "safe_regex", new QueryParameterMatch { Name = "v", Kind = HeaderMatchKind.Regex, Value = "[0-9]+", IgnoreCase = true } },
    };

    [Theory]
    [MemberData(nameof(QueryStringMatchers))]
    public void Decode_QueryParameterStringMatch_Mapped(string kind, object expectedValue)
    {
        var expected = (QueryParameterMatch)expectedValue;
        var matcher = kind switch
        {
            "exact" => new StringMatcher { Exact = expected.Value },
            "prefix" => new StringMatcher { Prefix = expected.Value },
            "suffix" => new StringMatcher { Suffix = expected.Value },
            "contains" => new StringMatcher { Contains = expected.Value },
            _ => new StringMatcher { SafeRegex = new RegexMatcher { Regex = expected.Value } },
        };
        matcher.IgnoreCase = expected.IgnoreCase;

        var route = SingleRoute(ClusterRoute(WithQuery(new QueryParameterMatcher { Name = "v", StringMatch = matcher })));

        Assert.Equal([expected], route.Match.QueryParameters);
    }

    [Fact]
    public void Decode_QueryParameterWithoutSpecifier_PresenceCheck()
    {
        var route = SingleRoute(ClusterRoute(WithQuery(new QueryParameterMatcher { Name = "debug" })));

        Assert.Equal([new QueryParameterMatch { Name = "debug", Kind = HeaderMatchKind.Present }], route.Match.QueryParameters);
    }

    [Fact]
    public void Decode_QueryParameterPresentMatchFalse_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].match.query_parameters[0].present_match: false (the parameter must be absent) is not supported; only presence can be required",
            Error(ClusterRoute(WithQuery(new QueryParameterMatcher { Name = "debug", PresentMatch = false }))));
    }

    [Fact]
    public void Decode_QueryParameterWithoutName_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].match.query_parameters[0].name: must be non-empty",
            Error(ClusterRoute(WithQuery(new QueryParameterMatcher { PresentMatch = true }))));
    }

    [Fact]
    public void Decode_QueryParameterInvalidRegex_Error()
    {
        var query = new QueryParameterMatcher { Name = "v", StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "a(" } } };

        Assert.StartsWith(
            "virtual_hosts[0].routes[0].match.query_parameters[0].string_match.safe_regex: invalid regular expression \"a(\": ",
            Error(ClusterRoute(WithQuery(query))),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_QueryParameterStringMatchWithoutPattern_Error()
    {
        var query = new QueryParameterMatcher { Name = "v", StringMatch = new StringMatcher { IgnoreCase = true } };

        Assert.Equal(
            "virtual_hosts[0].routes[0].match.query_parameters[0].string_match: no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)",
            Error(ClusterRoute(WithQuery(query))));
    }

    // ---- Timeouts (gRFC A31; Envoy's route timeout for HttpClient) ----

    private static Route WithAction(Action<RouteAction> configure)
    {
        var route = ClusterRoute(Prefix());
        configure(route.Route_);
        return route;
    }

    private static (MeshRoute Route, XdsRouteExtras? Extras) RouteWithExtras(Route route, RouteConfiguration? config = null)
    {
        var result = Decode(config ?? Config(route));
        Assert.Null(result.Error);
        var virtualHost = Assert.Single(Assert.IsType<XdsRouteConfigUpdate>(result.Update).VirtualHosts);
        var meshRoute = Assert.Single(virtualHost.Routes);
        return (meshRoute, virtualHost.RouteExtras.GetValueOrDefault(meshRoute));
    }

    [Fact]
    public void Decode_NoTimeouts_AllNullAndConnectionManagerDurationApplies()
    {
        var (route, extras) = RouteWithExtras(ClusterRoute(Prefix()));

        Assert.Null(route.Timeout);
        Assert.Null(route.MaxStreamDuration);
        Assert.Null(route.GrpcTimeoutHeaderMax);
        Assert.Null(route.Retry);
        Assert.Null(route.Fault);
        Assert.Null(route.ClusterHeader);
        Assert.Null(extras);
    }

    [Theory]
    [InlineData(5, 0, 5.0)]
    [InlineData(0, 250_000_000, 0.25)]
    [InlineData(0, 0, null)]
    public void Decode_RouteTimeout_MappedZeroMeansNone(long seconds, int nanos, double? expectedSeconds)
    {
        var route = SingleRoute(WithAction(a => a.Timeout = new Duration { Seconds = seconds, Nanos = nanos }));

        Assert.Equal(expectedSeconds is { } s ? TimeSpan.FromSeconds(s) : null, route.Timeout);
    }

    [Fact]
    public void Decode_NegativeRouteTimeout_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].route.timeout.seconds: must be between 0 and 315576000000, found -1",
            Error(WithAction(a => a.Timeout = new Duration { Seconds = -1 })));
    }

    [Fact]
    public void Decode_MaxStreamDuration_MappedAndMarkedAsSetByTheRoute()
    {
        var (route, extras) = RouteWithExtras(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = new Duration { Seconds = 3 } }));

        Assert.Equal(TimeSpan.FromSeconds(3), route.MaxStreamDuration);
        Assert.Null(route.GrpcTimeoutHeaderMax);
        Assert.True(extras?.SetsMaxStreamDuration);
    }

    [Fact]
    public void Decode_MaxStreamDurationZero_NoLimitButStillSetByTheRoute()
    {
        var (route, extras) = RouteWithExtras(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = new Duration() }));

        Assert.Null(route.MaxStreamDuration);
        Assert.True(extras?.SetsMaxStreamDuration);
    }

    [Fact]
    public void Decode_GrpcTimeoutHeaderMax_ReplacesMaxStreamDuration()
    {
        var (route, extras) = RouteWithExtras(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration
        {
            MaxStreamDuration_ = new Duration { Seconds = 3 },
            GrpcTimeoutHeaderMax = new Duration { Seconds = 2 },
            GrpcTimeoutHeaderOffset = new Duration { Seconds = 1 },
        }));

        Assert.Equal(TimeSpan.FromSeconds(2), route.GrpcTimeoutHeaderMax);
        Assert.Null(route.MaxStreamDuration);
        Assert.True(extras?.SetsMaxStreamDuration);
    }

    [Fact]
    public void Decode_GrpcTimeoutHeaderMaxZero_NoLimitAtAll()
    {
        var (route, extras) = RouteWithExtras(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration
        {
            MaxStreamDuration_ = new Duration { Seconds = 3 },
            GrpcTimeoutHeaderMax = new Duration(),
        }));

        Assert.Null(route.GrpcTimeoutHeaderMax);
        Assert.Null(route.MaxStreamDuration);
        Assert.True(extras?.SetsMaxStreamDuration);
    }

    [Fact]
    public void Decode_MaxStreamDurationMessageWithoutDurations_ConnectionManagerDurationApplies()
    {
        var (route, extras) = RouteWithExtras(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { GrpcTimeoutHeaderOffset = new Duration { Seconds = 1 } }));

        Assert.Null(route.MaxStreamDuration);
        Assert.Null(extras);
    }

    [Theory]
    [InlineData("max_stream_duration")]
    [InlineData("grpc_timeout_header_max")]
    public void Decode_NegativeStreamDuration_Error(string field)
    {
        var durations = new RouteAction.Types.MaxStreamDuration();
        if (field == "max_stream_duration")
        {
            durations.MaxStreamDuration_ = new Duration { Seconds = -1 };
        }
        else
        {
            durations.GrpcTimeoutHeaderMax = new Duration { Seconds = -1 };
        }

        Assert.Equal(
            $"virtual_hosts[0].routes[0].route.max_stream_duration.{field}.seconds: must be between 0 and 315576000000, found -1",
            Error(WithAction(a => a.MaxStreamDuration = durations)));
    }

    [Fact]
    public void Decode_StreamDurationWithInvalidNanos_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].route.max_stream_duration.max_stream_duration.nanos: must be between 0 and 999999999, found -5",
            Error(WithAction(a => a.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = new Duration { Nanos = -5 } })));
    }

    // ---- Retries (gRFC A44; Envoy's HTTP conditions) ----

    private static Envoy.Config.Route.V3.RetryPolicy Retry(string retryOn, uint? numRetries = null) =>
        new() { RetryOn = retryOn, NumRetries = numRetries };

    [Fact]
    public void Decode_RetryPolicy_EveryFieldMapped()
    {
        var policy = Retry("5xx, gateway-error,reset,connect-failure,retriable-status-codes,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable", 3);
        policy.RetryBackOff = new Envoy.Config.Route.V3.RetryPolicy.Types.RetryBackOff { BaseInterval = new Duration { Nanos = 10_000_000 }, MaxInterval = new Duration { Nanos = 50_000_000 } };
        policy.PerTryTimeout = new Duration { Seconds = 2 };
        policy.RetriableStatusCodes.Add([503, 429]);

        var retry = SingleRoute(WithAction(a => a.RetryPolicy = policy)).Retry;

        Assert.NotNull(retry);
        Assert.Equal(
            RetryOn.Http5xx | RetryOn.GatewayError | RetryOn.Reset | RetryOn.ConnectFailure | RetryOn.RetriableStatusCodes
            | RetryOn.Cancelled | RetryOn.DeadlineExceeded | RetryOn.Internal | RetryOn.ResourceExhausted | RetryOn.Unavailable,
            retry.RetryOn);
        Assert.Equal(3, retry.NumRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(10), retry.BaseInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(50), retry.MaxInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), retry.PerTryTimeout);
        Assert.Equal([503, 429], retry.RetriableStatusCodes);
        Assert.False(retry.RetryNonIdempotent);
    }

    [Fact]
    public void Decode_RetryPolicyDefaults_OneRetry25MsBackOffTenTimesMax()
    {
        var retry = SingleRoute(WithAction(a => a.RetryPolicy = Retry("unavailable"))).Retry;

        Assert.NotNull(retry);
        Assert.Equal(RetryOn.Unavailable, retry.RetryOn);
        Assert.Equal(1, retry.NumRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(25), retry.BaseInterval);
        Assert.Null(retry.MaxInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), retry.EffectiveMaxInterval);
        Assert.Null(retry.PerTryTimeout);
        Assert.Empty(retry.RetriableStatusCodes);
    }

    [Fact]
    public void Decode_RetryBackOffWithoutMax_TenTimesBase()
    {
        var policy = Retry("unavailable");
        policy.RetryBackOff = new Envoy.Config.Route.V3.RetryPolicy.Types.RetryBackOff { BaseInterval = new Duration { Nanos = 40_000_000 } };

        var retry = SingleRoute(WithAction(a => a.RetryPolicy = policy)).Retry!;

        Assert.Equal(TimeSpan.FromMilliseconds(40), retry.BaseInterval);
        Assert.Null(retry.MaxInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(400), retry.EffectiveMaxInterval);
    }

    [Fact]
    public void Decode_RetryOnUnknownConditions_IgnoredAndStatusCodesOutsideHttpDropped()
    {
        var policy = Retry("refused-stream,unavailable,retriable-4xx,,bogus");
        policy.RetriableStatusCodes.Add([503, 42, 1000]);

        var retry = SingleRoute(WithAction(a => a.RetryPolicy = policy)).Retry!;

        Assert.Equal(RetryOn.Unavailable, retry.RetryOn);
        Assert.Equal([503], retry.RetriableStatusCodes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("refused-stream,retriable-4xx")]
    public void Decode_RetryOnNothingSupported_NoRetryPolicy(string retryOn)
    {
        Assert.Null(SingleRoute(WithAction(a => a.RetryPolicy = Retry(retryOn))).Retry);
    }

    [Fact]
    public void Decode_VirtualHostRetryPolicy_AppliesToRoutesWithoutOne()
    {
        var own = WithAction(a => a.RetryPolicy = Retry("cancelled", 4));
        var unsupported = WithAction(a => a.RetryPolicy = Retry("retriable-4xx"));
        var inherits = ClusterRoute(Prefix());
        var redirect = new Route { Match = Prefix(), Redirect = new RedirectAction() };
        var config = Config(own, unsupported, inherits, redirect);
        config.VirtualHosts[0].RetryPolicy = Retry("unavailable", 2);

        var routes = Assert.Single(Assert.IsType<XdsRouteConfigUpdate>(Decode(config).Update).VirtualHosts).Routes;

        Assert.Equal<(RetryOn?, int?)>((RetryOn.Cancelled, 4), (routes[0].Retry?.RetryOn, routes[0].Retry?.NumRetries));

        // A route's own policy wins even when none of its conditions is supported (gRPC keeps the route's).
        Assert.Null(routes[1].Retry);
        Assert.Equal<(RetryOn?, int?)>((RetryOn.Unavailable, 2), (routes[2].Retry?.RetryOn, routes[2].Retry?.NumRetries));
        Assert.Null(routes[3].Retry);
    }

    [Fact]
    public void Decode_NumRetriesZero_Error()
    {
        Assert.Equal(
            "virtual_hosts[0].routes[0].route.retry_policy.num_retries: must be greater than 0",
            Error(WithAction(a => a.RetryPolicy = Retry("unavailable", 0))));
    }

    public static TheoryData<Duration?, Duration?, string> InvalidBackOffs => new()
    {
        { null, new Duration { Seconds = 1 }, "retry_back_off.base_interval: field not present" },
        { new Duration(), null, "retry_back_off.base_interval: must be greater than 0" },
        { new Duration { Seconds = -1 }, null, "retry_back_off.base_interval.seconds: must be between 0 and 315576000000, found -1" },
        { new Duration { Nanos = 100_000_000 }, new Duration(), "retry_back_off.max_interval: must be greater than 0" },
        { new Duration { Nanos = 100_000_000 }, new Duration { Nanos = 50_000_000 }, "retry_back_off.max_interval: must not be less than base_interval (50 ms < 100 ms)" },
        { new Duration { Nanos = 100_000_000 }, new Duration { Nanos = -1 }, "retry_back_off.max_interval.nanos: must be between 0 and 999999999, found -1" },
    };

    [Theory]
    [MemberData(nameof(InvalidBackOffs))]
    public void Decode_InvalidRetryBackOff_Error(Duration? baseInterval, Duration? maxInterval, string message)
    {
        var policy = Retry("unavailable");
        policy.RetryBackOff = new Envoy.Config.Route.V3.RetryPolicy.Types.RetryBackOff { BaseInterval = baseInterval, MaxInterval = maxInterval };

        Assert.Equal($"virtual_hosts[0].routes[0].route.retry_policy.{message}", Error(WithAction(a => a.RetryPolicy = policy)));
    }

    [Fact]
    public void Decode_NegativePerTryTimeout_Error()
    {
        var policy = Retry("5xx");
        policy.PerTryTimeout = new Duration { Seconds = -3 };

        Assert.Equal(
            "virtual_hosts[0].routes[0].route.retry_policy.per_try_timeout.seconds: must be between 0 and 315576000000, found -3",
            Error(WithAction(a => a.RetryPolicy = policy)));
    }

    [Fact]
    public void Decode_PerTryTimeoutZero_None()
    {
        var policy = Retry("5xx");
        policy.PerTryTimeout = new Duration();

        Assert.Null(SingleRoute(WithAction(a => a.RetryPolicy = policy)).Retry!.PerTryTimeout);
    }

    [Fact]
    public void Decode_InvalidVirtualHostRetryPolicy_Error()
    {
        var config = Config(ClusterRoute(Prefix()));
        config.VirtualHosts[0].RetryPolicy = Retry("unavailable", 0);

        Assert.Equal("virtual_hosts[0].retry_policy.num_retries: must be greater than 0", Error(config));
    }

    // ---- Fault-filter overrides (gRFC A39, A33) ----

    private const string FaultFilterName = "envoy.filters.http.fault";

    private static HTTPFault AbortFault(uint grpcStatus = 14, uint percent = 100) =>
        new() { Abort = new Envoy.Extensions.Filters.Http.Fault.V3.FaultAbort { GrpcStatus = grpcStatus, Percentage = new FractionalPercent { Numerator = percent } } };

    private static FaultPolicy AbortPolicy(int grpcStatus = 14, uint perMillion = 1_000_000) =>
        new() { Abort = new Mesh.Client.Model.FaultAbort { GrpcStatus = grpcStatus, PerMillion = perMillion } };

    private static Any FilterConfigOf(Any? config, bool optional = false, bool disabled = false) =>
        Any.Pack(new FilterConfig { Config = config, IsOptional = optional, Disabled = disabled });

    [Fact]
    public void Decode_FaultOverrides_OnRouteVirtualHostAndWeightedClusters()
    {
        var route = new Route
        {
            Match = Prefix(),
            Route_ = new RouteAction { WeightedClusters = new XdsWeightedCluster { Clusters = { new XdsWeightedCluster.Types.ClusterWeight { Name = "a", Weight = 1 }, new XdsWeightedCluster.Types.ClusterWeight { Name = "b", Weight = 1 } } } },
        };
        route.TypedPerFilterConfig[FaultFilterName] = Any.Pack(AbortFault(13));
        route.Route_.WeightedClusters.Clusters[1].TypedPerFilterConfig[FaultFilterName] = Any.Pack(AbortFault(8, 50));
        var config = Config(route);
        config.VirtualHosts[0].TypedPerFilterConfig[FaultFilterName] = Any.Pack(AbortFault(2));

        var virtualHost = Assert.Single(Assert.IsType<XdsRouteConfigUpdate>(Decode(config).Update).VirtualHosts);

        Assert.Equal(AbortPolicy(2), virtualHost.FaultOverrides[FaultFilterName]);
        var extras = virtualHost.RouteExtras[Assert.Single(virtualHost.Routes)];
        Assert.Equal(AbortPolicy(13), extras.FaultOverrides[FaultFilterName]);
        Assert.Equal(2, extras.ClusterFaultOverrides.Count);
        Assert.Empty(extras.ClusterFaultOverrides[0]);
        Assert.Equal(AbortPolicy(8, 500_000), extras.ClusterFaultOverrides[1][FaultFilterName]);
        Assert.False(extras.SetsMaxStreamDuration);
    }

    [Fact]
    public void Decode_FaultOverrideOnZeroWeightCluster_ValidatedAndDropped()
    {
        var route = WeightedRoute(("a", 0), ("b", 1));
        route.Route_.WeightedClusters.Clusters[0].TypedPerFilterConfig[FaultFilterName] = Any.Pack(AbortFault(99));

        Assert.Equal(
            $"virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].typed_per_filter_config[\"{FaultFilterName}\"].abort.grpc_status: invalid gRPC status code 99",
            Error(route));
    }

    [Fact]
    public void Decode_FaultOverrideInTypedStructOrFilterConfig_Unwrapped()
    {
        var typedStruct = Any.Pack(new global::Xds.Type.V3.TypedStruct
        {
            TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
            Value = Struct.Parser.ParseJson("""{"abort": {"grpcStatus": 4, "percentage": {"numerator": 25, "denominator": "TEN_THOUSAND"}}}"""),
        });
        var route = ClusterRoute(Prefix());
        route.TypedPerFilterConfig["typed-struct"] = typedStruct;
        route.TypedPerFilterConfig["filter-config"] = FilterConfigOf(Any.Pack(AbortFault(5)));
        route.TypedPerFilterConfig["filter-config-typed-struct"] = FilterConfigOf(typedStruct, optional: true);

        var (_, extras) = RouteWithExtras(route);

        Assert.Equal(AbortPolicy(4, 2_500), extras!.FaultOverrides["typed-struct"]);
        Assert.Equal(AbortPolicy(5), extras.FaultOverrides["filter-config"]);
        Assert.Equal(AbortPolicy(4, 2_500), extras.FaultOverrides["filter-config-typed-struct"]);
    }

    [Fact]
    public void Decode_DisabledFilterConfig_NoFaultsWithOrWithoutConfig()
    {
        var route = ClusterRoute(Prefix());
        route.TypedPerFilterConfig["bare"] = FilterConfigOf(null, disabled: true);
        route.TypedPerFilterConfig["with-config"] = FilterConfigOf(Any.Pack(AbortFault(99)), disabled: true);

        var (_, extras) = RouteWithExtras(route);

        Assert.Same(XdsFaultOverrides.None, extras!.FaultOverrides["bare"]);
        Assert.Same(XdsFaultOverrides.None, extras.FaultOverrides["with-config"]);
    }

    [Fact]
    public void Decode_OptionalUnknownFilterOverride_Skipped()
    {
        var route = ClusterRoute(Prefix());
        route.TypedPerFilterConfig["lua"] = FilterConfigOf(new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute" }, optional: true);
        route.TypedPerFilterConfig["empty"] = FilterConfigOf(null, optional: true);

        var (_, extras) = RouteWithExtras(route);

        Assert.Null(extras);
    }

    public static TheoryData<string, Any, string> InvalidOverrides => new()
    {
        {
            "lua",
            new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute" },
            "typed_per_filter_config[\"lua\"]: unsupported filter type envoy.extensions.filters.http.lua.v3.LuaPerRoute for filter \"lua\" (wrap it in an envoy.config.route.v3.FilterConfig with is_optional to let clients skip it)"
        },
        {
            "lua",
            FilterConfigOf(new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute" }),
            "typed_per_filter_config[\"lua\"].config: unsupported filter type envoy.extensions.filters.http.lua.v3.LuaPerRoute for filter \"lua\" (wrap it in an envoy.config.route.v3.FilterConfig with is_optional to let clients skip it)"
        },
        {
            "router",
            Any.Pack(new Envoy.Extensions.Filters.Http.Router.V3.Router()),
            "typed_per_filter_config[\"router\"]: the router filter takes no per-route configuration (filter \"router\")"
        },
        { "fault", FilterConfigOf(null), "typed_per_filter_config[\"fault\"].config: field not present" },
        { "fault", Any.Pack(AbortFault(17)), "typed_per_filter_config[\"fault\"].abort.grpc_status: invalid gRPC status code 17" },
        { "fault", new Any { TypeUrl = "no-slash" }, "typed_per_filter_config[\"fault\"].type_url: invalid type URL \"no-slash\"" },
        { string.Empty, Any.Pack(AbortFault()), "typed_per_filter_config[\"\"]: the filter instance name must be non-empty" },
    };

    [Theory]
    [MemberData(nameof(InvalidOverrides))]
    public void Decode_InvalidRouteFilterOverride_Error(string name, Any value, string message)
    {
        var route = ClusterRoute(Prefix());
        route.TypedPerFilterConfig[name] = value;

        Assert.Equal($"virtual_hosts[0].routes[0].{message}", Error(route));
    }

    [Fact]
    public void Decode_InvalidVirtualHostFilterOverride_Error()
    {
        var config = Config(ClusterRoute(Prefix()));
        config.VirtualHosts[0].TypedPerFilterConfig[FaultFilterName] = Any.Pack(new HTTPFault { Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay() });

        Assert.Equal($"virtual_hosts[0].typed_per_filter_config[\"{FaultFilterName}\"].delay: no delay set (expected fixed_delay or header_delay)", Error(config));
    }

    [Fact]
    public void Decode_FilterOverrideOnRedirectRoute_StillValidated()
    {
        var route = new Route { Match = Prefix(), Redirect = new RedirectAction() };
        route.TypedPerFilterConfig[FaultFilterName] = Any.Pack(AbortFault(20));

        Assert.Equal($"virtual_hosts[0].routes[0].typed_per_filter_config[\"{FaultFilterName}\"].abort.grpc_status: invalid gRPC status code 20", Error(route));
    }
}
