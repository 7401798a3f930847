using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Extensions.Clusters.Aggregate.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using LeastRequestConfig = Envoy.Extensions.LoadBalancingPolicies.LeastRequest.V3.LeastRequest;
using MaglevConfig = Envoy.Extensions.LoadBalancingPolicies.Maglev.V3.Maglev;
using MeshLoadBalancingPolicy = Mesh.Client.Model.LoadBalancingPolicy;
using PickFirstConfig = Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3.PickFirst;
using RegexFactory = Mesh.Client.Routing.Internal.RegexFactory;
using RingHashConfig = Envoy.Extensions.LoadBalancingPolicies.RingHash.V3.RingHash;
using WrrLocalityConfig = Envoy.Extensions.LoadBalancingPolicies.WrrLocality.V3.WrrLocality;
using XdsLoadBalancingPolicy = Envoy.Config.Cluster.V3.LoadBalancingPolicy;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a Cluster (gRFC A27, A37, A42, A48, A52): EDS, LOGICAL_DNS or aggregate, and the
/// load-balancing policy from <c>load_balancing_policy</c> or the older <c>lb_policy</c> enum; also its
/// circuit breaker (gRFC A32), outlier detection (gRFC A50) and TLS (gRFC A29).
/// </summary>
internal static class XdsClusterDecoder
{
    public const string AggregateClusterTypeName = "envoy.extensions.clusters.aggregate.v3.ClusterConfig";
    public const string RoundRobinTypeName = "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin";
    public const string LeastRequestTypeName = "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest";
    public const string RingHashTypeName = "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash";
    public const string MaglevTypeName = "envoy.extensions.load_balancing_policies.maglev.v3.Maglev";
    public const string PickFirstTypeName = "envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst";
    public const string WrrLocalityTypeName = "envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality";

    /// <summary>How deep <c>load_balancing_policy</c> may nest (WrrLocality inside WrrLocality...), as gRFC A52 says.</summary>
    public const int MaxPolicyDepth = 16;

    public static XdsClusterUpdate? Decode(Cluster cluster, XdsDecodeContext context, List<string> errors)
    {
        var errorCount = errors.Count;
        var update = DecodeDiscoveryType(cluster, errors);

        // An aggregate cluster's own policy is not used (its children's are, gRFC A37), but it is validated
        // all the same: C-core and grpc-js both NACK an aggregate cluster with CLUSTER_PROVIDED. Its
        // transport_socket likewise: validated as C-core does, unused (its children's endpoints use theirs).
        var policy = DecodeLoadBalancing(cluster, errors);
        var tls = DecodeTls(cluster, context, errors);
        var protocol = DecodeProtocol(cluster, errors);
        var maxRequests = DecodeMaxRequests(cluster);
        var outlierDetection = DecodeOutlierDetection(cluster, errors);
        return errors.Count > errorCount || update is null || policy is null
            ? null
            : update with { LoadBalancing = policy, Protocol = protocol, MaxRequests = maxRequests, OutlierDetection = outlierDetection, Tls = tls };
    }

    /// <summary>
    /// The circuit breaker (gRFC A32): <c>max_requests</c> of the first threshold with priority DEFAULT, 1024
    /// when there is none or it leaves the field unset. Other thresholds and priorities are not read.
    /// </summary>
    private static uint DecodeMaxRequests(Cluster cluster)
    {
        foreach (var threshold in cluster.CircuitBreakers?.Thresholds ?? [])
        {
            if (threshold.Priority == Envoy.Config.Core.V3.RoutingPriority.Default)
            {
                return threshold.MaxRequests ?? MeshCluster.DefaultMaxRequests;
            }
        }

        return MeshCluster.DefaultMaxRequests;
    }

