namespace Mesh.Client.Model;

/// <summary>How a header condition compares the header's value.</summary>
internal enum HeaderMatchKind
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
internal sealed record HeaderMatch
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

/// <summary>A query-parameter condition: the first value of the parameter is compared.</summary>
internal sealed record QueryParameterMatch
{
    /// <summary>Parameter name (case-sensitive).</summary>
    public required string Name { get; init; }

    /// <summary>How the value is compared: exact, prefix, suffix, contains, regex, or present.</summary>
    public required HeaderMatchKind Kind { get; init; }

    /// <summary>The expected value or pattern.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>Compare ignoring case.</summary>
    public bool IgnoreCase { get; init; }
}
