using Mesh.Client.Model;

namespace Mesh.Client.Xds.Internal;

/// <summary>The four resource types the client subscribes to over ADS, by type URL.</summary>
internal static class XdsTypeUrls
{
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string RouteConfiguration = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string ClusterLoadAssignment = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public const string Resource = "type.googleapis.com/envoy.service.discovery.v3.Resource";

    public static readonly string[] All = [Listener, RouteConfiguration, Cluster, ClusterLoadAssignment];

    /// <summary>Short names for messages and logs: LDS, RDS, CDS, EDS.</summary>
    public static string ShortName(string typeUrl) => typeUrl switch
    {
        Listener => "LDS",
        RouteConfiguration => "RDS",
        Cluster => "CDS",
        ClusterLoadAssignment => "EDS",
        _ => typeUrl,
    };

    /// <summary>
    /// Whether the server sends every subscribed resource of this type in each response, so that a
    /// subscribed name missing from a response means the resource was deleted (LDS and CDS).
    /// </summary>
    public static bool IsFullStateOfTheWorld(string typeUrl) => typeUrl is Listener or Cluster;
}

/// <summary>A decoded, validated xDS resource.</summary>
internal abstract record XdsResourceUpdate;

/// <summary>A Listener: an API listener with an HTTP connection manager.</summary>
/// <param name="RouteConfigName">The RouteConfiguration to fetch over RDS, or <see langword="null"/> when inline.</param>
/// <param name="InlineRouteConfig">The route configuration carried in the Listener itself.</param>
/// <param name="HttpFilters">The HTTP filters, the router last; optional filters the client does not know are left out.</param>
/// <param name="MaxStreamDuration">The connection manager's default maximum stream duration, if any.</param>
internal sealed record XdsListenerUpdate(
    string? RouteConfigName,
    XdsRouteConfigUpdate? InlineRouteConfig,
    IReadOnlyList<XdsHttpFilter> HttpFilters,
    TimeSpan? MaxStreamDuration) : XdsResourceUpdate
{
    /// <summary>
    /// The fault filters (gRFC A33) among <see cref="HttpFilters"/>, in filter order, each with the policy its
    /// connection-manager config gives; routes and virtual hosts override it by the filter's instance name.
    /// </summary>
    public IReadOnlyList<XdsFaultFilter> FaultFilters { get; init; } = [];
}

/// <summary>A fault filter of a connection manager.</summary>
/// <param name="Name">The filter's instance name, the key of the overrides in <c>typed_per_filter_config</c>.</param>
/// <param name="Policy">
/// The faults its own config injects; <see cref="XdsFaultOverrides.None"/> (no delay, no abort) when the filter is
/// <c>disabled</c> until a route or virtual host enables it.
/// </param>
internal sealed record XdsFaultFilter(string Name, FaultPolicy Policy);

/// <summary>One HTTP filter of a connection manager.</summary>
/// <param name="Name">The filter's instance name.</param>
/// <param name="TypeUrl">The type URL of its configuration (unwrapped from a TypedStruct).</param>
/// <param name="Config">The decoded configuration for filters the client acts on (the fault filter), else <see langword="null"/>.</param>
internal sealed record XdsHttpFilter(string Name, string TypeUrl, Google.Protobuf.IMessage? Config);

/// <summary>A RouteConfiguration.</summary>
internal sealed record XdsRouteConfigUpdate(string Name, IReadOnlyList<XdsVirtualHost> VirtualHosts) : XdsResourceUpdate;

/// <summary>
/// A virtual host. Its routes are already in the mesh model; <see cref="WeightedCluster.Cluster"/> holds
/// xDS cluster names. Routes the client cannot use for matching are left out (gRFC A28); routes whose
/// action it cannot carry out are kept with <see cref="MeshRoute.ErrorMessage"/> set.
/// </summary>
internal sealed record XdsVirtualHost(string Name, IReadOnlyList<string> Domains, IReadOnlyList<MeshRoute> Routes)
{
    /// <summary>The virtual host's <c>typed_per_filter_config</c> for fault filters, by filter instance name.</summary>
    public IReadOnlyDictionary<string, FaultPolicy> FaultOverrides { get; init; } = XdsFaultOverrides.Empty;

    /// <summary>
    /// What the routes say that only makes sense together with the connection manager, by route
    /// (<see cref="ReferenceEqualityComparer"/>: routes are records, and two routes may be equal). A route
    /// missing here has nothing of the kind.
    /// </summary>
    public IReadOnlyDictionary<MeshRoute, XdsRouteExtras> RouteExtras { get; init; } = XdsRouteExtras.EmptyTable;
}

