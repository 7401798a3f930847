using Mesh.Client.Configuration.Internal;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;

namespace Mesh.Client.Configuration;

/// <summary>
/// The <c>Mesh</c> configuration: the services this process calls, their endpoints, load balancing and
/// routes. Bound from the <c>Mesh</c> section of appsettings.json by <c>AddMesh()</c>, or set in code
/// with <c>AddMesh(options => ...)</c>.
/// </summary>
public sealed class MeshOptions
{
    /// <summary>The default configuration section name.</summary>
    public const string SectionName = "Mesh";

    /// <summary>Services by name. The name is what callers address: <c>http://catalog/...</c> or <c>xds:///catalog</c>.</summary>
    public IDictionary<string, MeshServiceOptions> Services { get; } = new Dictionary<string, MeshServiceOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The xDS control plane, when there is one.</summary>
    public MeshXdsOptions Xds { get; set; } = new();

    /// <summary>Certificate providers that services' <see cref="MeshServiceOptions.Tls"/> settings name.</summary>
    public MeshTlsOptions Tls { get; set; } = new();

    /// <summary>The configuration path that error messages start with; the bound section's path, else <c>Mesh</c>.</summary>
    internal string ConfigurationPath { get; set; } = SectionName;

    /// <summary>Values the binder could not convert, reported by validation with their paths.</summary>
    internal List<MeshConfigurationError> BindingErrors { get; } = [];
}

/// <summary>
/// How the mesh uses an xDS control plane. The control plane is found through the gRPC bootstrap:
/// <c>GRPC_XDS_BOOTSTRAP</c> (a file), then <c>GRPC_XDS_BOOTSTRAP_CONFIG</c> (JSON), then <see cref="Bootstrap"/>.
/// </summary>
public sealed class MeshXdsOptions
{
    /// <summary>Istio's service names, with and without a port.</summary>
    public static IReadOnlyList<string> DefaultHttpHosts { get; } = ["*.svc.cluster.local", "*.svc.cluster.local:*"];

    /// <summary>A bootstrap file path, or the bootstrap JSON itself (starting with <c>{</c>). Used only when neither environment variable is set.</summary>
    public string? Bootstrap { get; set; }

    /// <summary>
    /// Which HttpClient hosts are asked of the control plane: patterns where <c>*</c> stands for any run of
    /// characters, matched against <c>host</c> or <c>host:port</c> as the request writes it. A host that
    /// matches none is never looked up, so requests to it are not slowed. Defaults to
    /// <see cref="DefaultHttpHosts"/> when empty. gRPC <c>xds:///</c> targets are always asked.
    /// </summary>
    public IList<string> HttpHosts { get; } = [];

    /// <summary>How long the first request for a name waits for its configuration (or less, by its own deadline). Default 15 s, gRPC's does-not-exist timer.</summary>
    public TimeSpan ConfigWaitTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// One service: its endpoints and how requests to it are balanced and routed. Its request policies
/// (<see cref="MeshRequestPolicyOptions.Timeout"/>, <see cref="MeshRequestPolicyOptions.Retry"/>, …) are the
/// defaults of its routes.
/// </summary>
public sealed class MeshServiceOptions : MeshRequestPolicyOptions
{
    /// <summary>Most requests in flight to the service's endpoints at once; more fail fast (circuit breaking, default 1024).</summary>
    public int MaxRequests { get; set; } = (int)Model.MeshCluster.DefaultMaxRequests;

    /// <summary>Passive health checking of the endpoints.</summary>
    public MeshOutlierDetectionOptions? OutlierDetection { get; set; }

    /// <summary>
    /// The names callers address the service by, each <c>host</c> or <c>host:port</c> exactly as the caller
    /// writes it (<c>http://catalog.internal:7070/</c> is <c>catalog.internal:7070</c>). Empty means the
    /// service's key. Needed for names with a port, because configuration keys cannot contain <c>:</c>.
    /// </summary>
    public IList<string> Hosts { get; } = [];

    /// <summary>The service's endpoints. In appsettings.json each is <c>"host:port"</c> or an object.</summary>
    public IList<MeshEndpointOptions> Endpoints { get; } = [];

