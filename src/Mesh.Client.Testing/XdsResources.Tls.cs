using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing;

public static partial class XdsResources
{
    /// <summary>The certificate provider instance Istio's TLS configuration names (<see cref="IstioUpstreamTls"/>).</summary>
    public const string IstioCertificateProvider = "default";

    private const string TlsTransportSocketName = "envoy.transport_sockets.tls";

    /// <summary>
    /// A TLS configuration for <see cref="Cluster"/> in the current form (gRFC A29): the client certificate from
    /// the bootstrap's certificate provider <paramref name="identityInstance"/>
    /// (<c>tls_certificate_provider_instance</c>), the roots from <paramref name="rootInstance"/>
    /// (<c>validation_context.ca_certificate_provider_instance</c>), and the server's acceptable names as exact
    /// <c>match_subject_alt_names</c>.
    /// </summary>
    /// <param name="identityInstance">The identity's provider instance; <see langword="null"/> for TLS without a client certificate.</param>
    /// <param name="rootInstance">The provider instance of the CA certificates that verify the server.</param>
    /// <param name="subjectAltNames">Names one of which the server certificate must carry (SPIFFE IDs, DNS names); none accepts any.</param>
    /// <returns>The packed <c>envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext</c>.</returns>
    public static Any UpstreamTls(string? identityInstance, string rootInstance, params string[] subjectAltNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootInstance);
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var validation = new CertificateValidationContext
        {
            CaCertificateProviderInstance = new CertificateProviderPluginInstance { InstanceName = rootInstance },
        };
        validation.MatchSubjectAltNames.Add(ExactMatchers(subjectAltNames));
        var common = new CommonTlsContext { ValidationContext = validation };
        if (identityInstance is not null)
        {
            common.TlsCertificateProviderInstance = new CertificateProviderPluginInstance { InstanceName = identityInstance };
        }

        return Any.Pack(new UpstreamTlsContext { CommonTlsContext = common });
    }

    /// <summary>
    /// The TLS configuration Istio sends proxyless gRPC clients for a mutual-TLS cluster: the client certificate
    /// from provider instance <c>default</c> (certificate <c>default</c>, in the deprecated
    /// <c>tls_certificate_certificate_provider_instance</c>), a <c>combined_validation_context</c> whose
    /// <c>default_validation_context</c> lists the server's SPIFFE IDs as exact <c>match_subject_alt_names</c>
    /// and whose deprecated <c>validation_context_certificate_provider_instance</c> names the roots (instance
    /// <c>default</c>, certificate <c>ROOTCA</c>). The bootstrap Istio's agent writes declares <c>default</c>.
    /// </summary>
    /// <param name="subjectAltNames">The server's identities, e.g. <c>spiffe://cluster.local/ns/default/sa/echo</c>.</param>
    /// <returns>The packed <c>envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext</c>.</returns>
    public static Any IstioUpstreamTls(params string[] subjectAltNames)
    {
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var defaults = new CertificateValidationContext();
        defaults.MatchSubjectAltNames.Add(ExactMatchers(subjectAltNames));
        return Any.Pack(new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                TlsCertificateCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance
                {
                    InstanceName = IstioCertificateProvider,
                    CertificateName = "default",
                },
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = defaults,
                    ValidationContextCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance
                    {
                        InstanceName = IstioCertificateProvider,
                        CertificateName = "ROOTCA",
                    },
                },
            },
        });
    }

    private static IEnumerable<Envoy.Type.Matcher.V3.StringMatcher> ExactMatchers(string[] names)
    {
        foreach (var name in names)
        {
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(names));
            yield return new Envoy.Type.Matcher.V3.StringMatcher { Exact = name };
        }
    }
}
