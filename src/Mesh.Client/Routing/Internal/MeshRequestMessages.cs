namespace Mesh.Client.Routing.Internal;

/// <summary>
/// Every message a caller sees when the mesh refuses a request, written once for both front doors. The HttpClient
/// door puts them in a <see cref="Http.MeshRequestException"/>, the gRPC door in an UNAVAILABLE status. Where the
/// doors' wording differs, it differs by one word: <c>unit</c> is "request" (HttpClient) or "call" (gRPC).
/// </summary>
internal static class MeshRequestMessages
{
    /// <summary>The HttpClient door's name for one request.</summary>
    public const string Request = "request";

    /// <summary>The gRPC door's name for one call.</summary>
    public const string Call = "call";

    /// <summary>The status detail of a gRPC call that fault injection aborted.</summary>
    public const string FaultAbortGrpc = "Fault injected by the mesh (fault filter abort).";

    /// <summary>The reason phrase of an HttpClient response that fault injection made up.</summary>
    public const string FaultAbortReason = "Fault Injected";

    /// <summary>The body of an HttpClient response that fault injection made up (Envoy's text).</summary>
    public const string FaultAbortBody = "fault filter abort";

    /// <summary>No route matches; <paramref name="target"/> is how the door names what it looked for (<c>GET /path</c>, <c>'/pkg.Service/Method'</c>).</summary>
    public static string NoRoute(string service, string target) => $"No route of mesh service '{service}' matches {target}.";

    /// <summary>The matched route cannot serve: the configuration source said why.</summary>
    public static string RouteError(string service, string error) => $"Mesh service '{service}': {error}";

    /// <summary>The route takes its cluster from a header the request does not carry.</summary>
    public static string ClusterHeaderMissing(string service, string header, string unit) =>
        $"Mesh service '{service}': the route takes its cluster from header '{header}', which the {unit} does not have.";

    /// <summary>The route's cluster header names a cluster the source does not have.</summary>
    public static string ClusterHeaderUnknown(string service, string header, string cluster) =>
        $"Mesh service '{service}': header '{header}' names cluster '{cluster}', which is not configured.";

    /// <summary>The cluster's circuit breaker (max_requests) is full.</summary>
    public static string CircuitBreakerOpen(string service, string cluster, uint maxRequests, string unit) =>
        $"Mesh service '{service}': cluster '{cluster}' already has {maxRequests} requests in flight (max_requests); the {unit} was not sent.";

    /// <summary>The cluster has no endpoint to send to: the source's reason when it gave one, else "no healthy endpoint".</summary>
    public static string NoHealthyEndpoint(string service, string cluster, string? clusterError) =>
        clusterError is not null ? RouteError(service, clusterError) : $"Mesh service '{service}': cluster '{cluster}' has no healthy endpoint.";

    /// <summary>The cluster has usable endpoints, but none could be connected (gRPC: every subchannel failed).</summary>
    public static string NoReachableEndpoint(string service, string cluster, string? lastError) =>
        $"Mesh service '{service}': no endpoint of cluster '{cluster}' is reachable" + (lastError is null ? "." : $": {lastError}");

    /// <summary>The cluster asks for TLS that this channel cannot make.</summary>
    public static string TlsUnavailable(string service, string cluster, string reason) =>
        $"Mesh service '{service}': cluster '{cluster}' requires TLS, but this channel cannot make mesh TLS connections: {reason}.";
}
