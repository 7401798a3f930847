using Envoy.Config.Route.V3;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshHeaderMatch = Mesh.Client.Model.HeaderMatch;
using MeshRetryPolicy = Mesh.Client.Model.RetryPolicy;
using MeshRouteMatch = Mesh.Client.Model.RouteMatch;

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
internal static partial class XdsRouteDecoder
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
}
