namespace Mesh.Samples.Backend;

/// <summary>The answer of <c>GET /api/items</c>: which instance answered, its version, and the items.</summary>
/// <param name="Instance">The instance's name (<c>Backend:Instance</c>).</param>
/// <param name="Version">The instance's version (<c>Backend:Version</c>).</param>
/// <param name="Items">The items.</param>
public sealed record ItemsResponse(string Instance, string Version, IReadOnlyList<string> Items);
