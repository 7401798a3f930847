namespace Mesh.Client.Model;

/// <summary>One route: which requests it matches and which cluster(s) they go to.</summary>
internal sealed record MeshRoute
{
    /// <summary>Optional name, for diagnostics.</summary>
    public string? Name { get; init; }

    /// <summary>What a request must look like to take this route.</summary>
    public required RouteMatch Match { get; init; }

    /// <summary>Where a matching request goes: one or more clusters with weights.</summary>
    public required IReadOnlyList<WeightedCluster> Clusters { get; init; }

    /// <summary>How to compute the request hash for <c>ring_hash</c> and <c>maglev</c> clusters.</summary>
    public IReadOnlyList<HashPolicy> HashPolicies { get; init; } = [];

    /// <summary>
    /// When set, requests that take this route fail with this message instead of being sent (a route whose
    /// action a client cannot carry out, such as an xDS redirect or non-forwarding action).
    /// </summary>
    public string? ErrorMessage { get; init; }

    /// <summary>
    /// When set, the cluster is named by this request header instead of <see cref="Clusters"/> (xDS
    /// <c>cluster_header</c>); a request without the header, or naming an unknown cluster, fails.
    /// </summary>
    public string? ClusterHeader { get; init; }

    /// <summary>HttpClient: the time the whole request may take, retries included (xDS route <c>timeout</c>).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>gRPC: the longest a call may last (gRFC A31 <c>max_stream_duration</c>); the smaller of this and the caller's deadline wins.</summary>
    public TimeSpan? MaxStreamDuration { get; init; }

    /// <summary>gRPC: cap applied to the deadline the caller sends (gRFC A31 <c>grpc_timeout_header_max</c>).</summary>
    public TimeSpan? GrpcTimeoutHeaderMax { get; init; }

    /// <summary>How failed requests are retried (gRFC A44), or <see langword="null"/> for no retries.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>HttpClient: send hedged copies of a slow request to other endpoints (beyond gRPC's xDS clients).</summary>
    public HedgingPolicy? Hedging { get; init; }

    /// <summary>Faults to inject, for testing resilience (gRFC A33).</summary>
    public FaultPolicy? Fault { get; init; }
}