    /// <summary>
    /// Outlier detection (gRFC A50): the success-rate algorithm unless <c>enforcing_success_rate</c> is 0, the
    /// failure-percentage algorithm when <c>enforcing_failure_percentage</c> is above 0; Envoy's defaults for the
    /// rest. The consecutive-5xx and gateway-failure algorithms are not supported and count as disabled.
    /// Durations must be valid and non-negative, percentages at most 100.
    /// </summary>
    private static OutlierDetectionPolicy? DecodeOutlierDetection(Cluster cluster, List<string> errors)
    {
        if (cluster.OutlierDetection is not { } config)
        {
            return null;
        }

        const string Path = "outlier_detection";
        var errorCount = errors.Count;
        var defaults = new OutlierDetectionPolicy();
        var interval = Duration(config.Interval, "interval") ?? defaults.Interval;
        var baseEjectionTime = Duration(config.BaseEjectionTime, "base_ejection_time") ?? defaults.BaseEjectionTime;

        // gRFC A50: unset, it is 300 s or the base ejection time, whichever is longer.
        var maxEjectionTime = Duration(config.MaxEjectionTime, "max_ejection_time")
            ?? (baseEjectionTime > defaults.MaxEjectionTime ? baseEjectionTime : defaults.MaxEjectionTime);
        var maxEjectionPercent = Percent(config.MaxEjectionPercent, "max_ejection_percent") ?? defaults.MaxEjectionPercent;

        var successRateDefaults = new SuccessRateEjection();
        var enforcingSuccessRate = Percent(config.EnforcingSuccessRate, "enforcing_success_rate") ?? successRateDefaults.EnforcementPercentage;
        var successRate = enforcingSuccessRate == 0
            ? null
            : new SuccessRateEjection
            {
                EnforcementPercentage = enforcingSuccessRate,
                StdevFactor = config.SuccessRateStdevFactor ?? successRateDefaults.StdevFactor,
                MinimumHosts = config.SuccessRateMinimumHosts ?? successRateDefaults.MinimumHosts,
                RequestVolume = config.SuccessRateRequestVolume ?? successRateDefaults.RequestVolume,
            };

        var failureDefaults = new FailurePercentageEjection();
        var threshold = Percent(config.FailurePercentageThreshold, "failure_percentage_threshold") ?? failureDefaults.Threshold;
        var enforcingFailurePercentage = Percent(config.EnforcingFailurePercentage, "enforcing_failure_percentage") ?? 0;
        var failurePercentage = enforcingFailurePercentage == 0
            ? null
            : new FailurePercentageEjection
            {
                EnforcementPercentage = enforcingFailurePercentage,
                Threshold = threshold,
                MinimumHosts = config.FailurePercentageMinimumHosts ?? failureDefaults.MinimumHosts,
                RequestVolume = config.FailurePercentageRequestVolume ?? failureDefaults.RequestVolume,
            };

        return errors.Count > errorCount
            ? null
            : new OutlierDetectionPolicy
            {
                Interval = interval,
                BaseEjectionTime = baseEjectionTime,
                MaxEjectionTime = maxEjectionTime,
                MaxEjectionPercent = maxEjectionPercent,
                SuccessRate = successRate,
                FailurePercentage = failurePercentage,
            };

        TimeSpan? Duration(Google.Protobuf.WellKnownTypes.Duration? value, string field) =>
            value is null ? null : ParseDuration(value, Field(Path, field), errors);

        uint? Percent(uint? value, string field)
        {
            if (value > ModelRules.MaxPercent)
            {
                AddError(errors, Field(Path, field), $"must be at most 100, found {value}");
            }

            return value;
        }
    }

