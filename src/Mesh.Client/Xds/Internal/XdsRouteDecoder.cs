using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshHashPolicy = Mesh.Client.Model.HashPolicy;
using MeshHeaderMatch = Mesh.Client.Model.HeaderMatch;
using MeshRouteMatch = Mesh.Client.Model.RouteMatch;
using MeshWeightedCluster = Mesh.Client.Model.WeightedCluster;
using RegexFactory = Mesh.Client.Routing.Internal.RegexFactory;
using XdsRouteMatch = Envoy.Config.Route.V3.RouteMatch;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a RouteConfiguration (gRFC A28, A42) and turns its routes into the mesh model. Routes the
/// client cannot match on are left out; routes whose action it cannot carry out are kept with an error
/// message, so that requests they match fail instead of falling through to a later route.
/// </summary>
internal static class XdsRouteDecoder
{
    /// <summary>The filter-state key that gRPC reads as "hash the client's channel" (gRFC A42).</summary>
    public const string ChannelIdFilterStateKey = "io.grpc.channel_id";

    public static XdsRouteConfigUpdate Decode(RouteConfiguration routeConfig, List<string> errors) =>
        Decode(routeConfig, string.Empty, errors);

    /// <summary>Decodes a RouteConfiguration found at <paramref name="path"/> (empty for an RDS resource, <c>route_config</c> inline in a Listener).</summary>
    public static XdsRouteConfigUpdate Decode(RouteConfiguration routeConfig, string path, List<string> errors)
    {
        var virtualHosts = new List<XdsVirtualHost>(routeConfig.VirtualHosts.Count);
        for (var i = 0; i < routeConfig.VirtualHosts.Count; i++)
        {
            virtualHosts.Add(DecodeVirtualHost(routeConfig.VirtualHosts[i], Field(path, $"virtual_hosts[{i}]"), errors));
        }

        return new XdsRouteConfigUpdate(routeConfig.Name, virtualHosts);
    }

    private static XdsVirtualHost DecodeVirtualHost(VirtualHost virtualHost, string path, List<string> errors)
    {
        if (virtualHost.Domains.Count == 0)
        {
            AddError(errors, Field(path, "domains"), "must be non-empty");
        }

        for (var i = 0; i < virtualHost.Domains.Count; i++)
        {
            if (!IsValidDomainPattern(virtualHost.Domains[i]))
            {
                AddError(errors, Field(path, $"domains[{i}]"), $"invalid domain pattern \"{virtualHost.Domains[i]}\"");
            }
        }

        var routes = new List<MeshRoute>(virtualHost.Routes.Count);
        for (var i = 0; i < virtualHost.Routes.Count; i++)
        {
            if (DecodeRoute(virtualHost.Routes[i], Field(path, $"routes[{i}]"), errors) is { } route)
            {
                routes.Add(route);
            }
        }

        return new XdsVirtualHost(virtualHost.Name, [.. virtualHost.Domains], routes);
    }

    // As gRPC: an exact name, "*", or one wildcard at the start or the end.
    private static bool IsValidDomainPattern(string domain) =>
        domain.Length > 0 && (!domain.Contains('*', StringComparison.Ordinal) || domain[0] == '*' || domain[^1] == '*');

    /// <returns>The route, or <see langword="null"/> when it is left out or invalid (then an error is recorded).</returns>
    private static MeshRoute? DecodeRoute(Route route, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        var matchPath = Field(path, "match");
        if (route.Match is not { } match)
        {
            AddError(errors, matchPath, "field not present");
            return null;
        }

        // gRPC leaves out routes with query-parameter matchers, as if they never matched (gRFC A28): an RPC
        // has no query string. The mesh may support them for HttpClient requests later.
        if (match.QueryParameters.Count > 0)
        {
            return null;
        }

        // A route left out for its path specifier is not validated further, like one with query parameters.
        if (DecodePathMatch(match, matchPath, errors) is not { } pathMatch)
        {
            return null;
        }

        var headers = new List<MeshHeaderMatch>(match.Headers.Count);
        for (var i = 0; i < match.Headers.Count; i++)
        {
            if (DecodeHeaderMatch(match.Headers[i], Field(matchPath, $"headers[{i}]"), errors) is { } header)
            {
                headers.Add(header);
            }
        }

        var fraction = DecodeRuntimeFraction(match, matchPath, errors);
        var name = route.Name.Length > 0 ? route.Name : null;

        if (DecodeAction(route, path, name, errors) is not { } action || errors.Count > errorCount)
        {
            return null;
        }

        return new MeshRoute
        {
            Name = name,
            Match = new MeshRouteMatch { Path = pathMatch, Headers = headers, FractionPerMillion = fraction },
            Clusters = action.Clusters,
            HashPolicies = action.HashPolicies,
            ErrorMessage = action.ErrorMessage,
        };
    }

