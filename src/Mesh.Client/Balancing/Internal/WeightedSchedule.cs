namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// Builds a smooth weighted round-robin order: each index appears in proportion to its weight and the
/// appearances of one index are spread out, as an earliest-deadline-first scheduler would order them.
/// The order is computed once per configuration, so a pick is one atomic increment and one array read.
/// </summary>
internal static class WeightedSchedule
{
    /// <summary>Weights are scaled down so that a schedule holds at most this many entries, or one per index if more.</summary>
    public const int MaxEntries = 1 << 16;

    /// <summary>Returns <see langword="null"/> when all weights are equal (plain rotation needs no table).</summary>
    public static int[]? Build(ReadOnlySpan<uint> weights)
    {
        if (weights.Length <= 1 || AllEqual(weights))
        {
            return null;
        }

        var scaled = Scale(weights, Math.Max(MaxEntries, weights.Length));
        long total = 0;
        foreach (var w in scaled)
        {
            total += w;
        }

        var keys = new double[total];
        var items = new int[total];
        var at = 0;
        for (var i = 0; i < scaled.Length; i++)
        {
            var w = scaled[i];
            for (var k = 0; k < w; k++)
            {
                // The k-th turn of index i is due at (k + phase_i) / w of a cycle. Each index has its own
                // phase, so that indexes of equal weight interleave with the others instead of bunching
                // up; the tiny per-index term keeps exact ties in a stable order.
                var phase = (i + 0.5) / scaled.Length;
                keys[at] = ((k + phase) / w) + (i * 1e-12);
                items[at] = i;
                at++;
            }
        }

        Array.Sort(keys, items);
        return items;
    }

    private static bool AllEqual(ReadOnlySpan<uint> weights)
    {
        for (var i = 1; i < weights.Length; i++)
        {
            if (weights[i] != weights[0])
            {
                return false;
            }
        }

        return true;
    }

    private static uint[] Scale(ReadOnlySpan<uint> weights, int limit)
    {
        ulong gcd = 0;
        ulong total = 0;
        foreach (var w in weights)
        {
            gcd = Gcd(gcd, w);
            total += w;
        }

        var result = new uint[weights.Length];
        var divisor = gcd == 0 ? 1 : gcd;
        var reduced = total / divisor;
        for (var i = 0; i < weights.Length; i++)
        {
            var w = weights[i] / divisor;
            if (reduced > (ulong)limit)
            {
                w = (ulong)Math.Max(1, Math.Round((double)w * limit / reduced));
            }

            result[i] = (uint)w;
        }

        return result;
    }

    private static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
