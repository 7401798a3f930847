using System.Collections.Frozen;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// What the request path reads: one snapshot compiled into route tables and cluster pickers. Published by
/// a single reference swap; never changed after publication.
/// </summary>
internal sealed class MeshTable
{
    public static MeshTable Empty { get; } = new(
        MeshSnapshot.Empty,
        FrozenDictionary<string, ServiceRouteTable>.Empty,
        FrozenDictionary<string, ClusterRuntime>.Empty,
        generation: 0);

    public MeshTable(
        MeshSnapshot snapshot,
        FrozenDictionary<string, ServiceRouteTable> services,
        FrozenDictionary<string, ClusterRuntime> clusters,
        long generation)
    {
        Snapshot = snapshot;
        Services = services;
        Clusters = clusters;
        Generation = generation;
    }

    public MeshSnapshot Snapshot { get; }

    public FrozenDictionary<string, ServiceRouteTable> Services { get; }

    public FrozenDictionary<string, ClusterRuntime> Clusters { get; }

    /// <summary>Increases by one with every publication.</summary>
    public long Generation { get; }

    /// <summary>Whether <paramref name="name"/> has an answer: a configured service or a known failure.</summary>
    public bool Knows(string name) => Services.ContainsKey(name) || Snapshot.FailedServices.ContainsKey(name);
}
