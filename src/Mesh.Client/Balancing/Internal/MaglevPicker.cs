using Mesh.Client.Model;

namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// <c>maglev</c>: a lookup table of prime size filled from per-endpoint permutations (offset and skip
/// derived from two hashes of the endpoint's key), endpoints taking turns in proportion to their weights.
/// A pick is one table read.
/// </summary>
internal sealed class MaglevPicker : EndpointPicker
{
    private readonly int[] _table;
    private readonly int _count;
    private readonly MeshRandom _random;

    public MaglevPicker(ReadOnlySpan<PickCandidate> candidates, MaglevPolicy policy, MeshRandom random)
    {
        _count = candidates.Length;
        _random = random;
        var size = policy.TableSize;
        _table = new int[_count == 0 ? 0 : size];
        if (_count == 0)
        {
            return;
        }

        var offsets = new ulong[_count];
        var skips = new ulong[_count];
        var nexts = new ulong[_count];
        var weights = new ulong[_count];
        var credit = new ulong[_count];
        ulong maxWeight = 0;
        for (var i = 0; i < _count; i++)
        {
            var key = candidates[i].HashKey;
            offsets[i] = HashKeys.Hash(key, seed: 0) % (ulong)size;
            skips[i] = (HashKeys.Hash(key, seed: 1) % (ulong)(size - 1)) + 1;
            weights[i] = (ulong)candidates[i].Weight * candidates[i].LocalityWeight;
            maxWeight = Math.Max(maxWeight, weights[i]);
        }

        Array.Fill(_table, -1);
        var filled = 0;
        while (true)
        {
            for (var i = 0; i < _count; i++)
            {
                // An endpoint takes a slot each time its accumulated weight reaches the largest weight, so the
                // heaviest endpoint fills on every round and a half-weight one on every other round.
                credit[i] += weights[i];
                if (credit[i] < maxWeight)
                {
                    continue;
                }

                credit[i] -= maxWeight;
                ulong slot;
                do
                {
                    slot = (offsets[i] + (skips[i] * nexts[i])) % (ulong)size;
                    nexts[i]++;
                }
                while (_table[slot] >= 0);

                _table[slot] = i;
                if (++filled == size)
                {
                    return;
                }
            }
        }
    }

    public override int Count => _count;

    public override int Pick(in PickRequest request)
    {
        if (_count == 0)
        {
            return -1;
        }

        var hash = request.HasHash ? request.Hash : _random.NextUInt64();
        return _table[(int)(hash % (ulong)_table.Length)];
    }

    /// <summary>The owner of each table slot, for tests that compare tables.</summary>
    public ReadOnlySpan<int> Table => _table;
}