    public const string HttpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>
    /// Which HTTP version the cluster speaks: an explicit choice in
    /// <c>typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]</c>, or the
    /// older <c>http2_protocol_options</c> field. Only the HttpClient front door uses it; gRPC is always HTTP/2.
    /// </summary>
    private static UpstreamProtocol DecodeProtocol(Cluster cluster, List<string> errors)
    {
        if (cluster.TypedExtensionProtocolOptions.TryGetValue(HttpProtocolOptionsName, out var any))
        {
            if (!any.TryUnpack<Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions>(out var options))
            {
                errors.Add($"typed_extension_protocol_options[\"{HttpProtocolOptionsName}\"]: expected {HttpProtocolOptionsName}, found {any.TypeUrl}");
                return UpstreamProtocol.Auto;
            }

            if (options.UpstreamProtocolOptionsCase == Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.UpstreamProtocolOptionsOneofCase.ExplicitHttpConfig)
            {
                return options.ExplicitHttpConfig.ProtocolConfigCase switch
                {
                    Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Types.ExplicitHttpConfig.ProtocolConfigOneofCase.Http2ProtocolOptions => UpstreamProtocol.Http2,
                    Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Types.ExplicitHttpConfig.ProtocolConfigOneofCase.HttpProtocolOptions => UpstreamProtocol.Http1,
                    _ => UpstreamProtocol.Auto,
                };
            }

            return UpstreamProtocol.Auto;
        }

        return cluster.Http2ProtocolOptions is not null ? UpstreamProtocol.Http2 : UpstreamProtocol.Auto;
    }

    public const string UpstreamTlsContextTypeName = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

    // Envoy's limit for UpstreamTlsContext.sni: a host name is at most 255 bytes.
    private const int MaxSniBytes = 255;

    /// <summary>
    /// TLS towards the cluster's endpoints (gRFC A29; system roots from gRFC A82): <c>transport_socket</c> must
    /// hold an UpstreamTlsContext whose certificates come from certificate provider instances the bootstrap
    /// declares, with a source of root certificates. A cluster without <c>transport_socket</c> is plaintext.
    /// </summary>
    private static MeshClusterTls? DecodeTls(Cluster cluster, XdsDecodeContext context, List<string> errors)
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

    private static XdsClusterUpdate? DecodeDiscoveryType(Cluster cluster, List<string> errors)
    {
        if (cluster.ClusterDiscoveryTypeCase == Cluster.ClusterDiscoveryTypeOneofCase.ClusterType)
        {
            return DecodeAggregate(cluster, errors);
        }

        // An unset oneof means STATIC, the proto default.
        switch (cluster.Type)
        {
            case Cluster.Types.DiscoveryType.Eds:
                return DecodeEds(cluster, errors);
            case Cluster.Types.DiscoveryType.LogicalDns:
                return DecodeLogicalDns(cluster, errors);
            default:
                AddError(errors, "type", $"{EnumName(Cluster.Descriptor, Cluster.TypeFieldNumber, (int)cluster.Type)} is not supported (a client supports EDS, LOGICAL_DNS and the aggregate cluster_type)");
                return null;
        }
    }

    private static XdsClusterUpdate? DecodeEds(Cluster cluster, List<string> errors)
    {
        if (cluster.EdsClusterConfig is not { } config)
        {
            AddError(errors, "eds_cluster_config", "field not present");
            return null;
        }

        ValidateConfigSource(config.EdsConfig, "eds_cluster_config.eds_config", errors);
        var serviceName = config.ServiceName;
        if (serviceName.Length == 0 && cluster.Name.StartsWith("xdstp:", StringComparison.Ordinal))
        {
            // A federation name cannot double as the EDS resource name (gRFC A47).
            AddError(errors, "eds_cluster_config.service_name", "must be set when the cluster has an xdstp: name");
        }

        return NewUpdate(cluster, XdsClusterKind.Eds) with { EdsServiceName = serviceName.Length > 0 ? serviceName : cluster.Name };
    }