    /// <summary>How requests are spread over the endpoints.</summary>
    public MeshLoadBalancingOptions LoadBalancing { get; set; } = new();

    /// <summary>
    /// HTTP version towards the endpoints for HttpClient requests: <see cref="UpstreamProtocol.Auto"/> (keep the request's),
    /// <see cref="UpstreamProtocol.Http1"/> or <see cref="UpstreamProtocol.Http2"/> (cleartext HTTP/2 for <c>http://</c>, as a
    /// Kestrel port that serves both REST and gRPC needs).
    /// </summary>
    public UpstreamProtocol Protocol { get; set; } = UpstreamProtocol.Auto;

    /// <summary>
    /// TLS (or mutual TLS) towards the service's endpoints, with certificates from <see cref="MeshOptions.Tls"/>;
    /// <see langword="null"/> is plaintext. It applies to every request sent to these endpoints, including
    /// those that other services' routes send here.
    /// </summary>
    public MeshServiceTlsOptions? Tls { get; set; }

    /// <summary>Weights of localities (zones) by zone name; a zone not listed has weight 1.</summary>
    public IDictionary<string, MeshLocalityOptions> Localities { get; } = new Dictionary<string, MeshLocalityOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Routes in match order. A request that matches none goes to this service's own endpoints if it has
    /// any; a service without endpoints fails such a request.
    /// </summary>
    public IList<MeshRouteOptions> Routes { get; } = [];
}

/// <summary>One endpoint of a service.</summary>
public sealed class MeshEndpointOptions
{
    /// <summary><c>host:port</c>; an IPv6 host in brackets (<c>[::1]:5001</c>).</summary>
    public string Address { get; set; } = string.Empty;

    /// <summary>Relative weight within its locality, 1 or more.</summary>
    public int Weight { get; set; } = 1;

    /// <summary>Region of the endpoint's locality.</summary>
    public string? Region { get; set; }

    /// <summary>Zone of the endpoint's locality.</summary>
    public string? Zone { get; set; }

    /// <summary>Sub-zone of the endpoint's locality.</summary>
    public string? SubZone { get; set; }

    /// <summary>Priority, 0 (most preferred, the default) or more. Traffic fails over to the next priority when one has no usable endpoint.</summary>
    public int Priority { get; set; }

    /// <summary>Health: <c>Healthy</c> (default), <c>Unknown</c>, <c>Unhealthy</c>, <c>Draining</c>, <c>Timeout</c> or <c>Degraded</c>. Only healthy and unknown endpoints get new requests.</summary>
    public EndpointHealth Health { get; set; } = EndpointHealth.Healthy;

    /// <summary>Key for <c>ring_hash</c> and <c>maglev</c> placement instead of the address.</summary>
    public string? HashKey { get; set; }
}

/// <summary>A service's load-balancing policy and its settings.</summary>
public sealed class MeshLoadBalancingOptions
{
    /// <summary>
    /// <c>round_robin</c> (default), <c>least_request</c>, <c>random</c>, <c>ring_hash</c>, <c>maglev</c> or <c>pick_first</c>.
    /// Case and word separators do not matter: <c>RoundRobin</c> and <c>round-robin</c> are <c>round_robin</c>.
    /// </summary>
    public string Policy { get; set; } = LoadBalancingPolicyNames.RoundRobin;

    /// <summary>Whether configuration wrote the policy as <c>"LoadBalancing": "name"</c>, so that errors name that key.</summary>
    internal bool PolicyIsShortForm { get; set; }

    /// <summary><c>least_request</c>: candidates per pick, 2 or more; above 10 counts as 10 (gRFC A48, as from xDS).</summary>
    public int ChoiceCount { get; set; } = ModelRules.DefaultChoiceCount;

    /// <summary><c>ring_hash</c>: minimum ring size.</summary>
    public long MinRingSize { get; set; } = ModelRules.DefaultMinRingSize;

    /// <summary><c>ring_hash</c>: maximum ring size, at most 8,388,608.</summary>
    public long MaxRingSize { get; set; } = ModelRules.DefaultMaxRingSize;

