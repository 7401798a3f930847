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

    /// <summary>
    /// The request's host is not a mesh service, so it was sent as addressed, and name resolution did not know it
    /// either (for example a service missing from <c>Mesh:Services</c>, or a mesh with no configuration at all).
    /// </summary>
    UnknownService,
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

    /// <summary>Creates the exception with the failure that caused it.</summary>
    /// <param name="service">The host or mesh service the request was for.</param>
    /// <param name="reason">Why it could not be sent.</param>
    /// <param name="message">A message that names the service and the reason.</param>
    /// <param name="innerException">The failure underneath, e.g. the name resolution error.</param>
    public MeshRequestException(string service, MeshFailureReason reason, string message, Exception? innerException)
        : base(innerException is HttpRequestException inner ? inner.HttpRequestError : HttpRequestError.Unknown, message, innerException)
    {
        Service = service;
        Reason = reason;
    }

    /// <summary>The mesh service the request was for.</summary>
    public string Service { get; }

    /// <summary>Why the request could not be sent.</summary>
    public MeshFailureReason Reason { get; }
}
