namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// Chooses a locality by weight (smooth weighted round robin, as Envoy's locality-weighted balancing does),
/// then lets that locality's own picker choose the endpoint.
/// </summary>
internal sealed class LocalityPicker : EndpointPicker
{
    private readonly RoundRobinPicker _localities;
    private readonly EndpointPicker[] _children;
    private readonly int[][] _globalIndex;
    private readonly int _count;

    public LocalityPicker(uint[] localityWeights, EndpointPicker[] children, int[][] globalIndex, MeshRandom random)
    {
        _localities = new RoundRobinPicker(localityWeights, random);
        _children = children;
        _globalIndex = globalIndex;
        foreach (var map in globalIndex)
        {
            _count += map.Length;
        }
    }

    public override int Count => _count;

    public override int Pick(in PickRequest request)
    {
        var locality = _localities.Pick(request);
        if (locality < 0)
        {
            return -1;
        }

        var local = _children[locality].Pick(request);
        return local < 0 ? -1 : _globalIndex[locality][local];
    }
}
