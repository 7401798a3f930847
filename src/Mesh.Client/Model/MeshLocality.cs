namespace Mesh.Client.Model;

/// <summary>The localities of one priority level.</summary>
/// <param name="Localities">Localities; requests are spread over them by their weights.</param>
internal sealed record MeshPriority(IReadOnlyList<MeshLocality> Localities);

/// <summary>Where a locality is, as xDS names it.</summary>
/// <param name="Region">Region, e.g. <c>us-east-1</c>.</param>
/// <param name="Zone">Zone, e.g. <c>us-east-1a</c>.</param>
/// <param name="SubZone">Sub-zone.</param>
internal sealed record LocalityName(string Region = "", string Zone = "", string SubZone = "")
{
    /// <summary>The locality with no name.</summary>
    public static LocalityName Default { get; } = new();

    /// <inheritdoc />
    public override string ToString() => $"{{region={Region}, zone={Zone}, sub_zone={SubZone}}}";
}

/// <summary>Endpoints in one locality of one priority.</summary>
internal sealed record MeshLocality
{
    /// <summary>The locality's name.</summary>
    public required LocalityName Name { get; init; }

    /// <summary>Relative share of traffic among the localities of its priority (1 or more).</summary>
    public uint Weight { get; init; } = 1;

    /// <summary>The endpoints.</summary>
    public required IReadOnlyList<MeshEndpoint> Endpoints { get; init; }
}
