namespace Mesh.Client.Model;

/// <summary>
/// TLS towards a cluster's endpoints (Envoy's <c>UpstreamTlsContext</c>). Certificates come from named
/// certificate provider instances (gRFC A29): the bootstrap's <c>certificate_providers</c> or the
/// <c>Mesh:Tls:CertificateProviders</c> section. A cluster with TLS never sends plaintext: when its
/// certificates cannot be had or the server's cannot be verified, its requests fail and say why.
/// </summary>
internal sealed record MeshClusterTls
{
    /// <summary>
    /// Where the client certificate and key come from (mutual TLS). <see langword="null"/>: TLS without a
    /// client certificate.
    /// </summary>
    public CertificateProviderReference? Identity { get; init; }

    /// <summary>Where the CA certificates that verify the server come from; <see langword="null"/> with <see cref="UseSystemRoots"/> set uses the system's.</summary>
    public CertificateProviderReference? Roots { get; init; }

    /// <summary>Verify the server against the operating system's trusted roots (gRFC A82's <c>system_root_certs</c>).</summary>
    public bool UseSystemRoots { get; init; }

    /// <summary>
    /// The server certificate must carry a subject alternative name that one of these matches; empty means
    /// any name (the chain is still verified). SPIFFE IDs are URI SANs: match them exactly.
    /// </summary>
    public IReadOnlyList<SubjectAltNameMatch> SubjectAltNames { get; init; } = [];

    /// <summary>The server name sent in the handshake (SNI); the endpoint's host when not set.</summary>
    public string? Sni { get; init; }
}

/// <summary>A certificate from a named provider instance (<c>CertificateProviderPluginInstance</c>).</summary>
/// <param name="InstanceName">The provider instance, e.g. Istio's <c>default</c>.</param>
/// <param name="CertificateName">The certificate within it, e.g. Istio's <c>ROOTCA</c>; a file_watcher provider has one of each kind and ignores it.</param>
internal sealed record CertificateProviderReference(string InstanceName, string CertificateName = "");

/// <summary>Which subject alternative names a <see cref="SubjectAltNameMatch"/> looks at.</summary>
public enum SubjectAltNameType
{
    /// <summary>Any: DNS, URI, email and IP address SANs (the deprecated <c>match_subject_alt_names</c>).</summary>
    Any = 0,

    /// <summary>Email SANs.</summary>
    Email = 1,

    /// <summary>DNS SANs; an exact match also accepts a wildcard SAN (<c>*.example.com</c>) for one label.</summary>
    Dns = 2,

    /// <summary>URI SANs, where SPIFFE IDs live.</summary>
    Uri = 3,

    /// <summary>IP address SANs, in their text form.</summary>
    IpAddress = 4,
}

/// <summary>How a <see cref="SubjectAltNameMatch"/> compares.</summary>
internal enum StringMatchKind
{
    /// <summary>The whole name.</summary>
    Exact,

    /// <summary>The name starts with the value.</summary>
    Prefix,

    /// <summary>The name ends with the value.</summary>
    Suffix,

    /// <summary>The name contains the value.</summary>
    Contains,

    /// <summary>The whole name matches a regular expression (RE2 syntax, linear time).</summary>
    Regex,
}

/// <summary>One acceptable subject alternative name of the server.</summary>
internal sealed record SubjectAltNameMatch
{
    /// <summary>Which SANs to look at.</summary>
    public SubjectAltNameType Type { get; init; }

    /// <summary>How to compare.</summary>
    public StringMatchKind Kind { get; init; }

    /// <summary>The value (the pattern for <see cref="StringMatchKind.Regex"/>).</summary>
    public required string Value { get; init; }

    /// <summary>Compare without regard to ASCII case (not for regular expressions).</summary>
    public bool IgnoreCase { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Type == SubjectAltNameType.Any ? "" : Type.ToString().ToUpperInvariant() + " ")}{Kind.ToString().ToLowerInvariant()} '{Value}'{(IgnoreCase ? " (ignore case)" : "")}";
}
