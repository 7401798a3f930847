namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// The names istiod gives the backend of <c>samples/kubernetes</c> (Service <c>backend</c>, namespace
/// <c>mesh-demo</c>, port 8080, subsets v1 and v2) when it answers a proxyless client. Serving the same names from the
/// test control plane makes a test exercise the lookups the application makes in the cluster.
/// </summary>
public static class IstioNames
{
    /// <summary>The Service's host, as the frontend writes it in <c>Backend__Address</c>.</summary>
    public const string Host = "backend.mesh-demo.svc.cluster.local";

    /// <summary>The Service port.</summary>
    public const int Port = 8080;

    /// <summary>What the HttpClient calls.</summary>
    public const string BaseAddress = "http://backend.mesh-demo.svc.cluster.local:8080";

    /// <summary>
    /// The Listener the mesh client subscribes to for <see cref="BaseAddress"/>: the request's host and port as
    /// written. istiod names its API listeners <c>host:port</c> too.
    /// </summary>
    public const string Listener = "backend.mesh-demo.svc.cluster.local:8080";

    /// <summary>The RouteConfiguration that Listener refers to; istiod names it like the service's cluster without a subset.</summary>
    public const string RouteConfiguration = "outbound|8080||backend.mesh-demo.svc.cluster.local";

    /// <summary>The cluster of the DestinationRule's subset v1.</summary>
    public const string V1 = "outbound|8080|v1|backend.mesh-demo.svc.cluster.local";

    /// <summary>The cluster of the DestinationRule's subset v2.</summary>
    public const string V2 = "outbound|8080|v2|backend.mesh-demo.svc.cluster.local";
}
