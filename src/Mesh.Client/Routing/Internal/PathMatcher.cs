using System.Text.RegularExpressions;
using Mesh.Client.Model;

namespace Mesh.Client.Routing.Internal;

/// <summary>A compiled path condition.</summary>
internal sealed class PathMatcher
{
    private readonly PathMatchKind _kind;
    private readonly string _value;
    private readonly StringComparison _comparison;
    private readonly Regex? _regex;

    public PathMatcher(PathMatch match)
    {
        _kind = match.Kind;
        _value = match.Value;
        _comparison = match.CaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        if (match.Kind == PathMatchKind.Regex)
        {
            _regex = RegexFactory.CreateFullMatch(match.Value, ignoreCase: !match.CaseSensitive);
        }
    }

    public bool MatchesEverything => _kind == PathMatchKind.Prefix && (_value.Length == 0 || _value == "/");

    public bool IsMatch(ReadOnlySpan<char> path) => _kind switch
    {
        PathMatchKind.Prefix => path.StartsWith(_value, _comparison),
        PathMatchKind.Exact => path.Equals(_value, _comparison),
        _ => _regex!.IsMatch(path),
    };
}

/// <summary>Regular expressions for matching: whole-string, linear time (no backtracking), like RE2.</summary>
internal static class RegexFactory
{
    public static Regex CreateFullMatch(string pattern, bool ignoreCase = false)
    {
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
        if (ignoreCase)
        {
            options |= RegexOptions.IgnoreCase;
        }

        return new Regex(@"\A(?:" + pattern + @")\z", options);
    }

    /// <summary>Returns the parse error of <paramref name="pattern"/>, or <see langword="null"/> when it is valid.</summary>
    public static string? Validate(string pattern)
    {
        try
        {
            _ = CreateFullMatch(pattern);
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
        catch (NotSupportedException ex)
        {
            return ex.Message;
        }
    }
}
