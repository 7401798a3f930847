namespace Mesh.Client.Model;

/// <summary>
/// A set of interchangeable endpoints, grouped by priority and locality, with the policy that spreads
/// requests over them.
/// </summary>
public sealed record MeshCluster
{
    /// <summary>Cluster name.</summary>
    public required string Name { get; init; }

    /// <summary>How requests are spread over the endpoints of the chosen priority.</summary>
    public required LoadBalancingPolicy LoadBalancing { get; init; }

    /// <summary>
    /// When set, the cluster cannot take requests and this says why (for example, the control plane says
    /// it does not exist). Requests routed to it fail with the message.
    /// </summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Most requests in flight to the cluster at once; beyond it requests fail fast (gRFC A32, default 1024).</summary>
    public uint MaxRequests { get; init; } = DefaultMaxRequests;

    /// <summary>The circuit breaker's default limit.</summary>
    public const uint DefaultMaxRequests = 1024;

    /// <summary>Passive health checking: endpoints that fail are ejected for a while (gRFC A50).</summary>
    public OutlierDetectionPolicy? OutlierDetection { get; init; }

    /// <summary>TLS towards the endpoints; <see langword="null"/> is plaintext (Envoy's <c>transport_socket</c>).</summary>
    public MeshClusterTls? Tls { get; init; }

    /// <summary>The HTTP version requests to this cluster use; see <see cref="UpstreamProtocol"/>.</summary>
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Auto;

    /// <summary>
    /// Endpoint groups by priority: index 0 is the most preferred. Traffic goes to the first priority that
    /// has a usable endpoint and fails over to the next when it has none.
    /// </summary>
    public required IReadOnlyList<MeshPriority> Priorities { get; init; }
}

/// <summary>
/// The HTTP version the HttpClient front door uses towards a cluster's endpoints (Envoy's explicit
/// upstream HTTP protocol options). gRPC always uses HTTP/2.
/// </summary>
public enum UpstreamProtocol
{
    /// <summary>Keep the version the request asks for.</summary>
    Auto = 0,

    /// <summary>HTTP/1.1.</summary>
    Http1,

    /// <summary>HTTP/2, over cleartext with prior knowledge (h2c) when the scheme is <c>http</c>. Needed for backends that serve HTTP and gRPC on one cleartext port.</summary>
    Http2,
}

/// <summary>Outlier detection settings (gRFC A50, Envoy's <c>OutlierDetection</c>).</summary>
public sealed record OutlierDetectionPolicy
{
    /// <summary>How often endpoints are judged (default 10 s).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ejection time, multiplied by how many times the endpoint has been ejected in a row (default 30 s).</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest an ejection lasts (default 300 s, or <see cref="BaseEjectionTime"/> when that is longer).</summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>At most this percentage of the cluster's endpoints are ejected at once (default 10).</summary>
    public uint MaxEjectionPercent { get; init; } = 10;

    /// <summary>Eject endpoints whose success rate is far below the cluster's mean; off when null.</summary>
    public SuccessRateEjection? SuccessRate { get; init; }

    /// <summary>Eject endpoints whose failure percentage exceeds a threshold; off when null.</summary>
    public FailurePercentageEjection? FailurePercentage { get; init; }
}

/// <summary>Success-rate ejection: below mean − stdev × <see cref="StdevFactor"/>/1000.</summary>
public sealed record SuccessRateEjection
{
    /// <summary>Standard deviation factor, in thousandths (default 1900 = 1.9).</summary>
    public uint StdevFactor { get; init; } = 1900;

    /// <summary>Chance, in percent, that a detected outlier is ejected (default 100).</summary>
    public uint EnforcementPercentage { get; init; } = 100;

    /// <summary>Endpoints with enough requests needed for the check to run (default 5).</summary>
    public uint MinimumHosts { get; init; } = 5;

