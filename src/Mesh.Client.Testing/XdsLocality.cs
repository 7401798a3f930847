namespace Mesh.Client.Testing;

/// <summary>
/// One locality of a <see cref="XdsResources.ClusterLoadAssignment(string, XdsLocality[])"/>: an
/// <c>envoy.config.endpoint.v3.LocalityLbEndpoints</c>.
/// </summary>
/// <param name="Zone">The locality's zone (<c>Locality.zone</c>).</param>
/// <param name="Endpoints">The endpoints in the locality.</param>
public sealed record XdsLocality(string Zone, IReadOnlyList<XdsEndpoint> Endpoints)
{
    /// <summary>Creates a locality of weight 1 at priority 0.</summary>
    /// <param name="zone">The locality's zone.</param>
    /// <param name="endpoints">The endpoints in the locality.</param>
    public XdsLocality(string zone, params XdsEndpoint[] endpoints)
        : this(zone, (IReadOnlyList<XdsEndpoint>)endpoints)
    {
    }

    /// <summary>The locality's region (<c>Locality.region</c>); empty by default.</summary>
    public string Region { get; init; } = string.Empty;

    /// <summary>The locality's sub-zone (<c>Locality.sub_zone</c>); empty by default.</summary>
    public string SubZone { get; init; } = string.Empty;

    /// <summary>
    /// <c>load_balancing_weight</c>; 1 by default. gRPC ignores a locality whose weight is 0, so 0 is
    /// sent as an unset weight, which has the same effect.
    /// </summary>
    public uint Weight { get; init; } = 1;

    /// <summary><c>priority</c>; 0, the highest, by default. Priorities must be contiguous from 0.</summary>
    public uint Priority { get; init; }
}

/// <summary>One endpoint of an <see cref="XdsLocality"/>: an <c>envoy.config.endpoint.v3.LbEndpoint</c>.</summary>
/// <param name="Address">
/// <c>host:port</c>, e.g. <c>127.0.0.1:5001</c> or <c>[::1]:5001</c>; the host is sent as the socket
/// address as written.
/// </param>
public sealed record XdsEndpoint(string Address)
{
    /// <summary><c>load_balancing_weight</c>; 1 by default. 0 leaves the field unset, which clients read as 1.</summary>
    public uint Weight { get; init; } = 1;

    /// <summary><c>health_status</c>; <see cref="XdsHealthStatus.Healthy"/> by default.</summary>
    public XdsHealthStatus Health { get; init; } = XdsHealthStatus.Healthy;
}

/// <summary>
/// <c>envoy.config.core.v3.HealthStatus</c>, with the same numbers. gRPC routes only to
/// <see cref="Healthy"/> and <see cref="Unknown"/> endpoints.
/// </summary>
public enum XdsHealthStatus
{
    /// <summary><c>UNKNOWN</c>, the wire default.</summary>
    Unknown = 0,

    /// <summary><c>HEALTHY</c>.</summary>
    Healthy = 1,

    /// <summary><c>UNHEALTHY</c>.</summary>
    Unhealthy = 2,

    /// <summary><c>DRAINING</c>.</summary>
    Draining = 3,

    /// <summary><c>TIMEOUT</c>.</summary>
    Timeout = 4,

    /// <summary><c>DEGRADED</c>.</summary>
    Degraded = 5,
}
