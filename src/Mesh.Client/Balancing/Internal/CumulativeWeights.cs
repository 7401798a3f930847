namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// Draws an index in proportion to its weight: one random number and a binary search. A weight of 0 is
/// never drawn (an xDS weighted cluster of weight 0 gets no traffic).
/// </summary>
internal sealed class CumulativeWeights
{
    private readonly ulong[]? _upperBounds;
    private readonly int _count;

    public CumulativeWeights(ReadOnlySpan<uint> weights)
    {
        _count = weights.Length;
        var equal = true;
        for (var i = 1; i < weights.Length; i++)
        {
            equal &= weights[i] == weights[0];
        }

        if (!equal)
        {
            _upperBounds = new ulong[weights.Length];
            ulong sum = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                sum += weights[i];
                _upperBounds[i] = sum;
            }

            Total = sum;
            if (sum == 0)
            {
                // Nothing has weight: treat every index alike rather than divide by zero.
                _upperBounds = null;
                Total = (ulong)weights.Length;
            }
        }
        else
        {
            Total = (ulong)weights.Length;
        }
    }

    public ulong Total { get; }

    public int Draw(MeshRandom random)
    {
        if (_upperBounds is null)
        {
            return _count <= 1 ? 0 : (int)random.NextInt64(_count);
        }

        var r = (ulong)random.NextInt64((long)Total);
        return IndexOf(r);
    }

    /// <summary>The index whose range [previous bound, bound) holds <paramref name="value"/>.</summary>
    public int IndexOf(ulong value)
    {
        if (_upperBounds is null)
        {
            return (int)(value % (ulong)_count);
        }

        var bounds = _upperBounds;
        int lo = 0, hi = bounds.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (bounds[mid] > value)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }
}
