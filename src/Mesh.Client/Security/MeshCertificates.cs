using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Security;

/// <summary>Reads workload identities from certificates, for servers that check who calls them.</summary>
public static class MeshCertificates
{
    /// <summary>
    /// The SPIFFE ID of <paramref name="certificate"/>: its one URI subject alternative name that starts
    /// with <c>spiffe://</c>; <see langword="null"/> when it has none or more than one (gRFC A87).
    /// </summary>
    /// <param name="certificate">A certificate, e.g. <c>HttpContext.Connection.ClientCertificate</c>.</param>
    /// <returns>The SPIFFE ID, or null.</returns>
    public static string? GetSpiffeId(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return CertificateNames.SpiffeId(CertificateNames.Read(certificate));
    }

    /// <summary>The email, DNS, URI and IP address subject alternative names of <paramref name="certificate"/>, as <c>TYPE:value</c>.</summary>
    /// <param name="certificate">A certificate.</param>
    /// <returns>The names, in certificate order.</returns>
    public static IReadOnlyList<string> GetSubjectAltNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return [.. CertificateNames.Read(certificate).Select(n => n.ToString())];
    }
}