/// <summary>
/// The parts of a route that the connection manager completes: fault-filter overrides (gRFC A39, A33) and
/// whether the route sets its own stream duration (gRFC A31: else the connection manager's applies).
/// </summary>
internal sealed record XdsRouteExtras
{
    /// <summary>An empty table, for virtual hosts without extras.</summary>
    public static IReadOnlyDictionary<MeshRoute, XdsRouteExtras> EmptyTable { get; } =
        new Dictionary<MeshRoute, XdsRouteExtras>(ReferenceEqualityComparer.Instance);

    /// <summary>The route's <c>typed_per_filter_config</c> for fault filters, by filter instance name.</summary>
    public IReadOnlyDictionary<string, FaultPolicy> FaultOverrides { get; init; } = XdsFaultOverrides.Empty;

    /// <summary>
    /// The <c>typed_per_filter_config</c> of each weighted cluster, in the order of <see cref="MeshRoute.Clusters"/>
    /// (empty when the route has a single cluster).
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, FaultPolicy>> ClusterFaultOverrides { get; init; } = [];

    /// <summary>
    /// Whether the route's <c>max_stream_duration</c> sets <c>max_stream_duration</c> or <c>grpc_timeout_header_max</c>
    /// (even to 0, "no limit"); when it does not, the connection manager's <c>max_stream_duration</c> applies.
    /// </summary>
    public bool SetsMaxStreamDuration { get; init; }
}

/// <summary>Fault-filter overrides: the filter instance name → the faults it injects there.</summary>
internal static class XdsFaultOverrides
{
    /// <summary>No overrides.</summary>
    public static IReadOnlyDictionary<string, FaultPolicy> Empty { get; } = new Dictionary<string, FaultPolicy>(StringComparer.Ordinal);

    /// <summary>A fault filter that injects nothing: a disabled filter, or one configured without delay and abort.</summary>
    public static FaultPolicy None { get; } = new();

    /// <summary>Whether a policy injects anything.</summary>
    public static bool InjectsFaults(FaultPolicy policy) => policy.Delay is not null || policy.Abort is not null;
}

/// <summary>What kind of cluster a Cluster resource is.</summary>
internal enum XdsClusterKind
{
    /// <summary>Endpoints come from EDS.</summary>
    Eds,

    /// <summary>One endpoint named by a DNS host name.</summary>
    LogicalDns,

    /// <summary>A prioritised list of other clusters (gRFC A37).</summary>
    Aggregate,
}

/// <summary>A Cluster.</summary>
internal sealed record XdsClusterUpdate : XdsResourceUpdate
{
    public required string Name { get; init; }

    public required XdsClusterKind Kind { get; init; }

    /// <summary>EDS: the ClusterLoadAssignment name to fetch (<c>eds_cluster_config.service_name</c>, else the cluster name).</summary>
    public string? EdsServiceName { get; init; }

    /// <summary>LOGICAL_DNS: the host and port.</summary>
    public string? DnsHost { get; init; }

    public int DnsPort { get; init; }

    /// <summary>Aggregate: the child clusters in priority order.</summary>
    public IReadOnlyList<string> AggregateChildren { get; init; } = [];

    /// <summary>The load-balancing policy, from <c>load_balancing_policy</c> or <c>lb_policy</c>.</summary>
    public required LoadBalancingPolicy LoadBalancing { get; init; }

    /// <summary>The HTTP version the cluster speaks, from its upstream HTTP protocol options (Istio sets HTTP/2 for gRPC ports).</summary>
    public UpstreamProtocol Protocol { get; init; }

    /// <summary>The circuit breaker: <c>max_requests</c> of the DEFAULT-priority threshold (gRFC A32).</summary>
    public uint MaxRequests { get; init; } = MeshCluster.DefaultMaxRequests;

    /// <summary>Outlier detection (gRFC A50), when the cluster configures it.</summary>
    public OutlierDetectionPolicy? OutlierDetection { get; init; }

    /// <summary>TLS towards the endpoints (gRFC A29, from <c>transport_socket</c>); <see langword="null"/> is plaintext.</summary>
    public MeshClusterTls? Tls { get; init; }
}

/// <summary>A ClusterLoadAssignment, already in the mesh model.</summary>
/// <param name="Priorities">Localities by priority; localities without weight are left out.</param>
internal sealed record XdsEndpointUpdate(IReadOnlyList<MeshPriority> Priorities) : XdsResourceUpdate;

/// <summary>The outcome of decoding one resource of a response.</summary>
/// <param name="Name">The resource's name, when it could be read; a NACK names the resource by it.</param>
/// <param name="Update">The validated resource, or <see langword="null"/> when it is invalid.</param>
/// <param name="Error">Why the resource is invalid.</param>
internal readonly record struct XdsDecodeResult(string? Name, XdsResourceUpdate? Update, string? Error)
{
    public static XdsDecodeResult Valid(string name, XdsResourceUpdate update) => new(name, update, null);

    public static XdsDecodeResult Invalid(string? name, string error) => new(name, null, error);
}
