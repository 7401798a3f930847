namespace Mesh.Samples.Frontend;

/// <summary>The answer of <c>GET /</c>: how many calls each backend instance answered.</summary>
/// <param name="Backend">The address the calls were made to.</param>
/// <param name="Calls">How many calls were made.</param>
/// <param name="Answers">Per instance and version, how many calls it answered.</param>
public sealed record SpreadResponse(string Backend, int Calls, IReadOnlyList<Answer> Answers);

/// <summary>How many calls one backend instance answered.</summary>
/// <param name="Instance">The instance.</param>
/// <param name="Version">Its version.</param>
/// <param name="Count">The number of calls it answered.</param>
public sealed record Answer(string Instance, string Version, int Count);