    private static XdsClusterUpdate? DecodeLogicalDns(Cluster cluster, List<string> errors)
    {
        var path = "load_assignment";
        if (cluster.LoadAssignment is not { } assignment)
        {
            AddError(errors, path, "field not present (a LOGICAL_DNS cluster names its host there)");
            return null;
        }

        if (assignment.Endpoints.Count != 1)
        {
            AddError(errors, Field(path, "endpoints"), $"a LOGICAL_DNS cluster must have exactly one locality, found {assignment.Endpoints.Count}");
            return null;
        }

        path = "load_assignment.endpoints[0].lb_endpoints";
        var lbEndpoints = assignment.Endpoints[0].LbEndpoints;
        if (lbEndpoints.Count != 1)
        {
            AddError(errors, path, $"a LOGICAL_DNS cluster must have exactly one endpoint, found {lbEndpoints.Count}");
            return null;
        }

        path = "load_assignment.endpoints[0].lb_endpoints[0].endpoint";
        if (lbEndpoints[0].Endpoint is not { } endpoint)
        {
            AddError(errors, path, "field not present");
            return null;
        }

        path = Field(path, "address");
        if (endpoint.Address is not { } address)
        {
            AddError(errors, path, "field not present");
            return null;
        }

        path = Field(path, "socket_address");
        if (address.SocketAddress is not { } socketAddress)
        {
            AddError(errors, path, "field not present");
            return null;
        }

        var errorCount = errors.Count;
        if (socketAddress.ResolverName.Length > 0)
        {
            AddError(errors, Field(path, "resolver_name"), "must be empty: a LOGICAL_DNS cluster uses the system resolver");
        }

        if (socketAddress.Address.Length == 0)
        {
            AddError(errors, Field(path, "address"), "must be non-empty");
        }

        if (socketAddress.PortSpecifierCase != Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.PortValue)
        {
            AddError(errors, Field(path, "port_value"), "field not present");
        }
        else if (socketAddress.PortValue > 65535)
        {
            // Port 0 is accepted, as Envoy and gRPC accept it; the endpoint is never picked.
            AddError(errors, Field(path, "port_value"), $"must be at most 65535, found {socketAddress.PortValue}");
        }

        return errors.Count > errorCount
            ? null
            : NewUpdate(cluster, XdsClusterKind.LogicalDns) with { DnsHost = socketAddress.Address, DnsPort = (int)socketAddress.PortValue };
    }

    private static XdsClusterUpdate? DecodeAggregate(Cluster cluster, List<string> errors)
    {
        // As in gRPC, the typed_config's type decides; cluster_type.name (usually envoy.clusters.aggregate) is not checked.
        const string Path = "cluster_type.typed_config";
        if (cluster.ClusterType.TypedConfig is not { } typedConfig)
        {
            AddError(errors, Path, "field not present");
            return null;
        }

        var typeName = TypeName(typedConfig.TypeUrl);
        if (typeName != AggregateClusterTypeName)
        {
            AddError(errors, Path, $"unsupported cluster type {typeName ?? typedConfig.TypeUrl} (a client supports {AggregateClusterTypeName})");
            return null;
        }

        if (Unpack(new XdsExtension(typeName, typedConfig.Value, null), ClusterConfig.Parser, Path, errors) is not { } config)
        {
            return null;
        }

        var errorCount = errors.Count;
        if (config.Clusters.Count == 0)
        {
            AddError(errors, Field(Path, "clusters"), "must be non-empty");
        }

        for (var i = 0; i < config.Clusters.Count; i++)
        {
            if (config.Clusters[i].Length == 0)
            {
                AddError(errors, Field(Path, $"clusters[{i}]"), "must be non-empty");
            }
        }

        return errors.Count > errorCount
            ? null
            : NewUpdate(cluster, XdsClusterKind.Aggregate) with { AggregateChildren = [.. config.Clusters] };
    }

    // LoadBalancing is filled in by Decode once the policy is known.
    private static XdsClusterUpdate NewUpdate(Cluster cluster, XdsClusterKind kind) =>
        new() { Name = cluster.Name, Kind = kind, LoadBalancing = RoundRobinPolicy.Instance };

