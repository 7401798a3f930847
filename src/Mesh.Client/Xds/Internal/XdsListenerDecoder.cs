using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a client-side Listener (gRFC A27, A39): an API listener holding an HTTP connection manager,
/// its route configuration (RDS over ADS, or inline) and its HTTP filters.
/// </summary>
internal static class XdsListenerDecoder
{
    public const string HttpConnectionManagerTypeName = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    public const string RouterTypeName = "envoy.extensions.filters.http.router.v3.Router";
    public const string FaultTypeName = "envoy.extensions.filters.http.fault.v3.HTTPFault";

    /// <summary>The type URL <see cref="XdsHttpFilter.TypeUrl"/> holds for the router filter.</summary>
    public static readonly string RouterTypeUrl = TypeUrlOf(RouterTypeName);

    /// <summary>The type URL <see cref="XdsHttpFilter.TypeUrl"/> holds for the fault filter, whose <see cref="XdsHttpFilter.Config"/> is an <see cref="HTTPFault"/>.</summary>
    public static readonly string FaultTypeUrl = TypeUrlOf(FaultTypeName);

    public static XdsListenerUpdate? Decode(Listener listener, List<string> errors)
    {
        if (listener.ApiListener is null)
        {
            // A Listener without one is a server-side (TCP) listener, which a client cannot use.
            AddError(errors, "api_listener", "field not present (a client needs an API listener)");
            return null;
        }

        const string HcmPath = "api_listener.api_listener";
        if (ExtractExtension(listener.ApiListener.ApiListener_, HcmPath, errors) is not { } hcmExtension)
        {
            return null;
        }

        if (hcmExtension.TypeName != HttpConnectionManagerTypeName || hcmExtension.Value is null)
        {
            var found = hcmExtension.Value is null ? $"a TypedStruct of {hcmExtension.TypeName}" : hcmExtension.TypeName;
            AddError(errors, HcmPath, $"must be an {HttpConnectionManagerTypeName}, found {found}");
            return null;
        }

        var hcm = Unpack(hcmExtension, HttpConnectionManager.Parser, HcmPath, errors);
        return hcm is null ? null : DecodeConnectionManager(hcm, errors);
    }

    // Paths below are relative to the connection manager: that is where every client-side setting lives.
    private static XdsListenerUpdate? DecodeConnectionManager(HttpConnectionManager hcm, List<string> errors)
    {
        var errorCount = errors.Count;

        TimeSpan? maxStreamDuration = null;
        if (hcm.CommonHttpProtocolOptions?.MaxStreamDuration is { } duration)
        {
            maxStreamDuration = ParseDuration(duration, "common_http_protocol_options.max_stream_duration", errors);
        }

        var filters = DecodeHttpFilters(hcm, errors);

        string? routeConfigName = null;
        XdsRouteConfigUpdate? inlineRouteConfig = null;
        switch (hcm.RouteSpecifierCase)
        {
            case HttpConnectionManager.RouteSpecifierOneofCase.Rds:
                ValidateConfigSource(hcm.Rds.ConfigSource, "rds.config_source", errors);
                routeConfigName = hcm.Rds.RouteConfigName;
                if (routeConfigName.Length == 0)
                {
                    AddError(errors, "rds.route_config_name", "must be non-empty");
                }

                break;
            case HttpConnectionManager.RouteSpecifierOneofCase.RouteConfig:
                inlineRouteConfig = XdsRouteDecoder.Decode(hcm.RouteConfig, "route_config", errors);
                break;
            default:
                // scoped_routes (and any newer specifier) arrive as an unset oneof.
                AddError(errors, "route_specifier", "neither rds nor route_config is set (scoped_routes is not supported)");
                break;
        }

        return errors.Count > errorCount
            ? null
            : new XdsListenerUpdate(routeConfigName, inlineRouteConfig, filters, maxStreamDuration);
    }

    private static List<XdsHttpFilter> DecodeHttpFilters(HttpConnectionManager hcm, List<string> errors)
    {
        var errorCount = errors.Count;
        var filters = new List<XdsHttpFilter>(hcm.HttpFilters.Count);
        var indexes = new List<int>(hcm.HttpFilters.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < hcm.HttpFilters.Count; i++)
        {
            var filter = hcm.HttpFilters[i];
            var path = $"http_filters[{i}]";
            if (filter.Name.Length == 0)
            {
                AddError(errors, Field(path, "name"), "must be non-empty");
                continue;
            }

            if (!names.Add(filter.Name))
            {
                AddError(errors, Field(path, "name"), $"duplicate filter name \"{filter.Name}\"");
                continue;
            }

            // gRPC requires typed_config even for an optional filter: without it the filter has no type.
            var configPath = Field(path, "typed_config");
            if (ExtractExtension(filter.TypedConfig, configPath, errors) is not { } extension)
            {
                continue;
            }

            switch (extension.TypeName)
            {
                case RouterTypeName:
                    // The router's settings mean nothing to a client; none are read.
                    filters.Add(new XdsHttpFilter(filter.Name, RouterTypeUrl, null));
                    indexes.Add(i);
                    break;
                case FaultTypeName:
                    if (Unpack(extension, HTTPFault.Parser, configPath, errors) is { } fault && IsValidFault(fault, configPath, errors))
                    {
                        filters.Add(new XdsHttpFilter(filter.Name, FaultTypeUrl, fault));
                        indexes.Add(i);
                    }

                    break;
                default:
                    if (!filter.IsOptional)
                    {
                        AddError(errors, configPath, $"unsupported filter type {extension.TypeName} in filter \"{filter.Name}\" (set is_optional to let clients skip it)");
                    }

                    break;
            }
        }

        if (errors.Count > errorCount)
        {
            return filters;
        }

        // gRPC C-core NACKs a connection manager without filters (grpc-js accepts it): without the router
        // nothing says the requests are to be forwarded.
        if (filters.Count == 0)
        {
            AddError(errors, "http_filters", $"must not be empty: the last filter must be the router ({RouterTypeName})");
            return filters;
        }

        for (var i = 0; i < filters.Count - 1; i++)
        {
            if (filters[i].TypeUrl == RouterTypeUrl)
            {
                AddError(errors, $"http_filters[{indexes[i]}]", $"the router filter \"{filters[i].Name}\" must be the last filter");
            }
        }

        if (filters[^1].TypeUrl != RouterTypeUrl)
        {
            AddError(errors, "http_filters", $"the last filter must be the router ({RouterTypeName}), found {filters[^1].Name}");
        }

        return filters;
    }

    // The checks gRPC makes when it turns the fault filter's config into a policy (gRFC A33); the rest is
    // the fault filter's business when it applies the config.
    private static bool IsValidFault(HTTPFault fault, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        if (fault.Abort is { GrpcStatus: > 16 } abort)
        {
            AddError(errors, Field(path, "abort.grpc_status"), $"invalid gRPC status code {abort.GrpcStatus}");
        }

        if (fault.Delay?.FixedDelay is { } delay)
        {
            ParseDuration(delay, Field(path, "delay.fixed_delay"), errors);
        }

        return errors.Count == errorCount;
    }
}