    /// <summary>Requests an endpoint needs in an interval to be judged (default 100).</summary>
    public uint RequestVolume { get; init; } = 100;
}

/// <summary>Failure-percentage ejection: above <see cref="Threshold"/> percent failures.</summary>
public sealed record FailurePercentageEjection
{
    /// <summary>Failure percentage above which an endpoint is an outlier (default 85).</summary>
    public uint Threshold { get; init; } = 85;

    /// <summary>Chance, in percent, that a detected outlier is ejected (default 100 when configured).</summary>
    public uint EnforcementPercentage { get; init; } = 100;

    /// <summary>Endpoints with enough requests needed for the check to run (default 5).</summary>
    public uint MinimumHosts { get; init; } = 5;

    /// <summary>Requests an endpoint needs in an interval to be judged (default 50).</summary>
    public uint RequestVolume { get; init; } = 50;
}

/// <summary>The localities of one priority level.</summary>
/// <param name="Localities">Localities; requests are spread over them by their weights.</param>
public sealed record MeshPriority(IReadOnlyList<MeshLocality> Localities);

/// <summary>Where a locality is, as xDS names it.</summary>
/// <param name="Region">Region, e.g. <c>us-east-1</c>.</param>
/// <param name="Zone">Zone, e.g. <c>us-east-1a</c>.</param>
/// <param name="SubZone">Sub-zone.</param>
public sealed record LocalityName(string Region = "", string Zone = "", string SubZone = "")
{
    /// <summary>The locality with no name.</summary>
    public static LocalityName Default { get; } = new();

    /// <inheritdoc />
    public override string ToString() => $"{{region={Region}, zone={Zone}, sub_zone={SubZone}}}";
}

/// <summary>Endpoints in one locality of one priority.</summary>
public sealed record MeshLocality
{
    /// <summary>The locality's name.</summary>
    public required LocalityName Name { get; init; }

    /// <summary>Relative share of traffic among the localities of its priority (1 or more).</summary>
    public uint Weight { get; init; } = 1;

    /// <summary>The endpoints.</summary>
    public required IReadOnlyList<MeshEndpoint> Endpoints { get; init; }
}

/// <summary>Health of an endpoint as the configuration states it; values mirror xDS <c>HealthStatus</c>.</summary>
public enum EndpointHealth
{
    /// <summary>Not known; the endpoint is used.</summary>
    Unknown = 0,

    /// <summary>Healthy; the endpoint is used.</summary>
    Healthy = 1,

    /// <summary>Unhealthy; no new requests.</summary>
    Unhealthy = 2,

    /// <summary>Draining; no new requests.</summary>
    Draining = 3,

    /// <summary>Health check timed out; no new requests.</summary>
    Timeout = 4,

    /// <summary>Degraded; no new requests (as gRPC's xDS clients treat it).</summary>
    Degraded = 5,
}

/// <summary>One backend address.</summary>
public sealed record MeshEndpoint
{
    /// <summary>Host name or IP address literal (no brackets for IPv6).</summary>
    public required string Host { get; init; }

    /// <summary>Port, 1 to 65535; an endpoint with port 0 (which xDS allows) is never picked.</summary>
    public required int Port { get; init; }

    /// <summary>Relative weight within its locality (1 or more).</summary>
    public uint Weight { get; init; } = 1;

    /// <summary>Configured health.</summary>
    public EndpointHealth Health { get; init; } = EndpointHealth.Healthy;

    /// <summary>Key that <c>ring_hash</c> and <c>maglev</c> place the endpoint by, instead of its address (gRFC A76).</summary>
    public string? HashKey { get; init; }

    /// <summary>Whether new requests may go to this endpoint: its health is healthy or unknown, and it has a port.</summary>
    public bool IsUsable => Health is EndpointHealth.Healthy or EndpointHealth.Unknown && Port > 0;

    /// <summary>The address as <c>host:port</c>, with brackets around an IPv6 host.</summary>
    public string Address => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
