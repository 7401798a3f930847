namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// How configuration names are matched when people write them as they would in .NET (<c>RoundRobin</c>,
/// <c>round-robin</c>) rather than as xDS spells them (<c>round_robin</c>), and what to suggest when a name is
/// unknown (<c>Endpionts</c>: did you mean <c>Endpoints</c>?).
/// </summary>
internal static class Spelling
{
    /// <summary>
    /// The known name that <paramref name="written"/> spells, ignoring case and word separators (<c>-</c>, <c>_</c>,
    /// <c>.</c>, spaces): <c>RoundRobin</c>, <c>round-robin</c> and <c>ROUND_ROBIN</c> are all <c>round_robin</c>.
    /// </summary>
    public static string? Match(string? written, IEnumerable<string> known)
    {
        if (string.IsNullOrWhiteSpace(written))
        {
            return null;
        }

        var key = Letters(written);
        return known.FirstOrDefault(candidate => Letters(candidate) == key);
    }

    /// <summary>
    /// The known name closest to <paramref name="written"/> (ignoring case, <c>-</c> and <c>_</c>), when it is close
    /// enough to be a slip of the keyboard: at most two edits, and fewer than half the name's letters.
    /// </summary>
    public static string? Suggest(string? written, IEnumerable<string> known)
    {
        if (string.IsNullOrWhiteSpace(written))
        {
            return null;
        }

        var key = Letters(written);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(key, Letters(candidate));
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= 2 && bestDistance * 2 < key.Length ? best : null;
    }

    /// <summary>"; did you mean 'x'?" when <see cref="Suggest"/> has a suggestion, else nothing.</summary>
    public static string DidYouMean(string? written, IEnumerable<string> known) =>
        Suggest(written, known) is { } suggestion ? $"; did you mean '{suggestion}'?" : string.Empty;

    private static string Letters(string name) =>
        string.Concat(name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant));

    /// <summary>Levenshtein distance (insertions, deletions, substitutions).</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
