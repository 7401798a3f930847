using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Type.V3;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using FaultPolicy = Mesh.Client.Model.FaultPolicy;
using MeshFaultAbort = Mesh.Client.Model.FaultAbort;
using MeshFaultDelay = Mesh.Client.Model.FaultDelay;
using XdsFaultDelay = Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay;

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

        var filters = DecodeHttpFilters(hcm, errors, out var faultFilters);

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
            : new XdsListenerUpdate(routeConfigName, inlineRouteConfig, filters, maxStreamDuration) { FaultFilters = faultFilters };
    }

    private static List<XdsHttpFilter> DecodeHttpFilters(HttpConnectionManager hcm, List<string> errors, out List<XdsFaultFilter> faultFilters)
    {
        var errorCount = errors.Count;
        faultFilters = [];
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
                    if (filter.Disabled)
                    {
                        // Envoy: a terminal filter cannot be disabled; without it nothing is forwarded.
                        AddError(errors, Field(path, "disabled"), $"the router filter \"{filter.Name}\" cannot be disabled");
                    }

                    filters.Add(new XdsHttpFilter(filter.Name, RouterTypeUrl, null));
                    indexes.Add(i);
                    break;
                case FaultTypeName:
                    if (Unpack(extension, HTTPFault.Parser, configPath, errors) is { } fault && DecodeFault(fault, configPath, errors) is { } policy)
                    {
                        filters.Add(new XdsHttpFilter(filter.Name, FaultTypeUrl, fault));
                        indexes.Add(i);

                        // A disabled filter (Envoy; gRPC does not read the flag) runs only where a route or virtual
                        // host enables it with typed_per_filter_config; its own config is still validated.
                        faultFilters.Add(new XdsFaultFilter(filter.Name, filter.Disabled ? XdsFaultOverrides.None : policy));
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

    /// <summary>
    /// Turns a fault filter's config into the faults it injects (gRFC A33, Envoy's HTTPFault), at the connection
    /// manager or as a <c>typed_per_filter_config</c> override (same message). Delay: <c>fixed_delay</c> or
    /// <c>header_delay</c>; abort: <c>http_status</c>, <c>grpc_status</c> or <c>header_abort</c>; each with its
    /// <c>percentage</c>; and <c>max_active_faults</c>. The selectors gRPC defers (<c>headers</c>,
    /// <c>upstream_cluster</c>, <c>downstream_nodes</c>) and the runtime keys are not read.
    /// </summary>
    /// <returns>The policy, or <see langword="null"/> after recording errors.</returns>
    internal static FaultPolicy? DecodeFault(HTTPFault fault, string path, List<string> errors)
    {
        var errorCount = errors.Count;
        MeshFaultDelay? delay = null;
        if (fault.Delay is { } delayConfig)
        {
            var delayPath = Field(path, "delay");
            delay = new MeshFaultDelay { PerMillion = Share(delayConfig.Percentage, Field(delayPath, "percentage"), errors) };
            switch (delayConfig.FaultDelaySecifierCase)
            {
                case XdsFaultDelay.FaultDelaySecifierOneofCase.FixedDelay:
                    delay = delay with { FixedDelay = ParseDuration(delayConfig.FixedDelay, Field(delayPath, "fixed_delay"), errors) };
                    break;
                case XdsFaultDelay.FaultDelaySecifierOneofCase.HeaderDelay:
                    delay = delay with { FromHeader = true };
                    break;
                default:
                    // Envoy declares the oneof required and grpc-js rejects it; C-core 1.51 reads it as no delay.
                    AddError(errors, delayPath, "no delay set (expected fixed_delay or header_delay)");
                    break;
            }
        }

        MeshFaultAbort? abort = null;
        if (fault.Abort is { } abortConfig)
        {
            var abortPath = Field(path, "abort");
            abort = new MeshFaultAbort { PerMillion = Share(abortConfig.Percentage, Field(abortPath, "percentage"), errors) };
            switch (abortConfig.ErrorTypeCase)
            {
                case FaultAbort.ErrorTypeOneofCase.HttpStatus:
                    // Envoy accepts 200-599 only, but both gRPC references take any value (mapping it to a gRPC
                    // status); it is carried as it is, and the fault injector ignores a status it cannot send.
                    abort = abort with { HttpStatus = (int)Math.Min(abortConfig.HttpStatus, int.MaxValue) };
                    break;
                case FaultAbort.ErrorTypeOneofCase.GrpcStatus:
                    if (!ModelRules.IsGrpcStatus(abortConfig.GrpcStatus))
                    {
                        AddError(errors, Field(abortPath, "grpc_status"), $"invalid gRPC status code {abortConfig.GrpcStatus}");
                    }

                    abort = abort with { GrpcStatus = (int)Math.Min(abortConfig.GrpcStatus, int.MaxValue) };
                    break;
                case FaultAbort.ErrorTypeOneofCase.HeaderAbort:
                    abort = abort with { FromHeader = true };
                    break;
                default:
                    // Envoy declares the oneof required and grpc-js rejects it; C-core 1.51 reads it as status OK.
                    AddError(errors, abortPath, "no error type set (expected http_status, grpc_status or header_abort)");
                    break;
            }
        }

        return errors.Count > errorCount
            ? null
            : new FaultPolicy { Delay = delay, Abort = abort, MaxActiveFaults = fault.MaxActiveFaults };
    }

    // Without a percentage no request is faulted: Envoy reads the missing FractionalPercent as 0 and so does
    // C-core (grpc-js rejects the config instead).
    private static uint Share(FractionalPercent? percentage, string path, List<string> errors) =>
        percentage is null ? 0 : ToPerMillion(percentage, path, errors) ?? 0;
}
