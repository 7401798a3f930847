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
