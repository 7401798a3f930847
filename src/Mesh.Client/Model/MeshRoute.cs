namespace Mesh.Client.Model;

/// <summary>One route: which requests it matches and which cluster(s) they go to.</summary>
public sealed record MeshRoute
{
    /// <summary>Optional name, for diagnostics.</summary>
    public string? Name { get; init; }

    /// <summary>What a request must look like to take this route.</summary>
    public required RouteMatch Match { get; init; }

    /// <summary>Where a matching request goes: one or more clusters with weights.</summary>
    public required IReadOnlyList<WeightedCluster> Clusters { get; init; }

    /// <summary>How to compute the request hash for <c>ring_hash</c> and <c>maglev</c> clusters.</summary>
    public IReadOnlyList<HashPolicy> HashPolicies { get; init; } = [];

    /// <summary>
    /// When set, requests that take this route fail with this message instead of being sent (a route whose
    /// action a client cannot carry out, such as an xDS redirect or non-forwarding action).
    /// </summary>
    public string? ErrorMessage { get; init; }
}

/// <summary>The conditions a request must meet to take a route. All of them must hold.</summary>
public sealed record RouteMatch
{
    /// <summary>A match that takes every request.</summary>
    public static RouteMatch Any { get; } = new() { Path = PathMatch.Any };

    /// <summary>The path condition.</summary>
    public required PathMatch Path { get; init; }

    /// <summary>Header conditions; every one must hold.</summary>
    public IReadOnlyList<HeaderMatch> Headers { get; init; } = [];

    /// <summary>
    /// When set, the route matches only this share of the requests that meet its other conditions, in
    /// parts per million (xDS <c>runtime_fraction</c>).
    /// </summary>
    public uint? FractionPerMillion { get; init; }
}

/// <summary>How a route matches the request path.</summary>
public enum PathMatchKind
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
public sealed record PathMatch(PathMatchKind Kind, string Value, bool CaseSensitive = true)
{
    /// <summary>Matches every path (prefix <c>""</c>).</summary>
    public static PathMatch Any { get; } = new(PathMatchKind.Prefix, string.Empty);
}

/// <summary>How a header condition compares the header's value.</summary>
public enum HeaderMatchKind
{
    /// <summary>The value equals the expected value.</summary>
    Exact,

    /// <summary>The value starts with the expected value.</summary>
    Prefix,

    /// <summary>The value ends with the expected value.</summary>
    Suffix,

    /// <summary>The value contains the expected value.</summary>
    Contains,

    /// <summary>The whole value matches a regular expression (RE2 semantics).</summary>
    Regex,

    /// <summary>The header is present (any value).</summary>
    Present,

    /// <summary>The value is an integer in [<see cref="HeaderMatch.RangeStart"/>, <see cref="HeaderMatch.RangeEnd"/>).</summary>
    Range,
}

/// <summary>A header condition. Several values of one header are compared joined by <c>,</c>.</summary>
public sealed record HeaderMatch
{
    /// <summary>Header name (case-insensitive).</summary>
    public required string Name { get; init; }

    /// <summary>How the value is compared.</summary>
    public required HeaderMatchKind Kind { get; init; }

    /// <summary>The expected value, prefix, suffix, substring or pattern. Unused for <see cref="HeaderMatchKind.Present"/> and <see cref="HeaderMatchKind.Range"/>.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>Compare the value ignoring case (exact, prefix, suffix, contains).</summary>
    public bool IgnoreCase { get; init; }

    /// <summary>Inclusive lower bound for <see cref="HeaderMatchKind.Range"/>.</summary>
    public long RangeStart { get; init; }

    /// <summary>Exclusive upper bound for <see cref="HeaderMatchKind.Range"/>.</summary>
    public long RangeEnd { get; init; }

    /// <summary>For <see cref="HeaderMatchKind.Present"/>: <see langword="true"/> to require the header, <see langword="false"/> to require its absence.</summary>
    public bool PresentMatch { get; init; } = true;

    /// <summary>Invert the result of the condition.</summary>
    public bool Invert { get; init; }
}

/// <summary>A cluster a route sends traffic to, with its share of the route's traffic.</summary>
/// <param name="Cluster">Cluster name.</param>
/// <param name="Weight">Relative weight; a route's weights need not add up to 100.</param>
public sealed record WeightedCluster(string Cluster, uint Weight = 1);

/// <summary>Where a request hash comes from.</summary>
public enum HashPolicyKind
{
    /// <summary>The value of a request header.</summary>
    Header,

    /// <summary>The identity of the calling client (one HttpClient handler or one gRPC channel).</summary>
    ChannelId,
}

/// <summary>One way to compute the request hash that <c>ring_hash</c> and <c>maglev</c> pick by.</summary>
/// <param name="Kind">The hash source.</param>
/// <param name="Name">The header name for <see cref="HashPolicyKind.Header"/>.</param>
/// <param name="Terminal">When this policy yields a hash, stop evaluating the policies after it.</param>
public sealed record HashPolicy(HashPolicyKind Kind, string Name = "", bool Terminal = false);
