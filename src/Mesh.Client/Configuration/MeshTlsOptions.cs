using Mesh.Client.Model;

namespace Mesh.Client.Configuration;

/// <summary>
/// The <c>Mesh:Tls</c> section: the certificate provider instances (gRFC A29) that services' TLS settings
/// name. Without a control plane this is where a workload's certificates come from, e.g. the files
/// Istio's agent writes for proxyless workloads.
/// </summary>
public sealed class MeshTlsOptions
{
    /// <summary>
    /// Certificate providers by instance name (compared ordinally, as xDS compares them). Services refer to
    /// them by this name in <see cref="MeshServiceTlsOptions.CertificateProvider"/> and
    /// <see cref="MeshServiceTlsOptions.RootCertificateProvider"/>.
    /// </summary>
    public IDictionary<string, MeshCertificateProviderOptions> CertificateProviders { get; } = new Dictionary<string, MeshCertificateProviderOptions>(StringComparer.Ordinal);
}

/// <summary>
/// A <c>file_watcher</c> certificate provider (gRFC A29): PEM files read at start and again every
/// <see cref="RefreshInterval"/>. The files need not exist at start-up (an agent may write them later);
/// until they can be read, calls that need them fail and say why.
/// </summary>
public sealed class MeshCertificateProviderOptions
{
    /// <summary>PEM certificate chain, leaf first (Istio's <c>cert-chain.pem</c>). Set together with <see cref="PrivateKeyFile"/>.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM private key of the leaf certificate, RSA or ECDSA (Istio's <c>key.pem</c>). Set together with <see cref="CertificateFile"/>.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>PEM bundle of the CA certificates that verify servers (Istio's <c>root-cert.pem</c>).</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>How often the files are read again (<c>"5m"</c>, <c>"00:05:00"</c>); positive. Default 10 minutes when not set.</summary>
    public TimeSpan? RefreshInterval { get; set; }
}

/// <summary>
/// TLS towards a service's endpoints (Envoy's <c>UpstreamTlsContext</c>). A service with TLS never sends
/// plaintext: when its certificates cannot be had or the server cannot be verified, its calls fail.
/// </summary>
public sealed class MeshServiceTlsOptions
{
    /// <summary>The provider in <see cref="MeshTlsOptions.CertificateProviders"/> whose certificate and key the client presents (mutual TLS). Not set: TLS without a client certificate.</summary>
    public string? CertificateProvider { get; set; }

    /// <summary>The certificate's name within <see cref="CertificateProvider"/> (xDS <c>certificate_name</c>); <c>file_watcher</c> providers ignore it.</summary>
    public string? CertificateName { get; set; }

    /// <summary>The provider in <see cref="MeshTlsOptions.CertificateProviders"/> whose CA certificates verify the server. Set this or <see cref="UseSystemRoots"/>.</summary>
    public string? RootCertificateProvider { get; set; }

    /// <summary>The CA certificates' name within <see cref="RootCertificateProvider"/>; <c>file_watcher</c> providers ignore it.</summary>
    public string? RootCertificateName { get; set; }

    /// <summary>Verify the server against the operating system's trusted roots (gRFC A82). Set this or <see cref="RootCertificateProvider"/>.</summary>
    public bool UseSystemRoots { get; set; }

    /// <summary>
    /// The server certificate must have a subject alternative name that one of these matches; empty accepts
    /// any name (the chain is still verified). In appsettings.json each is a string (an exact match of any
    /// SAN type, e.g. a SPIFFE ID) or an object.
    /// </summary>
    public IList<MeshSubjectAltNameOptions> SubjectAltNames { get; } = [];

    /// <summary>The server name sent in the handshake (SNI); the endpoint's host when not set.</summary>
    public string? Sni { get; set; }
}

/// <summary>One acceptable subject alternative name of the server: a <see cref="Type"/> and exactly one of the match kinds.</summary>
public sealed class MeshSubjectAltNameOptions
{
    /// <summary>Which SANs are compared: <c>Any</c> (default), <c>Uri</c>, <c>Dns</c>, <c>Email</c> or <c>IpAddress</c>.</summary>
    public SubjectAltNameType Type { get; set; } = SubjectAltNameType.Any;

    /// <summary>The whole name equals this (a DNS SAN <c>*.example.com</c> also matches one label).</summary>
    public string? Exact { get; set; }

    /// <summary>The name starts with this.</summary>
    public string? Prefix { get; set; }

    /// <summary>The name ends with this.</summary>
    public string? Suffix { get; set; }

    /// <summary>The name contains this.</summary>
    public string? Contains { get; set; }

    /// <summary>The whole name matches this regular expression (RE2 semantics: linear time).</summary>
    public string? Regex { get; set; }

    /// <summary>Compare ignoring ASCII case; not with <see cref="Regex"/>.</summary>
    public bool IgnoreCase { get; set; }
}
