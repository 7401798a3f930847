using System.Net.Http;

namespace Mesh.Client.Http;

/// <summary>Why the mesh could not send a request.</summary>
public enum MeshFailureReason
{
    /// <summary>No route of the service matches the request.</summary>
    NoRoute,

    /// <summary>The chosen cluster has no endpoint that may take new requests.</summary>
    NoEndpoints,

    /// <summary>The service has no configuration at all.</summary>
    NotConfigured,

    /// <summary>The cluster already has its maximum of requests in flight (circuit breaking); not retried.</summary>
    CircuitBreakerOpen,
}

/// <summary>
/// A request to a mesh service that the mesh could not send anywhere. It derives from
/// <see cref="HttpRequestException"/> so that existing error handling and resilience handlers see it as
/// a failed request.
/// </summary>
public sealed class MeshRequestException : HttpRequestException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="service">The mesh service the request was for.</param>
    /// <param name="reason">Why it could not be sent.</param>
    /// <param name="message">A message that names the service and the reason.</param>
    public MeshRequestException(string service, MeshFailureReason reason, string message)
        : base(HttpRequestError.ConnectionError, message)
    {
        Service = service;
        Reason = reason;
    }

    /// <summary>The mesh service the request was for.</summary>
    public string Service { get; }

    /// <summary>Why the request could not be sent.</summary>
    public MeshFailureReason Reason { get; }
}
