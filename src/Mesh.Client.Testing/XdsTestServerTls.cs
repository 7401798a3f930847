using System.Security.Cryptography.X509Certificates;

namespace Mesh.Client.Testing;

/// <summary>
/// How an <see cref="XdsTestServer"/> serves TLS, as a control plane behind <c>tls</c> channel credentials
/// (gRFC A65) does: a server certificate, and optionally mutual TLS with client certificates verified
/// against given CA certificates.
/// </summary>
public sealed class XdsTestServerTls
{
    /// <summary>
    /// The server certificate, with its private key (for example one issued by <see cref="TestCertificateAuthority.Issue"/>
    /// with the IP address <c>127.0.0.1</c> or the name the client's <c>server_uri</c> uses).
    /// </summary>
    public required X509Certificate2 ServerCertificate { get; init; }

    /// <summary>
    /// When set, clients must present a certificate that chains to one of these; a client without one, or with
    /// another, fails the handshake. Each verified certificate is recorded in <see cref="XdsTestServer.ClientCertificates"/>.
    /// </summary>
    public X509Certificate2Collection? ClientRoots { get; init; }
}

/// <summary>A client certificate an <see cref="XdsTestServer"/> verified in a TLS handshake.</summary>
/// <param name="Subject">The certificate's subject distinguished name.</param>
/// <param name="SerialNumber">The serial number, as hexadecimal (<see cref="X509Certificate2.SerialNumber"/>).</param>
/// <param name="Thumbprint">The SHA-1 thumbprint.</param>
/// <param name="SpiffeId">The SPIFFE ID (URI SAN starting <c>spiffe://</c>), if the certificate has one.</param>
/// <param name="NotAfter">The end of the certificate's validity, UTC.</param>
public sealed record XdsTestClientCertificate(string Subject, string SerialNumber, string Thumbprint, string? SpiffeId, DateTime NotAfter);

/// <summary>
/// The <c>tls</c> channel credentials (gRFC A65) that <see cref="XdsTestServer.CreateBootstrapJson"/> writes into a
/// bootstrap: paths of PEM files, as Istio's agent writes them (see <see cref="TestCertificateAuthority.WriteIstioFiles"/>).
/// </summary>
/// <param name="CaCertificateFile">The CA bundle that verifies the server; the system's roots when <see langword="null"/>.</param>
/// <param name="CertificateFile">The client certificate chain, for mutual TLS; none when <see langword="null"/>.</param>
/// <param name="PrivateKeyFile">The client certificate's private key; given together with <paramref name="CertificateFile"/>.</param>
/// <param name="RefreshInterval">How often the client reads the files again; the client's default when <see langword="null"/>.</param>
public sealed record XdsTestTlsCredentials(string? CaCertificateFile, string? CertificateFile = null, string? PrivateKeyFile = null, TimeSpan? RefreshInterval = null);
