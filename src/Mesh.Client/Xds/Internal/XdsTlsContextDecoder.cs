using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using RegexFactory = Mesh.Client.Routing.Internal.RegexFactory;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a cluster's <c>transport_socket</c> for <see cref="XdsClusterDecoder"/>: the UpstreamTlsContext,
/// its CommonTlsContext, the validation context and its SAN matchers (gRFC A29, A82).
/// </summary>
internal static class XdsTlsContextDecoder
{
    public const string UpstreamTlsContextTypeName = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

    // Envoy's limit for UpstreamTlsContext.sni: a host name is at most 255 bytes.
    private const int MaxSniBytes = 255;

    /// <summary>
    /// TLS towards the cluster's endpoints (gRFC A29; system roots from gRFC A82): <c>transport_socket</c> must
    /// hold an UpstreamTlsContext whose certificates come from certificate provider instances the bootstrap
    /// declares, with a source of root certificates. A cluster without <c>transport_socket</c> is plaintext.
    /// </summary>
    public static MeshClusterTls? Decode(Cluster cluster, XdsDecodeContext context, List<string> errors)
    {
        if (cluster.TransportSocket is not { } socket)
        {
            return null;
        }

        // As in C-core, the typed_config's type decides; transport_socket.name is not read. A transport socket
        // without one (Envoy's envoy.transport_sockets.raw_buffer, say) is NACKed rather than taken as plaintext:
        // C-core reports typed_config as not present, grpc-java and grpc-go reject every name but
        // envoy.transport_sockets.tls, and a client must not guess when the control plane speaks of security.
        const string Path = "transport_socket.typed_config";
        if (socket.TypedConfig is not { } typedConfig)
        {
            AddError(errors, Path, $"field not present (a client supports {UpstreamTlsContextTypeName})");
            return null;
        }

        var typeName = TypeName(typedConfig.TypeUrl);
        if (typeName != UpstreamTlsContextTypeName)
        {
            AddError(errors, Field(Path, "type_url"), $"unsupported transport socket type {typeName ?? typedConfig.TypeUrl} (a client supports {UpstreamTlsContextTypeName})");
            return null;
        }

        if (Unpack(new XdsExtension(typeName, typedConfig.Value, null), UpstreamTlsContext.Parser, Path, errors) is not { } upstream)
        {
            return null;
        }

        var errorCount = errors.Count;

        // sni is sent in the handshake, as gRFC A101 proposes (A29 ignored it). allow_renegotiation and
        // max_session_keys are ignored, as by every gRPC client (A29: the other fields are ignored).
        var sniBytes = Encoding.UTF8.GetByteCount(upstream.Sni);
        if (sniBytes > MaxSniBytes)
        {
            AddError(errors, Field(Path, "sni"), FormattableString.Invariant($"must be at most {MaxSniBytes} bytes, found {sniBytes}"));
        }

        var commonPath = Field(Path, "common_tls_context");
        if (upstream.CommonTlsContext is not { } common)
        {
            AddError(errors, commonPath, "field not present (a client needs at least the root certificates that verify the server)");
            return null;
        }

        var tls = DecodeCommonTlsContext(common, commonPath, context, errors);
        return errors.Count > errorCount || tls is null
            ? null
            : tls with { Sni = upstream.Sni.Length > 0 ? upstream.Sni : null };
    }

