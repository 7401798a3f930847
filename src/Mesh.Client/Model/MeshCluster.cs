namespace Mesh.Client.Model;

/// <summary>
/// A set of interchangeable endpoints, grouped by priority and locality, with the policy that spreads
/// requests over them.
/// </summary>
internal sealed record MeshCluster
{
    /// <summary>The circuit breaker's default limit.</summary>
    public const uint DefaultMaxRequests = 1024;

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
