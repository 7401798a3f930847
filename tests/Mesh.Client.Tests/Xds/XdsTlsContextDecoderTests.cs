using System.Text.Json.Nodes;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Extensions.Clusters.Aggregate.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.DependencyInjection;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;
using XdsTypeUrls = Mesh.Client.Xds.Internal.XdsTypeUrls;

namespace Mesh.Client.Tests.Xds;

/// <summary>A Cluster's <c>transport_socket</c> → <see cref="MeshClusterTls"/> (gRFC A29, A82), and its way to the mesh table.</summary>
public class XdsTlsContextDecoderTests
{
    private const string EchoSpiffeId = "spiffe://cluster.local/ns/default/sa/echo";
    private const string ClusterName = "outbound|7070||echo.default.svc.cluster.local";
    private const string TlsPath = "transport_socket.typed_config";
    private const string CommonPath = TlsPath + ".common_tls_context";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static readonly XdsDecodeContext Istio = XdsDecodeContext.ForCertificateProviders(["default"]);

    private static Cluster EdsCluster(Any? upstreamTls = null) =>
        Cluster.Parser.ParseFrom(XdsResources.Cluster(ClusterName, upstreamTls: upstreamTls).Value);

    private static Cluster WithTls(UpstreamTlsContext context) => EdsCluster(Any.Pack(context));

