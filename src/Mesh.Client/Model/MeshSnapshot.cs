using System.Collections.Frozen;

namespace Mesh.Client.Model;

/// <summary>
/// One complete, immutable mesh configuration: the services a client can call, how their requests are
/// routed, and the clusters of endpoints those routes lead to.
/// </summary>
/// <remarks>
/// Every configuration source (the <c>Mesh</c> section of appsettings.json, an xDS control plane) builds
/// this same model. A new snapshot replaces the previous one as a whole, so a request never sees half of
/// an update.
/// </remarks>
internal sealed record MeshSnapshot
{
    /// <summary>An empty snapshot: no services, every request passes through untouched.</summary>
    public static MeshSnapshot Empty { get; } = new()
    {
        Version = "0",
        Source = "empty",
        Services = FrozenDictionary<string, MeshService>.Empty,
        Clusters = FrozenDictionary<string, MeshCluster>.Empty,
    };

    /// <summary>Version of the configuration, as the source names it (a file hash, an xDS version).</summary>
    public required string Version { get; init; }

    /// <summary>Where the snapshot came from, for diagnostics (<c>appsettings</c>, <c>xds</c>).</summary>
    public required string Source { get; init; }

    /// <summary>Services by name. The name is the host a caller addresses (<c>catalog</c>, <c>echo.default.svc.cluster.local:7070</c>).</summary>
    public required IReadOnlyDictionary<string, MeshService> Services { get; init; }

    /// <summary>Clusters by name.</summary>
    public required IReadOnlyDictionary<string, MeshCluster> Clusters { get; init; }

    /// <summary>
    /// Names a dynamic source was asked about and could not configure: the control plane says they do not
    /// exist, or it could not be reached before any configuration arrived.
    /// </summary>
    public IReadOnlyDictionary<string, MeshServiceFailure> FailedServices { get; init; } = FrozenDictionary<string, MeshServiceFailure>.Empty;
}

/// <summary>Why a name has no configuration.</summary>
/// <param name="DoesNotExist"><see langword="true"/> when the control plane says the name does not exist; <see langword="false"/> when it could not be asked.</param>
/// <param name="Message">What happened, naming the control plane.</param>
internal sealed record MeshServiceFailure(bool DoesNotExist, string Message);
