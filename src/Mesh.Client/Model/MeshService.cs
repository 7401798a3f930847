namespace Mesh.Client.Model;

/// <summary>
/// A service that callers address by name: an ordered route table whose first matching route decides
/// the cluster of a request. In xDS terms, a Listener with its RouteConfiguration already narrowed to the
/// virtual host that matches the service name.
/// </summary>
internal sealed record MeshService
{
    /// <summary>The name callers use: an HttpClient host (<c>http://catalog</c>) or a gRPC target (<c>xds:///catalog</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Routes in match order: the first route that matches a request wins.</summary>
    public required IReadOnlyList<MeshRoute> Routes { get; init; }
}
