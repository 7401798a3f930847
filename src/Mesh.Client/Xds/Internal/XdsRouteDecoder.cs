using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshHashPolicy = Mesh.Client.Model.HashPolicy;
using MeshHeaderMatch = Mesh.Client.Model.HeaderMatch;
using MeshRetryPolicy = Mesh.Client.Model.RetryPolicy;
using MeshRouteMatch = Mesh.Client.Model.RouteMatch;
using MeshWeightedCluster = Mesh.Client.Model.WeightedCluster;
using RegexFactory = Mesh.Client.Routing.Internal.RegexFactory;
using XdsRetryPolicy = Envoy.Config.Route.V3.RetryPolicy;
using XdsRouteMatch = Envoy.Config.Route.V3.RouteMatch;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a RouteConfiguration (gRFC A28, A42) and turns its routes into the mesh model. Routes the
/// client cannot match on are left out; routes whose action it cannot carry out are kept with an error
/// message, so that requests they match fail instead of falling through to a later route.
/// </summary>
/// <remarks>
/// Traffic policy: timeouts (gRFC A31, and Envoy's route <c>timeout</c> for HttpClient), retries (gRFC A44,
/// with Envoy's HTTP conditions and <c>per_try_timeout</c>), <c>cluster_header</c>, query-parameter matches and
/// cookie hash policies (Envoy), and fault-filter overrides in <c>typed_per_filter_config</c> (gRFC A39, A33),
/// which <see cref="XdsVirtualHost"/> carries beside the routes until the connection manager's filters are known.
/// </remarks>
internal static class XdsRouteDecoder
{
    /// <summary>The filter-state key that gRPC reads as "hash the client's channel" (gRFC A42).</summary>
    public const string ChannelIdFilterStateKey = "io.grpc.channel_id";

    /// <summary>The wrapper of a <c>typed_per_filter_config</c> value that adds <c>is_optional</c> and <c>disabled</c>.</summary>
    public const string FilterConfigTypeName = "envoy.config.route.v3.FilterConfig";

    /// <summary>The back-off gRPC and Envoy use when a retry policy sets none (gRFC A44).</summary>
    public static readonly TimeSpan DefaultRetryBaseInterval = TimeSpan.FromMilliseconds(25);

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

        var faultOverrides = DecodeFilterOverrides(virtualHost.TypedPerFilterConfig, path, errors);

        // gRFC A44: a route without a retry policy takes its virtual host's.
        var retry = virtualHost.RetryPolicy is { } retryPolicy
            ? DecodeRetryPolicy(retryPolicy, Field(path, "retry_policy"), errors)
            : null;

        var routes = new List<MeshRoute>(virtualHost.Routes.Count);
        Dictionary<MeshRoute, XdsRouteExtras>? extras = null;
        for (var i = 0; i < virtualHost.Routes.Count; i++)
        {
            if (DecodeRoute(virtualHost.Routes[i], Field(path, $"routes[{i}]"), retry, errors) is { } route)
            {
                routes.Add(route.Route);
                if (route.Extras is { } routeExtras)
                {
                    extras ??= new Dictionary<MeshRoute, XdsRouteExtras>(ReferenceEqualityComparer.Instance);
                    extras[route.Route] = routeExtras;
                }
            }
        }