    private static XdsDecodeResult Decode(Cluster cluster, XdsDecodeContext? context = null) =>
        XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(cluster), context ?? Istio);

    private static MeshClusterTls? Tls(Cluster cluster, XdsDecodeContext? context = null)
    {
        var result = Decode(cluster, context);
        Assert.Null(result.Error);
        return Assert.IsType<XdsClusterUpdate>(result.Update).Tls;
    }

    private static MeshClusterTls ValidTls(UpstreamTlsContext context) => Assert.IsType<MeshClusterTls>(Tls(WithTls(context)));

    private static string Error(Cluster cluster, XdsDecodeContext? context = null)
    {
        var result = Decode(cluster, context);
        Assert.Null(result.Update);
        Assert.Equal(cluster.Name, result.Name);
        return Assert.IsType<string>(result.Error);
    }

    private static string Error(UpstreamTlsContext context) => Error(WithTls(context));

    private static CertificateProviderPluginInstance Plugin(string instance = "default", string certificate = "") =>
        new() { InstanceName = instance, CertificateName = certificate };

    private static CommonTlsContext.Types.CertificateProviderInstance OlderInstance(string instance = "default", string certificate = "") =>
        new() { InstanceName = instance, CertificateName = certificate };

    /// <summary>The smallest valid configuration: roots from provider <c>default</c>, in <c>validation_context</c>.</summary>
    private static UpstreamTlsContext RootsOnly(Action<CertificateValidationContext>? validation = null)
    {
        var context = new CertificateValidationContext { CaCertificateProviderInstance = Plugin(certificate: "ROOTCA") };
        validation?.Invoke(context);
        return new UpstreamTlsContext { CommonTlsContext = new CommonTlsContext { ValidationContext = context } };
    }

    private static UpstreamTlsContext Mutual(Action<CommonTlsContext> configure)
    {
        var context = RootsOnly();
        context.CommonTlsContext.TlsCertificateProviderInstance = Plugin(certificate: "default");
        configure(context.CommonTlsContext);
        return context;
    }

    [Fact]
    public void NoTransportSocket_IsPlaintext()
    {
        Assert.Null(Tls(EdsCluster()));
    }

    [Fact]
    public void IstioShapedCluster_DecodesIdentityRootsAndSpiffeId()
    {
        var cluster = EdsCluster(XdsResources.IstioUpstreamTls(EchoSpiffeId));

        var tls = Tls(cluster);

        Assert.NotNull(tls);
        Assert.Equal(new CertificateProviderReference("default", "default"), tls.Identity);
        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), tls.Roots);
        Assert.False(tls.UseSystemRoots);
        Assert.Null(tls.Sni);
        var san = Assert.Single(tls.SubjectAltNames);
        Assert.Equal(new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Exact, Value = EchoSpiffeId }, san);
    }

    [Fact]
    public void NewerIstioShape_CurrentFieldsWinOverTheDeprecatedOnes()
    {
        // Istio 1.2x sends the current fields (14, 13) and the deprecated ones (11, 4) together.
        var defaults = new CertificateValidationContext { CaCertificateProviderInstance = Plugin("current", "ROOTCA") };
        defaults.MatchSubjectAltNames.Add(new StringMatcher { Exact = EchoSpiffeId });
        var cluster = WithTls(new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                TlsCertificateProviderInstance = Plugin("current", "default"),
                TlsCertificateCertificateProviderInstance = OlderInstance("default", "default"),
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = defaults,
                    ValidationContextCertificateProviderInstance = OlderInstance("default", "ROOTCA"),
                },
            },
        });

        var tls = Tls(cluster, XdsDecodeContext.ForCertificateProviders(["default", "current"]));

        Assert.Equal(new CertificateProviderReference("current", "default"), tls?.Identity);
        Assert.Equal(new CertificateProviderReference("current", "ROOTCA"), tls?.Roots);
    }

    [Fact]
    public void UpstreamTlsHelper_DecodesToProvidersAndSans()
    {
        var tls = Tls(EdsCluster(XdsResources.UpstreamTls("identity", "roots", EchoSpiffeId, "echo.default.svc")), XdsDecodeContext.ForCertificateProviders(["identity", "roots"]));

        Assert.Equal(new CertificateProviderReference("identity"), tls?.Identity);
        Assert.Equal(new CertificateProviderReference("roots"), tls?.Roots);
        Assert.Equal([EchoSpiffeId, "echo.default.svc"], tls!.SubjectAltNames.Select(s => s.Value));
    }

    [Fact]
    public void NoIdentityProvider_IsTlsWithoutClientCertificate()
    {
        var tls = Tls(EdsCluster(XdsResources.UpstreamTls(null, "default")));

        Assert.Null(tls?.Identity);
        Assert.Equal(new CertificateProviderReference("default"), tls?.Roots);
        Assert.Empty(tls!.SubjectAltNames);
    }

    [Fact]
    public void DeprecatedIdentityField_IsReadWhenTheCurrentOneIsAbsent()
    {
        var context = RootsOnly();
        context.CommonTlsContext.TlsCertificateCertificateProviderInstance = OlderInstance("default", "default");

        Assert.Equal(new CertificateProviderReference("default", "default"), ValidTls(context).Identity);
    }

    [Theory]
    [InlineData("envoy.transport_sockets.raw_buffer")]
    [InlineData("envoy.transport_sockets.tls")]
    public void TransportSocketWithoutTypedConfig_IsNacked(string name)
    {
        var cluster = EdsCluster();
        cluster.TransportSocket = new TransportSocket { Name = name };

        Assert.Equal($"{TlsPath}: field not present (a client supports {XdsTlsContextDecoder.UpstreamTlsContextTypeName})", Error(cluster));
    }

    [Fact]
    public void TransportSocketOfAnotherType_IsNackedNamingTheType()
    {
        var cluster = EdsCluster(Any.Pack(new ClusterConfig { Clusters = { "a" } }));

        var error = Error(cluster);

        Assert.Equal(
            $"{TlsPath}.type_url: unsupported transport socket type envoy.extensions.clusters.aggregate.v3.ClusterConfig (a client supports {XdsTlsContextDecoder.UpstreamTlsContextTypeName})",
            error);
    }

    [Fact]
    public void UnparsableUpstreamTlsContext_IsNacked()
    {
        var cluster = EdsCluster(new Any { TypeUrl = "type.googleapis.com/" + XdsTlsContextDecoder.UpstreamTlsContextTypeName, Value = Google.Protobuf.ByteString.CopyFrom(0xFF, 0xFF) });

        Assert.StartsWith($"{TlsPath}: cannot parse the {XdsTlsContextDecoder.UpstreamTlsContextTypeName}", Error(cluster), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingCommonTlsContext_IsNacked()
    {
        Assert.Equal(
            $"{CommonPath}: field not present (a client needs at least the root certificates that verify the server)",
            Error(new UpstreamTlsContext { Sni = "echo" }));
    }

    [Fact]
    public void UnknownProviderInstance_IsNackedNamingTheInstanceAndTheKnownOnes()
    {
        var cluster = EdsCluster(XdsResources.UpstreamTls("spire", "default"));

        var error = Error(cluster, XdsDecodeContext.ForCertificateProviders(["default", "backup"]));

        Assert.Equal(
            $"{CommonPath}.tls_certificate_provider_instance.instance_name: unknown certificate provider instance \"spire\" (the bootstrap's certificate_providers are \"backup\", \"default\")",
            error);
    }

    [Fact]
    public void ProviderInstance_WithoutBootstrapProviders_IsNacked()
    {
        var error = Error(EdsCluster(XdsResources.IstioUpstreamTls(EchoSpiffeId)), XdsDecodeContext.Empty);

        // Both references are reported at once.
        Assert.Equal(
            $"{CommonPath}.tls_certificate_certificate_provider_instance.instance_name: unknown certificate provider instance \"default\" (the bootstrap declares no certificate_providers); "
            + $"{CommonPath}.combined_validation_context.validation_context_certificate_provider_instance.instance_name: unknown certificate provider instance \"default\" (the bootstrap declares no certificate_providers)",
            error);
    }

    [Fact]
    public void DecodeContext_FromBootstrap_KnowsItsCertificateProviders()
    {
        var bootstrap = new XdsBootstrap
        {
            XdsServers = [new XdsServerConfig { ServerUri = "127.0.0.1:1", ChannelCredentials = XdsChannelCredentials.Insecure }],
            Node = new XdsNode(),
            CertificateProviders = new Dictionary<string, CertificateProviderConfig>
            {
                ["default"] = new() { PluginName = "file_watcher" },
            },
        };

        var context = XdsDecodeContext.For(bootstrap);

        Assert.Equal(["default"], context.CertificateProviders);
        Assert.NotNull(Tls(EdsCluster(XdsResources.IstioUpstreamTls(EchoSpiffeId)), context));
    }

    [Fact]
    public void NoRootSource_IsNacked()
    {
        var context = new UpstreamTlsContext { CommonTlsContext = new CommonTlsContext { TlsCertificateProviderInstance = Plugin() } };

        Assert.Equal(
            $"{CommonPath}: no root certificates to verify the server: set ca_certificate_provider_instance or system_root_certs in validation_context or combined_validation_context.default_validation_context",
            Error(context));
    }

    [Fact]
    public void TrustedCaAlone_IsNackedWithAHint()
    {
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { Filename = "/etc/ssl/ca.pem" } },
            },
        };

        Assert.EndsWith("(trusted_ca is not supported: name a bootstrap certificate provider instead)", Error(context), StringComparison.Ordinal);
    }

    [Fact]
    public void CombinedValidationContext_WithoutAnyRoots_IsNacked()
    {
        var defaults = new CertificateValidationContext();
        defaults.MatchSubjectAltNames.Add(new StringMatcher { Exact = EchoSpiffeId });
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext { DefaultValidationContext = defaults },
            },
        };

        Assert.Contains($"{CommonPath}: no root certificates to verify the server", Error(context), StringComparison.Ordinal);
    }

    [Fact]
    public void SystemRootCerts_UseTheSystemRoots()
    {
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                ValidationContext = new CertificateValidationContext { SystemRootCerts = new CertificateValidationContext.Types.SystemRootCerts() },
            },
        };

        var tls = ValidTls(context);

        Assert.True(tls.UseSystemRoots);
        Assert.Null(tls.Roots);
    }

    [Fact]
    public void ProviderInstanceAndSystemRootCerts_TheProviderWins()
    {
        var tls = ValidTls(RootsOnly(v => v.SystemRootCerts = new CertificateValidationContext.Types.SystemRootCerts()));

        Assert.False(tls.UseSystemRoots);
        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), tls.Roots);
    }

    [Fact]
    public void CombinedValidationContext_DeprecatedRootsReplaceSystemRoots()
    {
        // C-core's order: the deprecated instance serves whenever the default context names no provider.
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = new CertificateValidationContext { SystemRootCerts = new CertificateValidationContext.Types.SystemRootCerts() },
                    ValidationContextCertificateProviderInstance = OlderInstance("default", "ROOTCA"),
                },
            },
        };

        var tls = ValidTls(context);

        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), tls.Roots);
        Assert.False(tls.UseSystemRoots);
    }

    [Fact]
    public void DeprecatedValidationContextProviderInstance_GivesTheRoots()
    {
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext { ValidationContextCertificateProviderInstance = OlderInstance("default", "ROOTCA") },
        };

        var tls = ValidTls(context);

        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), tls.Roots);
        Assert.Empty(tls.SubjectAltNames);
    }

    [Theory]
    [InlineData("tls_params", CommonPath + ".tls_params: not supported by a client (the client does not take TLS versions or ciphers from the control plane)")]
    [InlineData("custom_handshaker", CommonPath + ".custom_handshaker: not supported by a client (found envoy.handshaker)")]
    [InlineData("tls_certificates", CommonPath + ".tls_certificates: not supported by a client (found 1; name a bootstrap certificate provider in tls_certificate_provider_instance)")]
    [InlineData("tls_certificate_sds_secret_configs", CommonPath + ".tls_certificate_sds_secret_configs: not supported by a client (found 1; a client does not speak SDS, name a bootstrap certificate provider in tls_certificate_provider_instance)")]
    [InlineData("tls_certificate_certificate_provider", CommonPath + ".tls_certificate_certificate_provider: not supported by a client (deprecated inline provider configuration; name a bootstrap certificate provider in tls_certificate_provider_instance)")]
    [InlineData("validation_context_sds_secret_config", CommonPath + ".validation_context_sds_secret_config: not supported by a client (a client does not speak SDS; name a bootstrap certificate provider in ca_certificate_provider_instance)")]
    [InlineData("validation_context_certificate_provider", CommonPath + ".validation_context_certificate_provider: not supported by a client (deprecated inline provider configuration; name a bootstrap certificate provider in ca_certificate_provider_instance)")]
    [InlineData("combined.validation_context_certificate_provider", CommonPath + ".combined_validation_context.validation_context_certificate_provider: not supported by a client (deprecated inline provider configuration; name a bootstrap certificate provider in ca_certificate_provider_instance)")]
    [InlineData("verify_certificate_spki", CommonPath + ".validation_context.verify_certificate_spki: not supported by a client (found 1 pins)")]
    [InlineData("verify_certificate_hash", CommonPath + ".validation_context.verify_certificate_hash: not supported by a client (found 2 hashes)")]
    [InlineData("require_signed_certificate_timestamp", CommonPath + ".validation_context.require_signed_certificate_timestamp: not supported by a client (found true)")]
    [InlineData("crl", CommonPath + ".validation_context.crl: not supported by a client (certificate revocation lists are not checked)")]
    [InlineData("custom_validator_config", CommonPath + ".validation_context.custom_validator_config: not supported by a client (found envoy.tls.cert_validator.spiffe)")]
    public void UnsupportedField_IsNackedWithItsPath(string field, string expected)
    {
        // Roots are there, so the field is the only complaint (or the first, where it also removes the roots).
        var context = RootsOnly();
        var common = context.CommonTlsContext;
        var validation = common.ValidationContext;
        switch (field)
        {
            case "tls_params":
                common.TlsParams = new TlsParameters();
                break;
            case "custom_handshaker":
                common.CustomHandshaker = new TypedExtensionConfig { Name = "envoy.handshaker" };
                break;
            case "tls_certificates":
                common.TlsCertificates.Add(new TlsCertificate());
                break;
            case "tls_certificate_sds_secret_configs":
                common.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig { Name = "default" });
                break;
            case "tls_certificate_certificate_provider":
                common.TlsCertificateCertificateProvider = new CommonTlsContext.Types.CertificateProvider { Name = "inline" };
                break;
            case "validation_context_sds_secret_config":
                common.ValidationContextSdsSecretConfig = new SdsSecretConfig { Name = "ROOTCA" };
                break;
            case "validation_context_certificate_provider":
                common.ValidationContextCertificateProvider = new CommonTlsContext.Types.CertificateProvider { Name = "inline" };
                break;
            case "combined.validation_context_certificate_provider":
                common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = validation,
                    ValidationContextCertificateProvider = new CommonTlsContext.Types.CertificateProvider { Name = "inline" },
                };
                break;
            case "verify_certificate_spki":
                validation.VerifyCertificateSpki.Add("NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A=");
                break;
            case "verify_certificate_hash":
                validation.VerifyCertificateHash.Add(new string('a', 64));
                validation.VerifyCertificateHash.Add(new string('b', 64));
                break;
            case "require_signed_certificate_timestamp":
                validation.RequireSignedCertificateTimestamp = true;
                break;
            case "crl":
                validation.Crl = new DataSource { Filename = "/etc/crl.pem" };
                break;
            case "custom_validator_config":
                validation.CustomValidatorConfig = new TypedExtensionConfig { Name = "envoy.tls.cert_validator.spiffe" };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(field), field, null);
        }

        Assert.Equal(expected, Error(context));
    }

    [Fact]
    public void FieldsGrpcIgnores_AreIgnored()
    {
        var context = Mutual(common =>
        {
            // Beside a provider identity, static and SDS certificates are for Envoy clients of the same control plane.
            common.TlsCertificates.Add(new TlsCertificate());
            common.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig { Name = "default" });
            common.AlpnProtocols.Add("h2");
            var validation = common.ValidationContext;
            validation.AllowExpiredCertificate = true;
            validation.TrustChainVerification = CertificateValidationContext.Types.TrustChainVerification.AcceptUntrusted;
            validation.TrustedCa = new DataSource { Filename = "/etc/ssl/ca.pem" };
            validation.RequireSignedCertificateTimestamp = false;
        });
        context.AllowRenegotiation = true;
        context.MaxSessionKeys = 3;

        var tls = ValidTls(context);

        // The chain and its validity are still checked: MeshClusterTls has no way to relax them.
        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), tls.Roots);
        Assert.Equal(new CertificateProviderReference("default", "default"), tls.Identity);
    }

    [Fact]
    public void CombinedValidationContext_SdsSecretConfigBesideTheDefaultContext_IsIgnored()
    {
        // Traffic Director's shape: provider roots for gRPC, SDS for Envoy, in one combined context.
        var context = new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = new CertificateValidationContext { CaCertificateProviderInstance = Plugin(certificate: "ROOTCA") },
                    ValidationContextSdsSecretConfig = new SdsSecretConfig { Name = "upstream_validation" },
                },
            },
        };

        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), ValidTls(context).Roots);
    }

    [Fact]
    public void Sni_IsCarried()
    {
        var context = RootsOnly();
        context.Sni = "echo.default.svc.cluster.local";

        Assert.Equal("echo.default.svc.cluster.local", ValidTls(context).Sni);
    }

    [Fact]
    public void SniLongerThan255Bytes_IsNacked()
    {
        var context = RootsOnly();
        context.Sni = new string('a', 256);

        Assert.Equal($"{TlsPath}.sni: must be at most 255 bytes, found 256", Error(context));
    }

    [Fact]
    public void MatchSubjectAltNames_EveryKindWithIgnoreCase()
    {
        var context = RootsOnly(v => v.MatchSubjectAltNames.Add(
        [
            new StringMatcher { Exact = EchoSpiffeId },
            new StringMatcher { Prefix = "spiffe://cluster.local/ns/", IgnoreCase = true },
            new StringMatcher { Suffix = ".svc.cluster.local" },
            new StringMatcher { Contains = "/sa/", IgnoreCase = true },
            new StringMatcher { SafeRegex = new RegexMatcher { Regex = "spiffe://[^/]+/ns/default/sa/.*" }, IgnoreCase = true },
        ]));

        var sans = ValidTls(context).SubjectAltNames;

        Assert.Equal(
            [
                new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Exact, Value = EchoSpiffeId },
                new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Prefix, Value = "spiffe://cluster.local/ns/", IgnoreCase = true },
                new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Suffix, Value = ".svc.cluster.local" },
                new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Contains, Value = "/sa/", IgnoreCase = true },

                // ignore_case does not apply to a regular expression.
                new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Regex, Value = "spiffe://[^/]+/ns/default/sa/.*" },
            ],
            sans);
    }

    [Fact]
    public void MatchTypedSubjectAltNames_KeepTheirType()
    {
        var context = RootsOnly(v => v.MatchTypedSubjectAltNames.Add(
        [
            new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Email, Matcher = new StringMatcher { Suffix = "@example.com" } },
            new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Dns, Matcher = new StringMatcher { Exact = "echo.default.svc" } },
            new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Uri, Matcher = new StringMatcher { Exact = EchoSpiffeId } },
            new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.IpAddress, Matcher = new StringMatcher { Prefix = "10." } },
        ]));

        var sans = ValidTls(context).SubjectAltNames;

        Assert.Equal(
            [
                new SubjectAltNameMatch { Type = SubjectAltNameType.Email, Kind = StringMatchKind.Suffix, Value = "@example.com" },
                new SubjectAltNameMatch { Type = SubjectAltNameType.Dns, Kind = StringMatchKind.Exact, Value = "echo.default.svc" },
                new SubjectAltNameMatch { Type = SubjectAltNameType.Uri, Kind = StringMatchKind.Exact, Value = EchoSpiffeId },
                new SubjectAltNameMatch { Type = SubjectAltNameType.IpAddress, Kind = StringMatchKind.Prefix, Value = "10." },
            ],
            sans);
    }

    [Theory]
    [InlineData(5, "must be EMAIL, DNS, URI or IP_ADDRESS, found OTHER_NAME (a client does not match OTHER_NAME SANs)")]
    [InlineData(0, "must be EMAIL, DNS, URI or IP_ADDRESS, found SAN_TYPE_UNSPECIFIED")]
    [InlineData(9, "must be EMAIL, DNS, URI or IP_ADDRESS, found 9")]
    public void TypedSanMatcher_OfAnUnsupportedType_IsNacked(int type, string message)
    {
        // The numbers of SanType: OTHER_NAME, SAN_TYPE_UNSPECIFIED, and one the proto does not define.
        var context = RootsOnly(v => v.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher { SanType = (SubjectAltNameMatcher.Types.SanType)type, Matcher = new StringMatcher { Exact = "x" }, Oid = "1.3.6.1.4.1.311.20.2.3" }));

        Assert.Equal($"{CommonPath}.validation_context.match_typed_subject_alt_names[0].san_type: {message}", Error(context));
    }

    [Fact]
    public void TypedSanMatcher_WithoutMatcher_IsNacked()
    {
        var context = RootsOnly(v => v.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Uri }));

        Assert.Equal($"{CommonPath}.validation_context.match_typed_subject_alt_names[0].matcher: field not present", Error(context));
    }

    [Fact]
    public void BothSanLists_TheTypedListWins_AndTheDeprecatedOneIsNotEvenValidated()
    {
        var context = RootsOnly(v =>
        {
            v.MatchSubjectAltNames.Add(new StringMatcher { SafeRegex = new RegexMatcher { Regex = "spiffe://(unclosed" } });
            v.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Dns, Matcher = new StringMatcher { Exact = "echo.default.svc" } });
        });

        var match = Assert.Single(ValidTls(context).SubjectAltNames);

        Assert.Equal(new SubjectAltNameMatch { Type = SubjectAltNameType.Dns, Kind = StringMatchKind.Exact, Value = "echo.default.svc" }, match);
    }

    [Fact]
    public void InvalidSafeRegex_IsNacked()
    {
        var context = RootsOnly(v => v.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher
        {
            SanType = SubjectAltNameMatcher.Types.SanType.Uri,
            Matcher = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "spiffe://(unclosed" } },
        }));

        Assert.StartsWith(
            $"{CommonPath}.validation_context.match_typed_subject_alt_names[0].matcher.safe_regex: invalid regular expression \"spiffe://(unclosed\": ",
            Error(context),
            StringComparison.Ordinal);
    }

    [Fact]
    public void SanMatcherWithoutPattern_IsNacked()
    {
        var context = RootsOnly(v => v.MatchSubjectAltNames.Add(new StringMatcher { IgnoreCase = true }));

        Assert.Equal(
            $"{CommonPath}.validation_context.match_subject_alt_names[0]: no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)",
            Error(context));
    }

    [Fact]
    public void SeveralProblems_AreReportedTogether()
    {
        var context = new UpstreamTlsContext
        {
            Sni = new string('a', 300),
            CommonTlsContext = new CommonTlsContext { TlsParams = new TlsParameters(), TlsCertificateProviderInstance = Plugin("nope") },
        };

        var errors = Error(context).Split("; ");

        Assert.Equal(4, errors.Length);
        Assert.StartsWith($"{TlsPath}.sni:", errors[0], StringComparison.Ordinal);
        Assert.StartsWith($"{CommonPath}.tls_params:", errors[1], StringComparison.Ordinal);
        Assert.StartsWith($"{CommonPath}.tls_certificate_provider_instance.instance_name:", errors[2], StringComparison.Ordinal);
        Assert.StartsWith($"{CommonPath}: no root certificates", errors[3], StringComparison.Ordinal);
    }

    [Fact]
    public void AggregateCluster_ItsOwnTransportSocketIsValidatedToo()
    {
        var cluster = new Cluster
        {
            Name = "aggregate",
            ClusterType = new Cluster.Types.CustomClusterType
            {
                Name = "envoy.clusters.aggregate",
                TypedConfig = Any.Pack(new ClusterConfig { Clusters = { "a", "b" } }),
            },
            TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(new UpstreamTlsContext()) },
        };

        Assert.StartsWith($"{CommonPath}: field not present", Error(cluster), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterWithTls_ReachesTheMeshTable_AndAnInvalidUpdateIsNackedWhileTheLastGoodStays()
    {
        await using var tls = await TlsMesh.StartAsync();
        var runtime = tls.Host.Services.GetRequiredService<MeshRuntime>();
        var versions = tls.Server.Update(set => set
            .Set(XdsResources.Listener("echo", "echo-routes"))
            .Set(XdsResources.RouteConfiguration("echo-routes", "echo", ClusterName))
            .Set(XdsResources.Cluster(ClusterName, http2: true, upstreamTls: XdsResources.IstioUpstreamTls(EchoSpiffeId)))
            .Set(XdsResources.ClusterLoadAssignment(ClusterName, "127.0.0.1:7070")));

        var table = await runtime.WaitForNameAsync("echo", Deadline, CancellationToken.None);

        Assert.NotNull(table);
        await tls.Server.WaitForAckAsync(TestingTypeUrls.Cluster, versions[TestingTypeUrls.Cluster]);
        var expected = new MeshClusterTls
        {
            Identity = new CertificateProviderReference("default", "default"),
            Roots = new CertificateProviderReference("default", "ROOTCA"),
            SubjectAltNames = [new SubjectAltNameMatch { Kind = StringMatchKind.Exact, Value = EchoSpiffeId }],
        };
        AssertTls(expected, table.Snapshot.Clusters[ClusterName].Tls);
        Assert.Equal(expected.Roots, table.Clusters[ClusterName].Tls?.Config.Roots);

        // An update naming a provider the bootstrap lacks is NACKed with its reason; the cluster keeps its TLS.
        var invalid = tls.Server.SetResource(XdsResources.Cluster(ClusterName, http2: true, upstreamTls: XdsResources.UpstreamTls("spire", "spire", EchoSpiffeId)));
        var nack = await tls.Server.WaitForNackAsync(TestingTypeUrls.Cluster, invalid);

        Assert.Contains(
            $"resource '{ClusterName}': {CommonPath}.tls_certificate_provider_instance.instance_name: unknown certificate provider instance \"spire\" (the bootstrap's certificate_providers are \"default\")",
            nack.ErrorMessage,
            StringComparison.Ordinal);

        // The cluster is rebuilt for new endpoints from the last good Cluster, TLS included.
        tls.Server.SetResource(XdsResources.ClusterLoadAssignment(ClusterName, "127.0.0.1:7071"));
        await Wait.UntilAsync(
            () => runtime.Current.Snapshot.Clusters[ClusterName].Priorities.SelectMany(p => p.Localities).SelectMany(l => l.Endpoints).Any(e => e.Port == 7071),
            "the new endpoint in the model");
        AssertTls(expected, runtime.Current.Snapshot.Clusters[ClusterName].Tls);
    }

    [Fact]
    public async Task AggregateCluster_TakesItsFirstLeafsTls_AndLeavesOutLeavesWithOtherTls()
    {
        await using var tls = await TlsMesh.StartAsync();
        var runtime = tls.Host.Services.GetRequiredService<MeshRuntime>();
        tls.Server.Update(set => set
            .Set(XdsResources.Listener("echo", "echo-routes"))
            .Set(XdsResources.RouteConfiguration("echo-routes", "echo", "aggregate"))
            .Set(TestingTypeUrls.Cluster, "aggregate", Any.Pack(new Cluster
            {
                Name = "aggregate",
                ClusterType = new Cluster.Types.CustomClusterType
                {
                    Name = "envoy.clusters.aggregate",
                    TypedConfig = Any.Pack(new ClusterConfig { Clusters = { "mtls", "same-mtls", "plaintext" } }),
                },
            }))
            .Set(XdsResources.Cluster("mtls", upstreamTls: XdsResources.IstioUpstreamTls(EchoSpiffeId)))
            .Set(XdsResources.Cluster("same-mtls", upstreamTls: XdsResources.IstioUpstreamTls(EchoSpiffeId)))
            .Set(XdsResources.Cluster("plaintext"))
            .Set(XdsResources.ClusterLoadAssignment("mtls", "127.0.0.1:7001"))
            .Set(XdsResources.ClusterLoadAssignment("same-mtls", "127.0.0.1:7002"))
            .Set(XdsResources.ClusterLoadAssignment("plaintext", "127.0.0.1:7003")));

        var table = await runtime.WaitForNameAsync("echo", Deadline, CancellationToken.None);

        Assert.NotNull(table);
        var cluster = table.Snapshot.Clusters["aggregate"];
        Assert.Equal(new CertificateProviderReference("default", "ROOTCA"), cluster.Tls?.Roots);

        // The plaintext leaf's endpoint would otherwise be reached over TLS settings that are not its own.
        var ports = cluster.Priorities.SelectMany(p => p.Localities).SelectMany(l => l.Endpoints).Select(e => e.Port);
        Assert.Equal([7001, 7002], ports);
    }

    private static void AssertTls(MeshClusterTls expected, MeshClusterTls? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { SubjectAltNames = [] }, actual with { SubjectAltNames = [] });
        Assert.Equal(expected.SubjectAltNames, actual.SubjectAltNames);
    }

    /// <summary>
    /// A control plane and a client host whose bootstrap declares Istio's certificate provider <c>default</c>
    /// (file_watcher over certificates written as Istio's agent writes them).
    /// </summary>
    private sealed class TlsMesh : IAsyncDisposable
    {
        private readonly string _directory;

        private TlsMesh(XdsTestServer server, MeshHost host, string directory)
        {
            Server = server;
            Host = host;
            _directory = directory;
        }

        public XdsTestServer Server { get; }

        public MeshHost Host { get; }

        public static async Task<TlsMesh> StartAsync()
        {
            var server = await XdsTestServer.StartAsync();
            var directory = Directory.CreateTempSubdirectory("mesh-tls-").FullName;
            using var authority = new TestCertificateAuthority();
            using var certificate = authority.Issue("spiffe://cluster.local/ns/default/sa/client");
            var (chain, key, root) = authority.WriteIstioFiles(directory, certificate);
            var bootstrap = JsonNode.Parse(server.CreateBootstrapJson("mesh-test"))!.AsObject();
            bootstrap["certificate_providers"] = new JsonObject
            {
                [XdsResources.IstioCertificateProvider] = new JsonObject
                {
                    ["plugin_name"] = "file_watcher",
                    ["config"] = new JsonObject { ["certificate_file"] = chain, ["private_key_file"] = key, ["ca_certificate_file"] = root },
                },
            };
            var host = await MeshHost.StartAsync(XdsMesh.AppSettings(bootstrap.ToJsonString()));
            return new TlsMesh(server, host, directory);
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await Server.DisposeAsync();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file watcher may still hold the directory for a moment; a temp directory may stay.
            }
        }
    }
}
