namespace Mesh.Client.Balancing.Internal;

/// <summary><c>random</c>: an endpoint drawn in proportion to its weight.</summary>
internal sealed class RandomPicker(ReadOnlySpan<uint> weights, MeshRandom random) : EndpointPicker
{
    private readonly CumulativeWeights _weights = new(weights);
    private readonly int _count = weights.Length;

    public override int Count => _count;

    public override int Pick(in PickRequest request) => _count == 0 ? -1 : _weights.Draw(random);
}