        return new XdsVirtualHost(virtualHost.Name, [.. virtualHost.Domains], routes)
        {
            FaultOverrides = faultOverrides,
            RouteExtras = extras ?? XdsRouteExtras.EmptyTable,
        };
    }

    // As gRPC: an exact name, "*", or one wildcard at the start or the end.
    private static bool IsValidDomainPattern(string domain) =>
        domain.Length > 0 && (!domain.Contains('*', StringComparison.Ordinal) || domain[0] == '*' || domain[^1] == '*');

    /// <returns>The route, or <see langword="null"/> when it is left out or invalid (then an error is recorded).</returns>
    private static (MeshRoute Route, XdsRouteExtras? Extras)? DecodeRoute(Route route, string path, MeshRetryPolicy? virtualHostRetry, List<string> errors)
    {
        var errorCount = errors.Count;
        var matchPath = Field(path, "match");
        if (route.Match is not { } match)
        {
            AddError(errors, matchPath, "field not present");
            return null;
        }

        // A route left out for its path specifier is not validated further.
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

        // gRPC leaves routes with query-parameter matchers out (gRFC A28): an RPC has no query string. Here
        // they are kept for HttpClient requests; a gRPC call never matches them (see RouteMatch.QueryParameters).
        var queryParameters = new List<QueryParameterMatch>(match.QueryParameters.Count);
        for (var i = 0; i < match.QueryParameters.Count; i++)
        {
            if (DecodeQueryParameter(match.QueryParameters[i], Field(matchPath, $"query_parameters[{i}]"), errors) is { } queryParameter)
            {
                queryParameters.Add(queryParameter);
            }
        }

        var fraction = DecodeRuntimeFraction(match, matchPath, errors);
        var name = route.Name.Length > 0 ? route.Name : null;
        var faultOverrides = DecodeFilterOverrides(route.TypedPerFilterConfig, path, errors);

        if (DecodeAction(route, path, name, errors) is not { } action || errors.Count > errorCount)
        {
            return null;
        }

        var meshRoute = new MeshRoute
        {
            Name = name,
            Match = new MeshRouteMatch { Path = pathMatch, Headers = headers, QueryParameters = queryParameters, FractionPerMillion = fraction },
            Clusters = action.Clusters,
            HashPolicies = action.HashPolicies,
            ErrorMessage = action.ErrorMessage,
            ClusterHeader = action.ClusterHeader,
            Timeout = action.Timeout,
            MaxStreamDuration = action.MaxStreamDuration,
            GrpcTimeoutHeaderMax = action.GrpcTimeoutHeaderMax,
            Retry = action.HasRetryPolicy ? action.Retry : action.ErrorMessage is null ? virtualHostRetry : null,
        };

        var hasClusterOverrides = action.ClusterFaultOverrides.Any(o => o.Count > 0);
        var extras = faultOverrides.Count > 0 || hasClusterOverrides || action.SetsMaxStreamDuration
            ? new XdsRouteExtras
            {
                FaultOverrides = faultOverrides,
                ClusterFaultOverrides = hasClusterOverrides ? action.ClusterFaultOverrides : [],
                SetsMaxStreamDuration = action.SetsMaxStreamDuration,
            }
            : null;
        return (meshRoute, extras);
    }

    /// <summary>What a route's action says, in the model's terms.</summary>
    private sealed record RouteActionResult
    {
        public IReadOnlyList<MeshWeightedCluster> Clusters { get; init; } = [];

        public IReadOnlyList<MeshHashPolicy> HashPolicies { get; init; } = [];

        public string? ErrorMessage { get; init; }

        public string? ClusterHeader { get; init; }

        public TimeSpan? Timeout { get; init; }

        public TimeSpan? MaxStreamDuration { get; init; }

        public TimeSpan? GrpcTimeoutHeaderMax { get; init; }

        public bool SetsMaxStreamDuration { get; init; }

        public bool HasRetryPolicy { get; init; }

        public MeshRetryPolicy? Retry { get; init; }

        /// <summary>Per weighted cluster (aligned with <see cref="Clusters"/>), its fault-filter overrides.</summary>
        public IReadOnlyList<IReadOnlyDictionary<string, FaultPolicy>> ClusterFaultOverrides { get; init; } = [];
    }

    /// <returns>Where the route sends requests, or <see langword="null"/> when the route is to be left out or is invalid.</returns>
    private static RouteActionResult? DecodeAction(Route route, string path, string? name, List<string> errors)
    {
        switch (route.ActionCase)
        {
            case Route.ActionOneofCase.Route_:
                break;
            case Route.ActionOneofCase.Redirect:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "redirect") };
            case Route.ActionOneofCase.DirectResponse:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "direct_response") };
            case Route.ActionOneofCase.FilterAction:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "filter_action") };
            case Route.ActionOneofCase.NonForwardingAction:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "non_forwarding_action") };
            default:
                AddError(errors, path, "no action set (expected route, redirect, direct_response, filter_action or non_forwarding_action)");
                return null;
        }

        var action = route.Route_;
        var actionPath = Field(path, "route");
        var hashPolicies = DecodeHashPolicies(action, actionPath, errors);

        // HttpClient: Envoy's whole-request timeout, retries included (gRFC A31 leaves it to proxies). Unset means
        // none here, where Envoy defaults to 15 s: a client library has its callers' own timeouts (HttpClient.Timeout).
        var timeout = action.Timeout is { } timeoutConfig ? NonZero(ParseDuration(timeoutConfig, Field(actionPath, "timeout"), errors)) : null;

        // gRFC A31: grpc_timeout_header_max, when present, replaces max_stream_duration; 0 means no limit. A route
        // that sets neither takes the connection manager's max_stream_duration (XdsTargetWatcher applies it).
        TimeSpan? maxStreamDuration = null, grpcTimeoutHeaderMax = null;
        var setsMaxStreamDuration = false;
        if (action.MaxStreamDuration is { } durations)
        {
            var durationsPath = Field(actionPath, "max_stream_duration");
            var max = durations.MaxStreamDuration_ is { } maxConfig ? ParseDuration(maxConfig, Field(durationsPath, "max_stream_duration"), errors) : null;
            if (durations.GrpcTimeoutHeaderMax is { } headerMaxConfig)
            {
                grpcTimeoutHeaderMax = NonZero(ParseDuration(headerMaxConfig, Field(durationsPath, "grpc_timeout_header_max"), errors));
                setsMaxStreamDuration = true;
            }
            else if (durations.MaxStreamDuration_ is not null)
            {
                maxStreamDuration = NonZero(max);
                setsMaxStreamDuration = true;
            }
        }

        var hasRetryPolicy = action.RetryPolicy is not null;
        var retry = action.RetryPolicy is { } retryPolicy ? DecodeRetryPolicy(retryPolicy, Field(actionPath, "retry_policy"), errors) : null;
        var result = new RouteActionResult
        {
            HashPolicies = hashPolicies,
            Timeout = timeout,
            MaxStreamDuration = maxStreamDuration,
            GrpcTimeoutHeaderMax = grpcTimeoutHeaderMax,
            SetsMaxStreamDuration = setsMaxStreamDuration,
            HasRetryPolicy = hasRetryPolicy,
            Retry = retry,
        };

        switch (action.ClusterSpecifierCase)
        {
            case RouteAction.ClusterSpecifierOneofCase.Cluster:
                if (action.Cluster.Length == 0)
                {
                    AddError(errors, Field(actionPath, "cluster"), "must be non-empty");
                }

                return result with { Clusters = [new MeshWeightedCluster(action.Cluster, 1)] };
            case RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                var (clusters, clusterOverrides) = DecodeWeightedClusters(action.WeightedClusters, Field(actionPath, "weighted_clusters"), errors);
                return result with { Clusters = clusters, ClusterFaultOverrides = clusterOverrides };
            case RouteAction.ClusterSpecifierOneofCase.ClusterHeader:
                // Envoy: the request header names the cluster. gRPC leaves such routes out (gRFC A28).
                if (!IsValidHeaderName(action.ClusterHeader, Field(actionPath, "cluster_header"), errors))
                {
                    return null;
                }

                return result with { ClusterHeader = action.ClusterHeader };
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

    // Envoy's HTTP_HEADER_NAME rule (not strict): non-empty, without NUL, CR or LF.
    private static bool IsValidHeaderName(string name, string path, List<string> errors)
    {
        if (name.Length == 0)
        {
            AddError(errors, path, "must be non-empty");
            return false;
        }

        if (name.AsSpan().IndexOfAny('\0', '\r', '\n') >= 0)
        {
            AddError(errors, path, $"invalid header name \"{name.ReplaceLineEndings(" ").Replace('\0', ' ')}\" (NUL, CR and LF are not allowed)");
            return false;
        }

        return true;
    }

    private static TimeSpan? NonZero(TimeSpan? value) => value == TimeSpan.Zero ? null : value;

    /// <summary>
    /// A retry policy (gRFC A44 for gRPC calls, Envoy's RetryPolicy for HttpClient requests). Validation follows
    /// both gRPC references: <c>num_retries</c> must be above 0, and a <c>retry_back_off</c> needs a
    /// <c>base_interval</c> above 0 and a <c>max_interval</c> (when set) above 0 and not below it.
    /// </summary>
    /// <returns>The policy; <see langword="null"/> when none of its conditions is one the client retries on (as gRPC drops a policy without codes), or after recording errors.</returns>
    private static MeshRetryPolicy? DecodeRetryPolicy(XdsRetryPolicy policy, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        var retryOn = RetryOn.None;

        // Envoy trims the entries; gRPC ignores the conditions it does not implement, and so do we.
        foreach (var condition in policy.RetryOn.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RetryOnNames.TryGet(condition, StringComparison.Ordinal, out var flag))
            {
                retryOn |= flag;
            }
        }

        var numRetries = policy.NumRetries ?? 1;
        if (numRetries == 0)
        {
            // Both gRPC references reject 0 (gRPC's maxAttempts = num_retries + 1 must be at least 2).
            AddError(errors, Field(path, "num_retries"), "must be greater than 0");
        }

        var baseInterval = DefaultRetryBaseInterval;
        TimeSpan? maxInterval = null;
        if (policy.RetryBackOff is { } backOff)
        {
            var backOffPath = Field(path, "retry_back_off");
            var basePath = Field(backOffPath, "base_interval");
            if (backOff.BaseInterval is not { } baseConfig)
            {
                AddError(errors, basePath, "field not present");
            }
            else if (ParseDuration(baseConfig, basePath, errors) is { } parsedBase)
            {
                if (parsedBase <= TimeSpan.Zero)
                {
                    AddError(errors, basePath, "must be greater than 0");
                }

                baseInterval = parsedBase;
            }

            if (backOff.MaxInterval is { } maxConfig)
            {
                var maxPath = Field(backOffPath, "max_interval");
                if (ParseDuration(maxConfig, maxPath, errors) is { } parsedMax)
                {
                    if (parsedMax <= TimeSpan.Zero)
                    {
                        AddError(errors, maxPath, "must be greater than 0");
                    }
                    else if (parsedMax < baseInterval)
                    {
                        AddError(errors, maxPath, FormattableString.Invariant($"must not be less than base_interval ({parsedMax.TotalMilliseconds} ms < {baseInterval.TotalMilliseconds} ms)"));
                    }

                    maxInterval = parsedMax;
                }
            }
        }

        TimeSpan? perTryTimeout = null;
        if (policy.PerTryTimeout is { } perTryConfig)
        {
            // HttpClient only (gRFC A44 defers it for gRPC); 0 means none, as for the route timeout.
            perTryTimeout = NonZero(ParseDuration(perTryConfig, Field(path, "per_try_timeout"), errors));
        }

        if (errors.Count > errorCount || retryOn == RetryOn.None)
        {
            return null;
        }

        return new MeshRetryPolicy
        {
            RetryOn = retryOn,
            NumRetries = (int)Math.Min(numRetries, int.MaxValue),
            BaseInterval = baseInterval,
            MaxInterval = maxInterval,
            PerTryTimeout = perTryTimeout,

            // A code that is no HTTP status can never match a response; it is dropped rather than rejected (Envoy takes any number).
            RetriableStatusCodes = [.. policy.RetriableStatusCodes.Where(c => ModelRules.IsHttpStatus(c)).Select(c => (int)c)],
        };
    }

    /// <summary>
    /// The fault-filter entries of a <c>typed_per_filter_config</c> map (gRFC A39), by filter instance name. Every
    /// entry is validated: an unknown filter type is an error unless wrapped in a FilterConfig with
    /// <c>is_optional</c>; the router takes no override. Whether a name is a fault filter of the connection
    /// manager is only known once the Listener is (gRFC A39 does not check it here).
    /// </summary>
    private static IReadOnlyDictionary<string, FaultPolicy> DecodeFilterOverrides(MapField<string, Any> map, string path, List<string> errors)
    {
        if (map.Count == 0)
        {
            return XdsFaultOverrides.Empty;
        }

        var overrides = new Dictionary<string, FaultPolicy>(StringComparer.Ordinal);
        foreach (var (name, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var entryPath = Field(path, $"typed_per_filter_config[\"{name}\"]");
            if (name.Length == 0)
            {
                AddError(errors, entryPath, "the filter instance name must be non-empty");
                continue;
            }

            if (ExtractExtension(value, entryPath, errors) is not { } extension)
            {
                continue;
            }

            var optional = false;
            if (extension.TypeName == FilterConfigTypeName)
            {
                if (Unpack(extension, FilterConfig.Parser, entryPath, errors) is not { } filterConfig)
                {
                    continue;
                }

                optional = filterConfig.IsOptional;
                if (filterConfig.Disabled)
                {
                    // Envoy: the filter does not run here and the config is ignored. For a fault filter that is "no
                    // faults"; an entry naming another filter is never looked up.
                    overrides[name] = XdsFaultOverrides.None;
                    continue;
                }

                entryPath = Field(entryPath, "config");
                if (filterConfig.Config is null)
                {
                    if (!optional)
                    {
                        AddError(errors, entryPath, "field not present");
                    }

                    continue;
                }

                if (ExtractExtension(filterConfig.Config, entryPath, errors) is not { } inner)
                {
                    continue;
                }

                extension = inner;
            }

            switch (extension.TypeName)
            {
                case XdsListenerDecoder.FaultTypeName:
                    if (Unpack(extension, HTTPFault.Parser, entryPath, errors) is { } fault &&
                        XdsListenerDecoder.DecodeFault(fault, entryPath, errors) is { } policy)
                    {
                        overrides[name] = policy;
                    }

                    break;
                case XdsListenerDecoder.RouterTypeName:
                    AddError(errors, entryPath, $"the router filter takes no per-route configuration (filter \"{name}\")");
                    break;
                default:
                    if (!optional)
                    {
                        AddError(errors, entryPath, $"unsupported filter type {extension.TypeName} for filter \"{name}\" (wrap it in an {FilterConfigTypeName} with is_optional to let clients skip it)");
                    }

                    break;
            }
        }

        return overrides.Count == 0 ? XdsFaultOverrides.Empty : overrides;
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

    private static MeshHeaderMatch? DecodeStringMatch(StringMatcher matcher, MeshHeaderMatch match, string path, List<string> errors) =>
        // ignore_case is carried for every kind; for safe_regex it has no effect (Envoy's definition, which
        // the header matcher follows), where gRPC C-core would match the pattern case-insensitively.
        DecodeStringMatcher(matcher, path, errors) is { } decoded
            ? match with { Kind = decoded.Kind, Value = decoded.Value, IgnoreCase = decoded.IgnoreCase }
            : null;

    /// <summary>A StringMatcher (gRFC A63) as a kind, a value and whether case is ignored.</summary>
    private static (HeaderMatchKind Kind, string Value, bool IgnoreCase)? DecodeStringMatcher(StringMatcher matcher, string path, List<string> errors)
    {
        switch (matcher.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                return (HeaderMatchKind.Exact, matcher.Exact, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Prefix:
                return (HeaderMatchKind.Prefix, matcher.Prefix, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Suffix:
                return (HeaderMatchKind.Suffix, matcher.Suffix, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Contains:
                return (HeaderMatchKind.Contains, matcher.Contains, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                return ValidateRegex(matcher.SafeRegex.Regex, Field(path, "safe_regex"), errors)
                    ? (HeaderMatchKind.Regex, matcher.SafeRegex.Regex, matcher.IgnoreCase)
                    : null;
            default:
                // Includes the custom (extension) matcher, which our protos leave as an unknown field.
                AddError(errors, path, "no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)");
                return null;
        }
    }

    /// <summary>A query-parameter condition (Envoy's QueryParameterMatcher; HttpClient requests only).</summary>
    private static QueryParameterMatch? DecodeQueryParameter(QueryParameterMatcher matcher, string path, List<string> errors)
    {
        if (matcher.Name.Length == 0)
        {
            AddError(errors, Field(path, "name"), "must be non-empty");
            return null;
        }

        switch (matcher.QueryParameterMatchSpecifierCase)
        {
            case QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.StringMatch:
                return DecodeStringMatcher(matcher.StringMatch, Field(path, "string_match"), errors) is { } decoded
                    ? new QueryParameterMatch { Name = matcher.Name, Kind = decoded.Kind, Value = decoded.Value, IgnoreCase = decoded.IgnoreCase }
                    : null;
            case QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch when !matcher.PresentMatch:
                // Envoy matches a request *without* the parameter here; the model has no absence condition, and
                // reading it as a presence check would route exactly the wrong requests.
                AddError(errors, Field(path, "present_match"), "false (the parameter must be absent) is not supported; only presence can be required");
                return null;
            default:
                // present_match: true, or no specifier at all, which Envoy also treats as a presence check.
                return new QueryParameterMatch { Name = matcher.Name, Kind = HeaderMatchKind.Present };
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

    private static uint? DecodeRuntimeFraction(XdsRouteMatch match, string path, List<string> errors) =>
        // Only default_value counts: a proxyless client has no runtime to look runtime_key up in.
        match.RuntimeFraction?.DefaultValue is { } fraction
            ? ToPerMillion(fraction, Field(path, "runtime_fraction.default_value"), errors)
            : null;

    /// <returns>The clusters with weight above 0, and the fault-filter overrides of each of them.</returns>
    private static (List<MeshWeightedCluster> Clusters, List<IReadOnlyDictionary<string, FaultPolicy>> FaultOverrides) DecodeWeightedClusters(
        Envoy.Config.Route.V3.WeightedCluster weightedClusters,
        string path,
        List<string> errors)
    {
        var errorCount = errors.Count;
        var clusters = new List<MeshWeightedCluster>(weightedClusters.Clusters.Count);
        var overrides = new List<IReadOnlyDictionary<string, FaultPolicy>>(weightedClusters.Clusters.Count);
        ulong total = 0;
        for (var i = 0; i < weightedClusters.Clusters.Count; i++)
        {
            var cluster = weightedClusters.Clusters[i];
            var clusterPath = Field(path, $"clusters[{i}]");
            if (cluster.Name.Length == 0)
            {
                AddError(errors, Field(clusterPath, "name"), "must be non-empty");
            }

            var clusterOverrides = DecodeFilterOverrides(cluster.TypedPerFilterConfig, clusterPath, errors);
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
            overrides.Add(clusterOverrides);
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

        return (clusters, overrides);
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
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Cookie:
                    // HttpClient requests hash the cookie's value (Envoy); gRPC calls get no hash from it, as in
                    // gRPC (gRFC A42). ttl and path tell a proxy to set the cookie when it is missing, which a
                    // client has no response to do with; they are not read.
                    if (policy.Cookie.Name.Length == 0)
                    {
                        AddError(errors, Field(policyPath, "cookie.name"), "must be non-empty");
                        continue;
                    }

                    policies.Add(new MeshHashPolicy(HashPolicyKind.Cookie, policy.Cookie.Name, policy.Terminal));
                    break;
                default:
                    // connection_properties, query_parameter and other filter-state keys yield no hash in gRPC
                    // (gRFC A42), so they are left out rather than rejected.
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
