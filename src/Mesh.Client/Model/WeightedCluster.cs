namespace Mesh.Client.Model;

/// <summary>A cluster a route sends traffic to, with its share of the route's traffic.</summary>
/// <param name="Cluster">Cluster name.</param>
/// <param name="Weight">Relative weight; a route's weights need not add up to 100.</param>
internal sealed record WeightedCluster(string Cluster, uint Weight = 1);
