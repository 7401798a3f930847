namespace Mesh.Client.Model;

/// <summary>How a route matches the request path.</summary>
internal enum PathMatchKind
{
    /// <summary>The path starts with the value.</summary>
    Prefix,

    /// <summary>The path equals the value.</summary>
    Exact,

    /// <summary>The whole path matches a regular expression (RE2 semantics: linear time, no backtracking).</summary>
    Regex,
}

/// <summary>A path condition.</summary>
/// <param name="Kind">Prefix, exact or regular expression.</param>
/// <param name="Value">The prefix, path or pattern.</param>
/// <param name="CaseSensitive">Whether the comparison is case sensitive (the xDS default).</param>
internal sealed record PathMatch(PathMatchKind Kind, string Value, bool CaseSensitive = true)
{
    /// <summary>Matches every path (prefix <c>""</c>).</summary>
    public static PathMatch Any { get; } = new(PathMatchKind.Prefix, string.Empty);
}