    /// <returns>Where the route sends requests, or <see langword="null"/> when the route is to be left out or is invalid.</returns>
    private static (IReadOnlyList<MeshWeightedCluster> Clusters, IReadOnlyList<MeshHashPolicy> HashPolicies, string? ErrorMessage)? DecodeAction(
        Route route,
        string path,
        string? name,
        List<string> errors)
    {
        switch (route.ActionCase)
        {
            case Route.ActionOneofCase.Route_:
                break;
            case Route.ActionOneofCase.Redirect:
                return ([], [], UnsupportedAction(name, path, "redirect"));
            case Route.ActionOneofCase.DirectResponse:
                return ([], [], UnsupportedAction(name, path, "direct_response"));
            case Route.ActionOneofCase.FilterAction:
                return ([], [], UnsupportedAction(name, path, "filter_action"));
            case Route.ActionOneofCase.NonForwardingAction:
                return ([], [], UnsupportedAction(name, path, "non_forwarding_action"));
            default:
                AddError(errors, path, "no action set (expected route, redirect, direct_response, filter_action or non_forwarding_action)");
                return null;
        }

        var action = route.Route_;
        var actionPath = Field(path, "route");
        var hashPolicies = DecodeHashPolicies(action, actionPath, errors);
        switch (action.ClusterSpecifierCase)
        {
            case RouteAction.ClusterSpecifierOneofCase.Cluster:
                if (action.Cluster.Length == 0)
                {
                    AddError(errors, Field(actionPath, "cluster"), "must be non-empty");
                }

                return ([new MeshWeightedCluster(action.Cluster, 1)], hashPolicies, null);
            case RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                return (DecodeWeightedClusters(action.WeightedClusters, Field(actionPath, "weighted_clusters"), errors), hashPolicies, null);
            case RouteAction.ClusterSpecifierOneofCase.ClusterHeader:
                // gRPC leaves such routes out; we keep them so that the requests they match fail visibly
                // instead of taking a later route. A later change implements cluster_header.
                return ([], hashPolicies, "cluster_header is not supported yet");
            case RouteAction.ClusterSpecifierOneofCase.ClusterSpecifierPlugin:
                // The plugin would be defined in RouteConfiguration.cluster_specifier_plugins, which this
                // client does not implement (gRPC's only plugin is RLS).
                AddError(errors, Field(actionPath, "cluster_specifier_plugin"), $"cluster specifier plugins are not supported (found \"{action.ClusterSpecifierPlugin}\")");
                return null;
            default:
                // Unset, or a specifier newer than our protos: gRPC ignores the route (gRFC A28).
                return null;
        }
    }

    private static string UnsupportedAction(string? routeName, string path, string kind) =>
        $"route '{routeName ?? path}' has a {kind} action, which a client cannot carry out";

    /// <returns>The path condition, or <see langword="null"/> when the route is to be left out or is invalid.</returns>
    private static PathMatch? DecodePathMatch(XdsRouteMatch match, string path, List<string> errors)
    {
        var caseSensitive = match.CaseSensitive ?? true;
        switch (match.PathSpecifierCase)
        {
            case XdsRouteMatch.PathSpecifierOneofCase.Prefix:
                return new PathMatch(PathMatchKind.Prefix, match.Prefix, caseSensitive);
            case XdsRouteMatch.PathSpecifierOneofCase.Path:
                return new PathMatch(PathMatchKind.Exact, match.Path, caseSensitive);
            case XdsRouteMatch.PathSpecifierOneofCase.SafeRegex:
                var pattern = match.SafeRegex.Regex;
                return ValidateRegex(pattern, Field(path, "safe_regex"), errors)
                    ? new PathMatch(PathMatchKind.Regex, pattern, caseSensitive)
                    : null;
            case XdsRouteMatch.PathSpecifierOneofCase.None:
                // gRFC A28: a route without a path specifier is invalid; NACKing keeps the last good table
                // instead of letting requests fall through to a route nobody meant for them.
                errors.Add($"{path}: no path specifier; expected prefix, path or safe_regex");
                return null;
            default:
                errors.Add($"{path}: path specifier {match.PathSpecifierCase} is not supported; expected prefix, path or safe_regex");
                return null;
        }
    }

