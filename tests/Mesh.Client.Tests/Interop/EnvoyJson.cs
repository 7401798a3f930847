using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// xDS resources as the JSON objects <c>tests/interop/node/xds-server.js</c> encodes with protobufjs from the
/// upstream Envoy protos: field names as in the .proto files, enums by name, Durations as
/// <c>{"seconds": n}</c>, wrappers as <c>{"value": n}</c>, Any as <c>{"@type": …}</c>.
/// </summary>
internal static class EnvoyJson
{
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string RouteConfiguration = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string ClusterLoadAssignment = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    private const string Ads = """{ "ads": {}, "resource_api_version": "V3" }""";

    public static string RouterFilter => """
        { "name": "envoy.filters.http.router",
          "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }
        """;

    /// <summary>The fault filter as Istio sends it, here with an abort and a delay that apply to 0% of requests.</summary>
    public static string FaultFilter => """
        { "name": "envoy.filters.http.fault",
          "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
            "delay": { "fixed_delay": { "seconds": 1 }, "percentage": { "numerator": 0, "denominator": "HUNDRED" } },
            "abort": { "grpc_status": 14, "percentage": { "numerator": 0, "denominator": "HUNDRED" } },
            "max_active_faults": { "value": 100 } } }
        """;

    /// <summary>A client-side Listener whose HTTP connection manager fetches <paramref name="routeConfigName"/> over ADS.</summary>
    public static string RdsListener(string name, string routeConfigName, params string[] filters) => Object($$"""
        {
          "@type": "{{Listener}}",
          "name": {{Quote(name)}},
          "api_listener": { "api_listener": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "interop",
            "rds": { "config_source": {{Ads}}, "route_config_name": {{Quote(routeConfigName)}} },
            "common_http_protocol_options": { "max_stream_duration": { "seconds": 30 } },
            "http_filters": [ {{string.Join(", ", filters)}} ] } }
        }
        """);

    /// <summary>A client-side Listener with its route configuration inline.</summary>
    public static string InlineListener(string name, string routeConfiguration, params string[] filters)
    {
        var routes = JsonNode.Parse(routeConfiguration)!.AsObject();
        routes.Remove("@type");
        return Object($$"""
            {
              "@type": "{{Listener}}",
              "name": {{Quote(name)}},
              "api_listener": { "api_listener": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "interop",
                "route_config": {{routes.ToJsonString()}},
                "http_filters": [ {{string.Join(", ", filters)}} ] } }
            }
            """);
    }

    /// <summary>A RouteConfiguration with one virtual host for <paramref name="domain"/> and the given routes, in order.</summary>
    public static string Routes(string name, string domain, params string[] routes) => Object($$"""
        {
          "@type": "{{RouteConfiguration}}",
          "name": {{Quote(name)}},
          "virtual_hosts": [ { "name": "interop", "domains": [ {{Quote(domain)}} ], "routes": [ {{string.Join(", ", routes)}} ] } ]
        }
        """);

    /// <summary>An EDS cluster over ADS; <paramref name="lb"/> holds its load-balancing fields (<c>"lb_policy": …</c>, …).</summary>
    public static string EdsCluster(string name, string lb = "\"lb_policy\": \"ROUND_ROBIN\"") => Object($$"""
        {
          "@type": "{{Cluster}}",
          "name": {{Quote(name)}},
          "type": "EDS",
          "eds_cluster_config": { "eds_config": {{Ads}}, "service_name": {{Quote(name)}} },
          "connect_timeout": { "seconds": 5 },
          {{lb}},
          "typed_extension_protocol_options": { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": { "http2_protocol_options": {} } } }
        }
        """);

    /// <summary><c>load_balancing_policy</c> of WrrLocality choosing localities by weight, round robin inside each (gRFC A52).</summary>
    public static string WrrLocalityRoundRobin => """
        "load_balancing_policy": { "policies": [ { "typed_extension_config": {
          "name": "envoy.load_balancing_policies.wrr_locality",
          "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality",
            "endpoint_picking_policy": { "policies": [ { "typed_extension_config": {
              "name": "envoy.load_balancing_policies.round_robin",
              "typed_config": { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" } } } ] } } } } ] }
        """;

    /// <summary>An aggregate cluster over <paramref name="children"/>, in priority order (gRFC A37).</summary>
    public static string AggregateCluster(string name, params string[] children) => Object($$"""
        {
          "@type": "{{Cluster}}",
          "name": {{Quote(name)}},
          "cluster_type": { "name": "envoy.clusters.aggregate", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig",
            "clusters": [ {{string.Join(", ", children.Select(Quote))}} ] } }
        }
        """);

    /// <summary>A LOGICAL_DNS cluster resolving <paramref name="address"/> (<c>host:port</c>).</summary>
    public static string LogicalDnsCluster(string name, string address) => Object($$"""
        {
          "@type": "{{Cluster}}",
          "name": {{Quote(name)}},
          "type": "LOGICAL_DNS",
          "lb_policy": "ROUND_ROBIN",
          "load_assignment": { "cluster_name": {{Quote(name)}}, "endpoints": [ { "lb_endpoints": [ {{LbEndpoint(address)}} ] } ] },
          "typed_extension_protocol_options": { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": { "http2_protocol_options": {} } } }
        }
        """);

    /// <summary>A ClusterLoadAssignment with the given localities (see <see cref="Locality"/>).</summary>
    public static string Endpoints(string clusterName, params string[] localities) => Object($$"""
        { "@type": "{{ClusterLoadAssignment}}", "cluster_name": {{Quote(clusterName)}}, "endpoints": [ {{string.Join(", ", localities)}} ] }
        """);

    /// <summary>A LocalityLbEndpoints: a zone, its weight and priority, and its endpoints.</summary>
    public static string Locality(string zone, uint weight, uint priority, string health, params string[] addresses) => $$"""
        {
          "locality": { "region": "interop", "zone": {{Quote(zone)}} },
          "load_balancing_weight": { "value": {{weight.ToString(CultureInfo.InvariantCulture)}} },
          "priority": {{priority.ToString(CultureInfo.InvariantCulture)}},
          "lb_endpoints": [ {{string.Join(", ", addresses.Select(a => LbEndpoint(a, health)))}} ]
        }
        """;

    public static string Quote(string value) => JsonSerializer.Serialize(value);

    private static string LbEndpoint(string address, string health = "HEALTHY")
    {
        var colon = address.LastIndexOf(':');
        return $$"""
            { "endpoint": { "address": { "socket_address": { "address": {{Quote(address[..colon])}}, "port_value": {{address[(colon + 1)..]}} } } },
              "health_status": {{Quote(health)}}, "load_balancing_weight": { "value": 1 } }
            """;
    }

    /// <summary>Parses and re-serialises, so that a malformed literal fails here and not in the node server.</summary>
    private static string Object(string json) => JsonNode.Parse(json)!.ToJsonString();
}