    private static MeshClusterTls? DecodeCommonTlsContext(CommonTlsContext common, string path, XdsDecodeContext context, List<string> errors)
    {
        var errorCount = errors.Count;

        // TLS versions, ciphers and a custom handshaker cannot be honoured, and every gRPC client NACKs them rather
        // than use the platform's defaults instead. alpn_protocols is ignored, as by gRPC (Traffic Director sends
        // "h2"): the connection offers what the cluster's protocol needs.
        if (common.TlsParams is not null)
        {
            Unsupported(errors, path, "tls_params", "the client does not take TLS versions or ciphers from the control plane");
        }

        if (common.CustomHandshaker is not null)
        {
            Unsupported(errors, path, "custom_handshaker", $"found {common.CustomHandshaker.TypedConfig?.TypeUrl ?? common.CustomHandshaker.Name}");
        }

        // The client certificate: the newer field first, then the deprecated one (Istio sends both, or older
        // versions only the latter). None means TLS without a client certificate.
        CertificateProviderReference? identity = null;
        if (common.TlsCertificateProviderInstance is { } instance)
        {
            identity = ProviderReference(instance.InstanceName, instance.CertificateName, Field(path, "tls_certificate_provider_instance"), context, errors);
        }
        else if (common.TlsCertificateCertificateProviderInstance is { } olderInstance)
        {
            identity = ProviderReference(olderInstance.InstanceName, olderInstance.CertificateName, Field(path, "tls_certificate_certificate_provider_instance"), context, errors);
        }
        else
        {
            // Static certificates and SDS are read only when no provider instance names the identity, as gRPC
            // does: a control plane that serves Envoy too may set them beside one, for Envoy. Alone they ask for a
            // client certificate this client could not present.
            if (common.TlsCertificates.Count > 0)
            {
                Unsupported(errors, path, "tls_certificates", FormattableString.Invariant($"found {common.TlsCertificates.Count}; name a bootstrap certificate provider in tls_certificate_provider_instance"));
            }

            if (common.TlsCertificateSdsSecretConfigs.Count > 0)
            {
                Unsupported(errors, path, "tls_certificate_sds_secret_configs", FormattableString.Invariant($"found {common.TlsCertificateSdsSecretConfigs.Count}; a client does not speak SDS, name a bootstrap certificate provider in tls_certificate_provider_instance"));
            }
        }

        if (common.TlsCertificateCertificateProvider is not null)
        {
            Unsupported(errors, path, "tls_certificate_certificate_provider", "deprecated inline provider configuration; name a bootstrap certificate provider in tls_certificate_provider_instance");
        }

        var validation = new TlsValidation(null, false, [], false);
        switch (common.ValidationContextTypeCase)
        {
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContext:
                validation = DecodeValidationContext(common.ValidationContext, Field(path, "validation_context"), context, errors);
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.CombinedValidationContext:
                var combined = common.CombinedValidationContext;
                var combinedPath = Field(path, "combined_validation_context");
                if (combined.DefaultValidationContext is { } defaults)
                {
                    validation = DecodeValidationContext(defaults, Field(combinedPath, "default_validation_context"), context, errors);
                }

                // The deprecated provider instance serves when the default context names no provider, as in C-core:
                // Istio sends its roots there (instance "default", certificate "ROOTCA"), its SAN matchers beside.
                if (validation.Roots is null && combined.ValidationContextCertificateProviderInstance is { } rootsInstance)
                {
                    validation = validation with
                    {
                        Roots = ProviderReference(rootsInstance.InstanceName, rootsInstance.CertificateName, Field(combinedPath, "validation_context_certificate_provider_instance"), context, errors),
                        SystemRoots = false,
                    };
                }

                if (combined.ValidationContextCertificateProvider is not null)
                {
                    Unsupported(errors, combinedPath, "validation_context_certificate_provider", "deprecated inline provider configuration; name a bootstrap certificate provider in ca_certificate_provider_instance");
                }

                // combined_validation_context.validation_context_sds_secret_config is ignored, as by gRPC: a control
                // plane serving Envoy too completes the default context with SDS there (Traffic Director does).
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextSdsSecretConfig:
                Unsupported(errors, path, "validation_context_sds_secret_config", "a client does not speak SDS; name a bootstrap certificate provider in ca_certificate_provider_instance");
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextCertificateProvider:
                Unsupported(errors, path, "validation_context_certificate_provider", "deprecated inline provider configuration; name a bootstrap certificate provider in ca_certificate_provider_instance");
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextCertificateProviderInstance:
                // The form gRFC A29 first described (grpc-go still reads it): roots, no SAN matchers.
                var older = common.ValidationContextCertificateProviderInstance;
                validation = validation with
                {
                    Roots = ProviderReference(older.InstanceName, older.CertificateName, Field(path, "validation_context_certificate_provider_instance"), context, errors),
                };
                break;
        }

        if (validation.Roots is null && !validation.SystemRoots && common.ValidationContextTypeCase is not
            (CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextSdsSecretConfig or CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextCertificateProvider))
        {
            // gRFC A29/A82: the server is always verified, so some root source is required.
            AddError(errors, path, "no root certificates to verify the server: set ca_certificate_provider_instance or system_root_certs in "
                + "validation_context or combined_validation_context.default_validation_context"
                + (validation.TrustedCa ? " (trusted_ca is not supported: name a bootstrap certificate provider instead)" : string.Empty));
        }

        return errors.Count > errorCount
            ? null
            : new MeshClusterTls
            {
                Identity = identity,
                Roots = validation.Roots,
                UseSystemRoots = validation.SystemRoots,
                SubjectAltNames = validation.SubjectAltNames,
            };
    }

