namespace Mesh.Client.Security;

/// <summary>Why a connection to a TLS cluster was not made.</summary>
public enum MeshTlsFailure
{
    /// <summary>The client certificate the cluster needs is missing, unreadable, expired or not yet valid.</summary>
    ClientCertificateUnavailable,

    /// <summary>The CA certificates that verify the server are missing or unreadable.</summary>
    TrustedRootsUnavailable,

    /// <summary>The cluster names a certificate provider instance that is not configured.</summary>
    UnknownCertificateProvider,

    /// <summary>The server sent no certificate.</summary>
    ServerCertificateMissing,

    /// <summary>The server's certificate does not chain to a trusted CA.</summary>
    ServerCertificateUntrusted,

    /// <summary>The server's certificate has expired or is not yet valid.</summary>
    ServerCertificateExpired,

    /// <summary>The server's certificate carries no subject alternative name the cluster accepts.</summary>
    SubjectAltNameMismatch,

    /// <summary>The handshake failed for another reason (for example, the server refused the client certificate).</summary>
    HandshakeFailed,
}

/// <summary>
/// A connection to a cluster that requires TLS was not made; nothing was sent in plaintext. The message
/// names the cluster and says why.
/// </summary>
public sealed class MeshTlsException : System.Security.Authentication.AuthenticationException
{
    /// <summary>Creates the exception.</summary>
    public MeshTlsException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why.</param>
    public MeshTlsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="innerException">The cause.</param>
    public MeshTlsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="failure">Why.</param>
    /// <param name="cluster">The cluster.</param>
    /// <param name="message">What failed and why.</param>
    /// <param name="innerException">The cause.</param>
    public MeshTlsException(MeshTlsFailure failure, string cluster, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        Cluster = cluster;
    }

    /// <summary>Why.</summary>
    public MeshTlsFailure Failure { get; }

    /// <summary>The cluster the connection was for.</summary>
    public string? Cluster { get; }
}
