using System.Globalization;
using Mesh.Client.Model;

namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// <c>ring_hash</c> (gRFC A42): every endpoint owns points on a ring of 64-bit xxHash64 values in
/// proportion to its weight; a request goes to the owner of the first point at or after its hash.
/// </summary>
internal sealed class RingHashPicker : EndpointPicker
{
    private readonly ulong[] _points;
    private readonly int[] _owners;
    private readonly int _count;
    private readonly MeshRandom _random;

    public RingHashPicker(ReadOnlySpan<PickCandidate> candidates, RingHashPolicy policy, MeshRandom random)
    {
        _count = candidates.Length;
        _random = random;
        if (_count == 0)
        {
            _points = [];
            _owners = [];
            return;
        }

        double total = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            total += Weight(candidates[i]);
        }

        var minNormalized = double.MaxValue;
        for (var i = 0; i < candidates.Length; i++)
        {
            minNormalized = Math.Min(minNormalized, Weight(candidates[i]) / total);
        }

        // The smallest endpoint gets at least one point per 1/min_ring_size share; the ring never exceeds
        // max_ring_size (the bound on placed points guards against the running total's rounding).
        var scale = Math.Min(Math.Ceiling(minNormalized * policy.MinRingSize) / minNormalized, policy.MaxRingSize);
        var size = (int)Math.Ceiling(scale);
        var points = new List<(ulong Hash, int Owner)>(size);
        double target = 0;
        long placed = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            target += scale * (Weight(candidates[i]) / total);
            var key = candidates[i].HashKey;
            for (var n = 0; placed < target && placed < size; n++, placed++)
            {
                points.Add((HashKeys.Hash(key + "_" + n.ToString(CultureInfo.InvariantCulture)), i));
            }
        }

        points.Sort(static (a, b) => a.Hash != b.Hash ? a.Hash.CompareTo(b.Hash) : a.Owner.CompareTo(b.Owner));
        _points = new ulong[points.Count];
        _owners = new int[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            (_points[i], _owners[i]) = points[i];
        }
    }

    public override int Count => _count;

    public int RingSize => _points.Length;

    public override int Pick(in PickRequest request)
    {
        if (_count == 0)
        {
            return -1;
        }

        // A request without a hash gets a random one (gRFC A42).
        var hash = request.HasHash ? request.Hash : _random.NextUInt64();
        var at = _points.AsSpan().BinarySearch(hash);
        if (at < 0)
        {
            at = ~at;
        }
        else
        {
            // Several points may share the hash; take the first of them.
            while (at > 0 && _points[at - 1] == hash)
            {
                at--;
            }
        }

        return _owners[at == _points.Length ? 0 : at];
    }

    private static double Weight(in PickCandidate candidate) => (double)candidate.Weight * candidate.LocalityWeight;
}