    private static MeshLoadBalancingPolicy? DecodeLoadBalancing(Cluster cluster, List<string> errors)
    {
        // gRFC A52: load_balancing_policy, when set, replaces lb_policy and its *_lb_config.
        if (cluster.LoadBalancingPolicy is { } policy)
        {
            return DecodePolicyList(policy, "load_balancing_policy", 0, errors);
        }

        var context = $"lb_policy {EnumName(Cluster.Descriptor, Cluster.LbPolicyFieldNumber, (int)cluster.LbPolicy)}";
        switch (cluster.LbPolicy)
        {
            case Cluster.Types.LbPolicy.RoundRobin:
                return RoundRobinPolicy.Instance;
            case Cluster.Types.LbPolicy.Random:
                return RandomPolicy.Instance;
            case Cluster.Types.LbPolicy.LeastRequest:
                return LeastRequestFrom(cluster.LeastRequestLbConfig?.ChoiceCount, context, "least_request_lb_config.", errors);
            case Cluster.Types.LbPolicy.RingHash:
                var ringHash = cluster.RingHashLbConfig;
                if (ringHash is not null && ringHash.HashFunction != Cluster.Types.RingHashLbConfig.Types.HashFunction.XxHash)
                {
                    // gRPC hashes with xxHash64 only (gRFC A42).
                    errors.Add($"{context}: ring_hash_lb_config.hash_function must be XX_HASH, found {EnumName(Cluster.Types.RingHashLbConfig.Descriptor, Cluster.Types.RingHashLbConfig.HashFunctionFieldNumber, (int)ringHash.HashFunction)}");
                }

                return RingHashFrom(ringHash?.MinimumRingSize, ringHash?.MaximumRingSize, context, "ring_hash_lb_config.", errors);
            case Cluster.Types.LbPolicy.Maglev:
                return MaglevFrom(cluster.MaglevLbConfig?.TableSize, context, "maglev_lb_config.", errors);
            case Cluster.Types.LbPolicy.LoadBalancingPolicyConfig:
                errors.Add($"{context}: load_balancing_policy must be set");
                return null;
            default:
                errors.Add($"{context}: not supported (a client supports ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV and RANDOM)");
                return null;
        }
    }

    /// <summary>The first supported policy of the list (gRFC A52); an error when none is, or when the first supported one is invalid.</summary>
    private static MeshLoadBalancingPolicy? DecodePolicyList(XdsLoadBalancingPolicy list, string path, int depth, List<string> errors)
    {
        if (depth >= MaxPolicyDepth)
        {
            AddError(errors, path, $"nested deeper than {MaxPolicyDepth} levels");
            return null;
        }

        var unsupported = new List<string>();
        for (var i = 0; i < list.Policies.Count; i++)
        {
            var policyPath = Field(path, $"policies[{i}].typed_extension_config");
            if (list.Policies[i].TypedExtensionConfig is not { } config)
            {
                AddError(errors, policyPath, "field not present");
                return null;
            }

            var configPath = Field(policyPath, "typed_config");
            if (ExtractExtension(config.TypedConfig, configPath, errors) is not { } extension)
            {
                return null;
            }

            var context = $"{configPath} ({extension.TypeName})";
            switch (extension.TypeName)
            {
                case RoundRobinTypeName:
                    return RoundRobinPolicy.Instance;
                case LeastRequestTypeName:
                    return Unpack(extension, LeastRequestConfig.Parser, configPath, errors) is { } leastRequest
                        ? LeastRequestFrom(leastRequest.ChoiceCount, context, string.Empty, errors)
                        : null;
                case RingHashTypeName:
                    if (Unpack(extension, RingHashConfig.Parser, configPath, errors) is not { } ringHash)
                    {
                        return null;
                    }

                    if (ringHash.HashFunction is not (RingHashConfig.Types.HashFunction.XxHash or RingHashConfig.Types.HashFunction.DefaultHash))
                    {
                        errors.Add($"{context}: hash_function must be XX_HASH or DEFAULT_HASH, found {EnumName(RingHashConfig.Descriptor, RingHashConfig.HashFunctionFieldNumber, (int)ringHash.HashFunction)}");
                    }

                    return RingHashFrom(ringHash.MinimumRingSize, ringHash.MaximumRingSize, context, string.Empty, errors);
                case MaglevTypeName:
                    return Unpack(extension, MaglevConfig.Parser, configPath, errors) is { } maglev
                        ? MaglevFrom(maglev.TableSize, context, string.Empty, errors)
                        : null;
                case PickFirstTypeName:
                    return Unpack(extension, PickFirstConfig.Parser, configPath, errors) is { } pickFirst
                        ? new PickFirstPolicy { ShuffleAddressList = pickFirst.ShuffleAddressList }
                        : null;
                case WrrLocalityTypeName:
                    if (Unpack(extension, WrrLocalityConfig.Parser, configPath, errors) is not { } wrrLocality)
                    {
                        return null;
                    }

                    // Localities are always picked by weight here; the child policy picks inside a locality.
                    var childPath = Field(configPath, "endpoint_picking_policy");
                    if (wrrLocality.EndpointPickingPolicy is null)
                    {
                        AddError(errors, childPath, "field not present");
                        return null;
                    }

                    return DecodePolicyList(wrrLocality.EndpointPickingPolicy, childPath, depth + 1, errors);
                default:
                    unsupported.Add(extension.TypeName);
                    break;
            }
        }

        AddError(errors, path, unsupported.Count == 0
            ? "no policies listed"
            : $"no supported policy among {string.Join(", ", unsupported)}");
        return null;
    }

