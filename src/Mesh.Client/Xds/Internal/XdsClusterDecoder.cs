using Envoy.Config.Cluster.V3;
using Envoy.Extensions.Clusters.Aggregate.V3;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a Cluster (gRFC A27, A37, A42, A48, A52): EDS, LOGICAL_DNS or aggregate, and the
/// load-balancing policy from <c>load_balancing_policy</c> or the older <c>lb_policy</c> enum; also its
/// circuit breaker (gRFC A32), outlier detection (gRFC A50) and TLS (gRFC A29, <see cref="XdsTlsContextDecoder"/>).
/// The load-balancing policy is decoded in XdsClusterDecoder.LoadBalancing.cs.
/// </summary>
internal static partial class XdsClusterDecoder
{
    public const string AggregateClusterTypeName = "envoy.extensions.clusters.aggregate.v3.ClusterConfig";

    public const string HttpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    public static XdsClusterUpdate? Decode(Cluster cluster, XdsDecodeContext context, List<string> errors)
    {
        var errorCount = errors.Count;
        var update = DecodeDiscoveryType(cluster, errors);

        // An aggregate cluster's own policy is not used (its children's are, gRFC A37), but it is validated
        // all the same: C-core and grpc-js both NACK an aggregate cluster with CLUSTER_PROVIDED. Its
        // transport_socket likewise: validated as C-core does, unused (its children's endpoints use theirs).
        var policy = DecodeLoadBalancing(cluster, errors);
        var tls = XdsTlsContextDecoder.Decode(cluster, context, errors);
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
}