    /// <summary>
    /// Roots and SAN matchers from a CertificateValidationContext. A provider instance wins over
    /// <c>system_root_certs</c>, as in C-core. Ignored, as gRPC ignores them: <c>allow_expired_certificate</c> and
    /// <c>trust_chain_verification</c> (the chain and its validity are always checked, which is stricter),
    /// <c>trusted_ca</c> (not a root source here), <c>watched_directory</c>, <c>max_verify_depth</c>.
    /// </summary>
    private static TlsValidation DecodeValidationContext(CertificateValidationContext validation, string path, XdsDecodeContext context, List<string> errors)
    {
        // What the client cannot check is NACKed, as by every gRPC client: accepting it would verify less than asked.
        if (validation.VerifyCertificateSpki.Count > 0)
        {
            Unsupported(errors, path, "verify_certificate_spki", FormattableString.Invariant($"found {validation.VerifyCertificateSpki.Count} pins"));
        }

        if (validation.VerifyCertificateHash.Count > 0)
        {
            Unsupported(errors, path, "verify_certificate_hash", FormattableString.Invariant($"found {validation.VerifyCertificateHash.Count} hashes"));
        }

        if (validation.RequireSignedCertificateTimestamp == true)
        {
            Unsupported(errors, path, "require_signed_certificate_timestamp", "found true");
        }

        if (validation.Crl is not null)
        {
            Unsupported(errors, path, "crl", "certificate revocation lists are not checked");
        }

        if (validation.CustomValidatorConfig is { } validator)
        {
            Unsupported(errors, path, "custom_validator_config", $"found {validator.TypedConfig?.TypeUrl ?? validator.Name}");
        }

        var roots = validation.CaCertificateProviderInstance is { } instance
            ? ProviderReference(instance.InstanceName, instance.CertificateName, Field(path, "ca_certificate_provider_instance"), context, errors)
            : null;

        // With both lists set, the deprecated one is ignored (not even validated), as Envoy's API says since
        // 1.23; a control plane may send both so that older clients, which read only the old list, get a SAN.
        var sans = new List<SubjectAltNameMatch>();
        for (var i = 0; validation.MatchTypedSubjectAltNames.Count == 0 && i < validation.MatchSubjectAltNames.Count; i++)
        {
            if (DecodeSanMatcher(validation.MatchSubjectAltNames[i], SubjectAltNameType.Any, Field(path, $"match_subject_alt_names[{i}]"), errors) is { } match)
            {
                sans.Add(match);
            }
        }

        for (var i = 0; i < validation.MatchTypedSubjectAltNames.Count; i++)
        {
            var typed = validation.MatchTypedSubjectAltNames[i];
            var typedPath = Field(path, $"match_typed_subject_alt_names[{i}]");
            SubjectAltNameType? type = typed.SanType switch
            {
                SubjectAltNameMatcher.Types.SanType.Email => SubjectAltNameType.Email,
                SubjectAltNameMatcher.Types.SanType.Dns => SubjectAltNameType.Dns,
                SubjectAltNameMatcher.Types.SanType.Uri => SubjectAltNameType.Uri,
                SubjectAltNameMatcher.Types.SanType.IpAddress => SubjectAltNameType.IpAddress,
                _ => null,
            };
            if (type is null)
            {
                AddError(errors, Field(typedPath, "san_type"), $"must be EMAIL, DNS, URI or IP_ADDRESS, found {EnumName(SubjectAltNameMatcher.Descriptor, SubjectAltNameMatcher.SanTypeFieldNumber, (int)typed.SanType)}"
                    + (typed.SanType == SubjectAltNameMatcher.Types.SanType.OtherName ? " (a client does not match OTHER_NAME SANs)" : string.Empty));
            }

            if (typed.Matcher is null)
            {
                AddError(errors, Field(typedPath, "matcher"), "field not present");
            }
            else if (DecodeSanMatcher(typed.Matcher, type ?? SubjectAltNameType.Any, Field(typedPath, "matcher"), errors) is { } match && type is not null)
            {
                sans.Add(match);
            }
        }

        return new TlsValidation(roots, roots is null && validation.SystemRootCerts is not null, sans, validation.TrustedCa is not null);
    }

