namespace Mesh.Client.Model;

/// <summary>Health of an endpoint as the configuration states it; values mirror xDS <c>HealthStatus</c>.</summary>
public enum EndpointHealth
{
    /// <summary>Not known; the endpoint is used.</summary>
    Unknown = 0,

    /// <summary>Healthy; the endpoint is used.</summary>
    Healthy = 1,

    /// <summary>Unhealthy; no new requests.</summary>
    Unhealthy = 2,

    /// <summary>Draining; no new requests.</summary>
    Draining = 3,

    /// <summary>Health check timed out; no new requests.</summary>
    Timeout = 4,

    /// <summary>Degraded; no new requests (as gRPC's xDS clients treat it).</summary>
    Degraded = 5,
}

/// <summary>One backend address.</summary>
internal sealed record MeshEndpoint
{
    /// <summary>Host name or IP address literal (no brackets for IPv6).</summary>
    public required string Host { get; init; }

    /// <summary>Port, 1 to 65535; an endpoint with port 0 (which xDS allows) is never picked.</summary>
    public required int Port { get; init; }

    /// <summary>Relative weight within its locality (1 or more).</summary>
    public uint Weight { get; init; } = 1;

    /// <summary>Configured health.</summary>
    public EndpointHealth Health { get; init; } = EndpointHealth.Healthy;

    /// <summary>Key that <c>ring_hash</c> and <c>maglev</c> place the endpoint by, instead of its address (gRFC A76).</summary>
    public string? HashKey { get; init; }

    /// <summary>Whether new requests may go to this endpoint: its health is healthy or unknown, and it has a port.</summary>
    public bool IsUsable => Health is EndpointHealth.Healthy or EndpointHealth.Unknown && Port > 0;

    /// <summary>The address as <c>host:port</c>, with brackets around an IPv6 host.</summary>
    public string Address => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
