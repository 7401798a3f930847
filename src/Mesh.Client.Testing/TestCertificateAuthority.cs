using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Client.Testing;

/// <summary>The kind of key a <see cref="TestCertificateAuthority"/> issues.</summary>
public enum TestKeyType
{
    /// <summary>ECDSA on P-256 (what Istio issues by default).</summary>
    EcdsaP256,

    /// <summary>RSA 2048.</summary>
    Rsa2048,
}

/// <summary>
/// A certificate authority made at run time for tests: a self-signed root that issues workload
/// certificates with SPIFFE IDs and DNS names, and writes them as the PEM files Istio's agent writes
/// (<c>cert-chain.pem</c>, <c>key.pem</c>, <c>root-cert.pem</c>). Nothing is stored anywhere else.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ECDsa _key;

    /// <summary>Creates a root CA named <paramref name="name"/>, valid from a day ago for ten years.</summary>
    /// <param name="name">The CA's common name.</param>
    /// <param name="time">The clock validity is counted from; the system clock by default.</param>
    public TestCertificateAuthority(string name = "Mesh Test Root CA", TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=Mesh.Client tests", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = _time.GetUtcNow();
        Certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    /// <summary>The root certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The root as PEM.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>
    /// Issues a certificate for a workload or server.
    /// </summary>
    /// <param name="spiffeId">The URI SAN, e.g. <c>spiffe://cluster.local/ns/default/sa/echo</c>; none when null.</param>
    /// <param name="dnsNames">DNS SANs (servers usually carry <c>localhost</c>).</param>
    /// <param name="notBefore">Start of validity; an hour ago by default.</param>
    /// <param name="notAfter">End of validity; a day from now by default.</param>
    /// <param name="keyType">ECDSA P-256 (default) or RSA 2048.</param>
    /// <param name="ipAddresses">IP address SANs.</param>
    /// <returns>The certificate with its private key.</returns>
    public X509Certificate2 Issue(
        string? spiffeId,
        IEnumerable<string>? dnsNames = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        TestKeyType keyType = TestKeyType.EcdsaP256,
        IEnumerable<System.Net.IPAddress>? ipAddresses = null)
    {
        var now = _time.GetUtcNow();
        var subject = $"CN={spiffeId ?? dnsNames?.FirstOrDefault() ?? "workload"}, O=Mesh.Client tests";
        using var rsa = keyType == TestKeyType.Rsa2048 ? RSA.Create(2048) : null;
        using var ecdsa = keyType == TestKeyType.EcdsaP256 ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var request = rsa is not null
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, ecdsa!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | (rsa is not null ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement), true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
        var sans = new SubjectAlternativeNameBuilder();
        if (spiffeId is not null)
        {
            sans.AddUri(new Uri(spiffeId));
        }

        foreach (var dns in dnsNames ?? [])
        {
            sans.AddDnsName(dns);
        }

        foreach (var ip in ipAddresses ?? [])
        {
            sans.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(sans.Build(critical: spiffeId is not null && dnsNames is null));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var from = notBefore ?? now.AddHours(-1);
        var to = notAfter ?? now.AddDays(1);
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), from, to, serial);
        return rsa is not null ? issued.CopyWithPrivateKey(rsa) : issued.CopyWithPrivateKey(ecdsa!);
    }

    /// <summary>
    /// Writes <paramref name="certificate"/> and its key as Istio's agent does: <c>cert-chain.pem</c> (leaf),
    /// <c>key.pem</c> (PKCS#8), and this CA as <c>root-cert.pem</c>, into <paramref name="directory"/>.
    /// Each file is written beside and then moved into place, so a reader never sees half a file.
    /// </summary>
    /// <param name="directory">The directory, created if missing.</param>
    /// <param name="certificate">A certificate this CA issued, with its key.</param>
    /// <returns>The three paths.</returns>
    public (string CertificateChain, string Key, string Root) WriteIstioFiles(string directory, X509Certificate2 certificate)
    {
        Directory.CreateDirectory(directory);
        var chain = Path.Combine(directory, "cert-chain.pem");
        var key = Path.Combine(directory, "key.pem");
        var root = Path.Combine(directory, "root-cert.pem");
        WriteAtomically(key, ExportPrivateKeyPem(certificate));
        WriteAtomically(chain, certificate.ExportCertificatePem());
        WriteAtomically(root, CertificatePem);
        return (chain, key, root);
    }

    /// <summary>The private key of <paramref name="certificate"/> as PKCS#8 PEM.</summary>
    public static string ExportPrivateKeyPem(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("The certificate has no private key.", nameof(certificate));
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Writes a file through a temporary name and a rename.</summary>
    public static void WriteAtomically(string path, string contents)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temporary, contents);
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

}
