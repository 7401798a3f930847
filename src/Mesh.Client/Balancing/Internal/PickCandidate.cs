using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Balancing.Internal;

/// <summary>One endpoint offered to a picker builder, with its locality within the chosen priority.</summary>
internal readonly struct PickCandidate(EndpointState state, uint weight, int locality, uint localityWeight)
{
    public EndpointState State { get; } = state;

    public uint Weight { get; } = weight == 0 ? 1 : weight;

    /// <summary>Index of the locality within its priority.</summary>
    public int Locality { get; } = locality;

    public uint LocalityWeight { get; } = localityWeight == 0 ? 1 : localityWeight;

    public string HashKey => State.Endpoint.HashKey ?? State.Address;

    public static PickCandidate From(EndpointState state, int locality, uint localityWeight) =>
        new(state, state.Endpoint.Weight, locality, localityWeight);
}

/// <summary>What a pick may depend on besides the endpoints: the request hash.</summary>
internal readonly struct PickRequest(ulong hash, bool hasHash)
{
    public static PickRequest None => default;

    public ulong Hash { get; } = hash;

    public bool HasHash { get; } = hasHash;
}

/// <summary>
/// Picks one endpoint out of the candidates it was built over. Implementations are immutable
/// snapshots apart from lock-free counters; <see cref="Pick"/> takes no lock and allocates nothing.
/// </summary>
internal abstract class EndpointPicker
{
    /// <summary>Number of candidates the picker was built over.</summary>
    public abstract int Count { get; }

    /// <summary>Returns the index of the chosen candidate, or -1 when there is none.</summary>
    public abstract int Pick(in PickRequest request);
}

internal sealed class EmptyPicker : EndpointPicker
{
    public static EmptyPicker Instance { get; } = new();

    public override int Count => 0;

    public override int Pick(in PickRequest request) => -1;
}