    private static MeshHeaderMatch? DecodeHeaderMatch(HeaderMatcher header, string path, List<string> errors)
    {
        if (header.Name.Length == 0)
        {
            AddError(errors, Field(path, "name"), "must be non-empty");
            return null;
        }

        // A "-bin" header name is allowed: such a matcher simply never matches (gRFC A28).
        var match = new MeshHeaderMatch { Name = header.Name, Kind = HeaderMatchKind.Exact, Invert = header.InvertMatch };
        switch (header.HeaderMatchSpecifierCase)
        {
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch:
                return match with { Kind = HeaderMatchKind.Exact, Value = header.ExactMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch:
                return match with { Kind = HeaderMatchKind.Prefix, Value = header.PrefixMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch:
                return match with { Kind = HeaderMatchKind.Suffix, Value = header.SuffixMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch:
                return match with { Kind = HeaderMatchKind.Contains, Value = header.ContainsMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch:
                return match with { Kind = HeaderMatchKind.Present, PresentMatch = header.PresentMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch:
                return ValidateRegex(header.SafeRegexMatch.Regex, Field(path, "safe_regex_match"), errors)
                    ? match with { Kind = HeaderMatchKind.Regex, Value = header.SafeRegexMatch.Regex }
                    : null;
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.RangeMatch:
                return DecodeRange(header.RangeMatch, Field(path, "range_match"), errors) is { } range
                    ? match with { Kind = HeaderMatchKind.Range, RangeStart = range.Start, RangeEnd = range.End }
                    : null;
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch:
                return DecodeStringMatch(header.StringMatch, match, Field(path, "string_match"), errors);
            default:
                AddError(errors, path, "no header match specifier set");
                return null;
        }
    }

    private static MeshHeaderMatch? DecodeStringMatch(StringMatcher matcher, MeshHeaderMatch match, string path, List<string> errors)
    {
        // ignore_case is carried for every kind; for safe_regex it has no effect (Envoy's definition, which
        // the header matcher follows), where gRPC C-core would match the pattern case-insensitively.
        match = match with { IgnoreCase = matcher.IgnoreCase };
        switch (matcher.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                return match with { Kind = HeaderMatchKind.Exact, Value = matcher.Exact };
            case StringMatcher.MatchPatternOneofCase.Prefix:
                return match with { Kind = HeaderMatchKind.Prefix, Value = matcher.Prefix };
            case StringMatcher.MatchPatternOneofCase.Suffix:
                return match with { Kind = HeaderMatchKind.Suffix, Value = matcher.Suffix };
            case StringMatcher.MatchPatternOneofCase.Contains:
                return match with { Kind = HeaderMatchKind.Contains, Value = matcher.Contains };
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                return ValidateRegex(matcher.SafeRegex.Regex, Field(path, "safe_regex"), errors)
                    ? match with { Kind = HeaderMatchKind.Regex, Value = matcher.SafeRegex.Regex }
                    : null;
            default:
                // Includes the custom (extension) matcher, which our protos leave as an unknown field.
                AddError(errors, path, "no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)");
                return null;
        }
    }

    private static (long Start, long End)? DecodeRange(Int64Range range, string path, List<string> errors)
    {
        if (range.Start > range.End)
        {
            AddError(errors, path, FormattableString.Invariant($"start ({range.Start}) must not be greater than end ({range.End})"));
            return null;
        }

        return (range.Start, range.End);
    }

    private static uint? DecodeRuntimeFraction(XdsRouteMatch match, string path, List<string> errors)
    {
        // Only default_value counts: a proxyless client has no runtime to look runtime_key up in.
        if (match.RuntimeFraction?.DefaultValue is not { } fraction)
        {
            return null;
        }

        ulong multiplier;
        switch (fraction.Denominator)
        {
            case FractionalPercent.Types.DenominatorType.Hundred:
                multiplier = 10_000;
                break;
            case FractionalPercent.Types.DenominatorType.TenThousand:
                multiplier = 100;
                break;
            case FractionalPercent.Types.DenominatorType.Million:
                multiplier = 1;
                break;
            default:
                AddError(errors, Field(path, "runtime_fraction.default_value.denominator"), $"unknown denominator {EnumName(fraction.Denominator)}");
                return null;
        }

        // A numerator above its denominator means "always".
        return (uint)Math.Min(fraction.Numerator * multiplier, 1_000_000UL);
    }

    private static List<MeshWeightedCluster> DecodeWeightedClusters(Envoy.Config.Route.V3.WeightedCluster weightedClusters, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        var clusters = new List<MeshWeightedCluster>(weightedClusters.Clusters.Count);
        ulong total = 0;
        for (var i = 0; i < weightedClusters.Clusters.Count; i++)
        {
            var cluster = weightedClusters.Clusters[i];
            var clusterPath = Field(path, $"clusters[{i}]");
            if (cluster.Name.Length == 0)
            {
                AddError(errors, Field(clusterPath, "name"), "must be non-empty");
            }

            if (cluster.Weight is not { } weight)
            {
                AddError(errors, Field(clusterPath, "weight"), "field not present");
                continue;
            }

            // A cluster with weight 0 takes no traffic; gRPC drops it from the list.
            if (weight == 0)
            {
                continue;
            }

            total += weight;
            clusters.Add(new MeshWeightedCluster(cluster.Name, weight));
        }

        // total_weight is deprecated; like gRPC, only the sum of the weights counts.
        if (errors.Count == errorCount)
        {
            if (clusters.Count == 0)
            {
                AddError(errors, path, "the sum of the weights must be above 0");
            }
            else if (total > uint.MaxValue)
            {
                AddError(errors, path, FormattableString.Invariant($"the sum of the weights ({total}) must not exceed {uint.MaxValue}"));
            }
        }

        return clusters;
    }

    private static List<MeshHashPolicy> DecodeHashPolicies(RouteAction action, string path, List<string> errors)
    {
        var policies = new List<MeshHashPolicy>();
        for (var i = 0; i < action.HashPolicy.Count; i++)
        {
            var policy = action.HashPolicy[i];
            var policyPath = Field(path, $"hash_policy[{i}]");
            switch (policy.PolicySpecifierCase)
            {
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Header:
                    var header = policy.Header;
                    var headerPath = Field(policyPath, "header");
                    if (header.HeaderName.Length == 0)
                    {
                        AddError(errors, Field(headerPath, "header_name"), "must be non-empty");
                        continue;
                    }

                    // The pattern is validated as gRPC does; applying the rewrite is not implemented yet, so
                    // the header's value is hashed as it is.
                    if (header.RegexRewrite is { } rewrite)
                    {
                        var patternPath = Field(headerPath, "regex_rewrite.pattern");
                        if (rewrite.Pattern is null)
                        {
                            AddError(errors, patternPath, "field not present");
                            continue;
                        }

                        if (rewrite.Pattern.Regex.Length == 0)
                        {
                            AddError(errors, Field(patternPath, "regex"), "must be non-empty");
                            continue;
                        }

                        if (!ValidateRegex(rewrite.Pattern.Regex, Field(patternPath, "regex"), errors))
                        {
                            continue;
                        }
                    }

                    policies.Add(new MeshHashPolicy(HashPolicyKind.Header, header.HeaderName, policy.Terminal));
                    break;
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.FilterState when policy.FilterState.Key == ChannelIdFilterStateKey:
                    policies.Add(new MeshHashPolicy(HashPolicyKind.ChannelId, string.Empty, policy.Terminal));
                    break;
                default:
                    // cookie, connection_properties, query_parameter and other filter-state keys yield no
                    // hash in gRPC (gRFC A42), so they are left out rather than rejected.
                    break;
            }
        }

        return policies;
    }

    private static bool ValidateRegex(string pattern, string path, List<string> errors)
    {
        if (RegexFactory.Validate(pattern) is { } error)
        {
            AddError(errors, path, $"invalid regular expression \"{pattern}\": {error}");
            return false;
        }

        return true;
    }
}