    private static SubjectAltNameMatch? DecodeSanMatcher(StringMatcher matcher, SubjectAltNameType type, string path, List<string> errors)
    {
        switch (matcher.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                return new SubjectAltNameMatch { Type = type, Kind = StringMatchKind.Exact, Value = matcher.Exact, IgnoreCase = matcher.IgnoreCase };
            case StringMatcher.MatchPatternOneofCase.Prefix:
                return new SubjectAltNameMatch { Type = type, Kind = StringMatchKind.Prefix, Value = matcher.Prefix, IgnoreCase = matcher.IgnoreCase };
            case StringMatcher.MatchPatternOneofCase.Suffix:
                return new SubjectAltNameMatch { Type = type, Kind = StringMatchKind.Suffix, Value = matcher.Suffix, IgnoreCase = matcher.IgnoreCase };
            case StringMatcher.MatchPatternOneofCase.Contains:
                return new SubjectAltNameMatch { Type = type, Kind = StringMatchKind.Contains, Value = matcher.Contains, IgnoreCase = matcher.IgnoreCase };
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                var pattern = matcher.SafeRegex.Regex;
                if (RegexFactory.Validate(pattern) is { } error)
                {
                    AddError(errors, Field(path, "safe_regex"), $"invalid regular expression \"{pattern}\": {error}");
                    return null;
                }

                // ignore_case does not apply to a regular expression (Envoy's definition, as for route matchers;
                // C-core NACKs the pair): the pattern is matched as written, the stricter reading.
                return new SubjectAltNameMatch { Type = type, Kind = StringMatchKind.Regex, Value = pattern };
            default:
                // Includes the custom (extension) matcher, which our protos leave as an unknown field.
                AddError(errors, path, "no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)");
                return null;
        }
    }

    /// <summary>A certificate provider instance the bootstrap must declare (gRFC A29); an error names the known ones.</summary>
    private static CertificateProviderReference ProviderReference(string instanceName, string certificateName, string path, XdsDecodeContext context, List<string> errors)
    {
        if (!context.CertificateProviders.Contains(instanceName))
        {
            var known = context.CertificateProviders.Count == 0
                ? "the bootstrap declares no certificate_providers"
                : "the bootstrap's certificate_providers are " + string.Join(", ", context.CertificateProviders.Order(StringComparer.Ordinal).Select(n => $"\"{n}\""));
            AddError(errors, Field(path, "instance_name"), $"unknown certificate provider instance \"{instanceName}\" ({known})");
        }

        return new CertificateProviderReference(instanceName, certificateName);
    }

    private static void Unsupported(List<string> errors, string path, string field, string detail) =>
        AddError(errors, Field(path, field), $"not supported by a client ({detail})");

    /// <summary>What a validation context says: where the roots come from and which server names are accepted.</summary>
    private readonly record struct TlsValidation(
        CertificateProviderReference? Roots,
        bool SystemRoots,
        IReadOnlyList<SubjectAltNameMatch> SubjectAltNames,
        bool TrustedCa);
}