    /// <summary><c>maglev</c>: lookup table size, a prime.</summary>
    public int TableSize { get; set; } = MaglevPolicy.DefaultTableSize;

    /// <summary><c>ring_hash</c> and <c>maglev</c>: the request header whose value is hashed. Without it each request gets a random hash.</summary>
    public string? HashHeader { get; set; }

    /// <summary><c>pick_first</c>: shuffle the endpoint list once per configuration.</summary>
    public bool Shuffle { get; set; }
}

/// <summary>Settings of one locality.</summary>
public sealed class MeshLocalityOptions
{
    /// <summary>Relative share of its priority's traffic, 1 or more.</summary>
    public int Weight { get; set; } = 1;
}

/// <summary>A route: a match, the cluster(s) matching requests go to, and its request policies.</summary>
public sealed class MeshRouteOptions : MeshRequestPolicyOptions
{
    /// <summary>Take the target service from this request header instead (<c>cluster_header</c>).</summary>
    public string? ClusterHeader { get; set; }

    /// <summary>HttpClient: cookie hashed for <c>ring_hash</c>/<c>maglev</c> on this route.</summary>
    public string? HashCookie { get; set; }

    /// <summary>Optional name, for diagnostics.</summary>
    public string? Name { get; set; }

    /// <summary>The conditions; an empty match takes every request.</summary>
    public MeshRouteMatchOptions Match { get; set; } = new();

    /// <summary>The service whose endpoints matching requests go to. Set this or <see cref="WeightedClusters"/>.</summary>
    public string? Cluster { get; set; }

    /// <summary>A weighted split between services, e.g. <c>{ "catalog": 90, "catalog-v2": 10 }</c>.</summary>
    public IDictionary<string, int> WeightedClusters { get; } = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Header hashed for <c>ring_hash</c>/<c>maglev</c> on this route; defaults to the target service's <see cref="MeshLoadBalancingOptions.HashHeader"/>.</summary>
    public string? HashHeader { get; set; }
}

/// <summary>The conditions of a route. Set at most one of <see cref="Path"/>, <see cref="PathPrefix"/>, <see cref="PathRegex"/>.</summary>
public sealed class MeshRouteMatchOptions
{
    /// <summary>The path starts with this value.</summary>
    public string? PathPrefix { get; set; }

    /// <summary>The path equals this value.</summary>
    public string? Path { get; set; }

    /// <summary>The whole path matches this regular expression (RE2 semantics: linear time).</summary>
    public string? PathRegex { get; set; }

    /// <summary>Whether path comparison is case sensitive (default <see langword="true"/>).</summary>
    public bool CaseSensitive { get; set; } = true;

    /// <summary>Header conditions by header name. In appsettings.json a plain string means an exact match.</summary>
    public IDictionary<string, MeshHeaderMatchOptions> Headers { get; } = new Dictionary<string, MeshHeaderMatchOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>HttpClient: query-parameter conditions by name (a plain string means exact). gRPC calls never match such a route.</summary>
    public IDictionary<string, MeshHeaderMatchOptions> QueryParameters { get; } = new Dictionary<string, MeshHeaderMatchOptions>(StringComparer.Ordinal);

    /// <summary>Match only this percentage of otherwise matching requests (0–100, decimals allowed).</summary>
    public double? Percentage { get; set; }
}

/// <summary>One header condition; set exactly one of the value conditions or <see cref="Present"/>.</summary>
public sealed class MeshHeaderMatchOptions
{
    /// <summary>The value equals this.</summary>
    public string? Exact { get; set; }

    /// <summary>The value starts with this.</summary>
    public string? Prefix { get; set; }

    /// <summary>The value ends with this.</summary>
    public string? Suffix { get; set; }

    /// <summary>The value contains this.</summary>
    public string? Contains { get; set; }

    /// <summary>The whole value matches this regular expression.</summary>
    public string? Regex { get; set; }

    /// <summary><see langword="true"/>: the header is present; <see langword="false"/>: it is absent.</summary>
    public bool? Present { get; set; }

    /// <summary>Compare ignoring case.</summary>
    public bool IgnoreCase { get; set; }

    /// <summary>Invert the condition.</summary>
    public bool Invert { get; set; }
}