    private static LeastRequestPolicy? LeastRequestFrom(uint? choiceCount, string context, string fieldPrefix, List<string> errors)
    {
        var count = choiceCount ?? (uint)ModelRules.DefaultChoiceCount;
        if (!ModelRules.IsValidChoiceCount(count))
        {
            errors.Add($"{context}: {fieldPrefix}choice_count must be 2 or more, found {count}");
            return null;
        }

        // gRFC A48: least_request draws at most 10 candidates; larger values are capped, not rejected.
        return new LeastRequestPolicy { ChoiceCount = ModelRules.CapChoiceCount(count) };
    }

    private static RingHashPolicy? RingHashFrom(ulong? minimum, ulong? maximum, string context, string fieldPrefix, List<string> errors)
    {
        var errorCount = errors.Count;
        var min = minimum ?? (ulong)ModelRules.DefaultMinRingSize;
        var max = maximum ?? (ulong)ModelRules.DefaultMaxRingSize;
        if (!ModelRules.IsValidRingSize(max))
        {
            errors.Add($"{context}: {fieldPrefix}maximum_ring_size must be between 1 and {RingHashPolicy.RingSizeLimit}, found {max}");
        }

        if (!ModelRules.IsValidRingSize(min))
        {
            errors.Add($"{context}: {fieldPrefix}minimum_ring_size must be between 1 and {RingHashPolicy.RingSizeLimit}, found {min}");
        }
        else if (min > max)
        {
            errors.Add($"{context}: {fieldPrefix}minimum_ring_size ({min}) must not be greater than maximum_ring_size ({max})");
        }

        return errors.Count > errorCount ? null : new RingHashPolicy { MinRingSize = (long)min, MaxRingSize = (long)max };
    }

    private static MaglevPolicy? MaglevFrom(ulong? tableSize, string context, string fieldPrefix, List<string> errors)
    {
        var size = tableSize ?? MaglevPolicy.DefaultTableSize;
        if (!ModelRules.IsValidMaglevTableSize(size))
        {
            errors.Add($"{context}: {fieldPrefix}table_size must be a prime number no larger than {ModelRules.MaxMaglevTableSize}, found {size}");
            return null;
        }

        return new MaglevPolicy { TableSize = (int)size };
    }
}
