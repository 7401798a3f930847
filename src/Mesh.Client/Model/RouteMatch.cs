namespace Mesh.Client.Model;

/// <summary>The conditions a request must meet to take a route. All of them must hold.</summary>
internal sealed record RouteMatch
{
    /// <summary>A match that takes every request.</summary>
    public static RouteMatch Any { get; } = new() { Path = PathMatch.Any };

    /// <summary>The path condition.</summary>
    public required PathMatch Path { get; init; }

    /// <summary>Header conditions; every one must hold.</summary>
    public IReadOnlyList<HeaderMatch> Headers { get; init; } = [];

    /// <summary>
    /// HttpClient: query-parameter conditions; every one must hold. gRPC calls have no query, so a route with
    /// any never matches a call (gRPC's xDS clients skip such routes).
    /// </summary>
    public IReadOnlyList<QueryParameterMatch> QueryParameters { get; init; } = [];

    /// <summary>
    /// When set, the route matches only this share of the requests that meet its other conditions, in
    /// parts per million (xDS <c>runtime_fraction</c>).
    /// </summary>
    public uint? FractionPerMillion { get; init; }
}
