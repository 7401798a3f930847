namespace Mesh.Client.Testing;

/// <summary>
/// One route of <see cref="XdsResources.RouteConfiguration(string, string, XdsRoute[])"/>: a match and a
/// destination, written as an <c>envoy.config.route.v3.Route</c>.
/// </summary>
public sealed record XdsRoute
{
    /// <summary>Path prefix the route matches (<c>match.prefix</c>); <c>/</c> by default.</summary>
    public string PathPrefix { get; init; } = "/";

    /// <summary>Headers that must have exactly these values (<c>match.headers[].string_match.exact</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The cluster matching requests go to. Set this or <see cref="WeightedClusters"/>.</summary>
    public string? Cluster { get; init; }

    /// <summary>Clusters and weights for a split (<c>weighted_clusters</c>).</summary>
    public IReadOnlyList<(string Cluster, uint Weight)> WeightedClusters { get; init; } = [];

    /// <summary>A request header to hash for ring hash and Maglev clusters (<c>hash_policy[].header</c>).</summary>
    public string? HashHeader { get; init; }

    /// <summary>The route's retry policy (<c>route.retry_policy</c>); none when <see langword="null"/>.</summary>
    public XdsRetryPolicy? Retry { get; init; }

    /// <summary>The route's name.</summary>
    public string? Name { get; init; }
}
