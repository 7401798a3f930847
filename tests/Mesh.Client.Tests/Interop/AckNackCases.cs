using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.LoadBalancingPolicies.RoundRobin.V3;
using Envoy.Extensions.LoadBalancingPolicies.WrrLocality.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Testing;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// One configuration of the ACK/NACK matrix: a resource that replaces the baseline resource of its type and name.
/// Its expected verdicts live in tests/interop/README.md, in the row whose first cell is <see cref="Id"/>.
/// </summary>
/// <param name="Id">The row id in the README.</param>
/// <param name="TypeUrl">The resource type it replaces.</param>
/// <param name="Build">Builds the resource from the backends' addresses.</param>
internal sealed record AckNackCase(string Id, string TypeUrl, Func<IReadOnlyList<string>, Any> Build)
{
    public override string ToString() => Id;
}

/// <summary>
/// The configurations of the matrix, each a small change to one baseline resource. The baseline: Listener
/// <c>matrix</c> (HTTP connection manager, RDS <c>matrix-routes</c>, router only) → one virtual host, prefix <c>/</c>
/// → EDS cluster <c>matrix-cluster</c> (round_robin) → one endpoint; a second cluster <c>matrix-cluster-b</c> exists
/// for routes that split traffic.
/// </summary>
internal static class AckNackCases
{
    public const string Target = "matrix";
    public const string RouteConfigName = "matrix-routes";
    public const string ClusterName = "matrix-cluster";
    public const string ClusterB = "matrix-cluster-b";

    /// <summary>The type of an HTTP filter none of the clients implements.</summary>
    public const string LuaFilterTypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua";

    /// <summary>The per-route config type of that filter.</summary>
    public const string LuaPerRouteTypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute";

    /// <summary>
    /// The bootstrap's certificate provider instance with an identity and roots, named as Istio names it; every
    /// client of the matrix gets it (<see cref="AckNackMatrix"/> writes its files).
    /// </summary>
    public const string IdentityProvider = XdsResources.IstioCertificateProvider;

    /// <summary>The bootstrap's certificate provider instance with roots only.</summary>
    public const string RootsProvider = "roots";

    /// <summary>The server identity the TLS cases match (no call is made while they are in force).</summary>
    public const string ServerIdentity = "spiffe://cluster.local/ns/default/sa/matrix";

    public static IReadOnlyList<AckNackCase> All { get; } =
    [
        // LDS
        new("lds-router-only", XdsTypeUrls.Listener, _ => Listener()),
        new("lds-fault-then-router", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Insert(0, Fault(new HTTPFault())))),
        new("lds-no-http-filters", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Clear())),
        new("lds-inline-route-config", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.RouteConfig = RouteConfiguration.Parser.ParseFrom(Routes().Value))),
        new("lds-router-not-last", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Add(Fault(new HTTPFault())))),
        new("lds-unknown-required-filter", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Insert(0, Lua(optional: false)))),
        new("lds-unknown-optional-filter", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Insert(0, Lua(optional: true)))),
        new("lds-duplicate-filter-names", XdsTypeUrls.Listener, _ => Listener(hcm =>
        {
            hcm.HttpFilters.Insert(0, Fault(new HTTPFault()));
            hcm.HttpFilters.Insert(0, Fault(new HTTPFault()));
        })),
        new("lds-fault-abort-status-17", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Insert(0, Fault(new HTTPFault
        {
            Abort = new FaultAbort { GrpcStatus = 17, Percentage = new FractionalPercent { Numerator = 0 } },
        })))),
        new("lds-negative-max-stream-duration", XdsTypeUrls.Listener, _ => Listener(hcm =>
            hcm.CommonHttpProtocolOptions = new HttpProtocolOptions { MaxStreamDuration = new Duration { Seconds = -1 } })),
        new("lds-fault-delay-without-type", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.HttpFilters.Insert(0, Fault(new HTTPFault
        {
            Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { Percentage = new FractionalPercent { Numerator = 0 } },
        })))),
        new("lds-no-api-listener", XdsTypeUrls.Listener, _ => Any.Pack(new Listener { Name = Target })),
        new("lds-rds-config-source-not-ads", XdsTypeUrls.Listener, _ => Listener(hcm => hcm.Rds.ConfigSource = PathConfigSource())),

        // RDS
        new("rds-prefix-route", XdsTypeUrls.RouteConfiguration, _ => Routes()),
        new("rds-header-match-and-weighted-clusters", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
        {
            var canary = DefaultRoute();
            canary.Match.Headers.Add(new HeaderMatcher { Name = "x-canary", ExactMatch = "yes" });
            canary.Route_ = new RouteAction { Cluster = ClusterB };
            vh.Routes.Insert(0, canary);
            vh.Routes[1].Route_ = new RouteAction { WeightedClusters = Weighted((ClusterName, 3), (ClusterB, 1)) };
        })),
        new("rds-header-string-match", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Match.Headers.Add(new HeaderMatcher { Name = "x-canary", InvertMatch = true, StringMatch = new StringMatcher { Exact = "yes" } }))),
        new("rds-route-without-action", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Route_ = null)),
        new("rds-cluster-header", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Route_ = new RouteAction { ClusterHeader = "x-cluster" })),
        new("rds-redirect-action", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Redirect = new RedirectAction())),
        new("rds-no-path-specifier", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Match = new Envoy.Config.Route.V3.RouteMatch())),
        new("rds-invalid-safe-regex", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Match = new Envoy.Config.Route.V3.RouteMatch { SafeRegex = new RegexMatcher { Regex = "/mesh.samples.Echo/[" } })),
        new("rds-header-range-start-gt-end", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Match.Headers.Add(new HeaderMatcher { Name = "x-n", RangeMatch = new Int64Range { Start = 10, End = 5 } }))),
        new("rds-weighted-clusters-sum-0", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Route_ = new RouteAction { WeightedClusters = Weighted((ClusterName, 0), (ClusterB, 0)) })),
        new("rds-weighted-total-weight-mismatch", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
        {
            var weighted = Weighted((ClusterName, 3), (ClusterB, 1));
            weighted.TotalWeight = 10;
            vh.Routes[0].Route_ = new RouteAction { WeightedClusters = weighted };
        })),
        new("rds-negative-route-max-stream-duration", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Route_.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = new Duration { Seconds = -1 } })),
        new("rds-virtual-host-without-domains", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Domains.Clear())),
        new("rds-query-parameter-route", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
        {
            var debug = DefaultRoute();
            debug.Match.QueryParameters.Add(new QueryParameterMatcher { Name = "debug", PresentMatch = true });
            debug.Route_ = new RouteAction { Cluster = ClusterB };
            vh.Routes.Insert(0, debug);
        })),
        new("rds-query-parameter-invalid-regex", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
        {
            var debug = DefaultRoute();
            debug.Match.QueryParameters.Add(new QueryParameterMatcher { Name = "v", StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "[" } } });
            vh.Routes.Insert(0, debug);
        })),
        new("rds-negative-route-timeout", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Route_.Timeout = new Duration { Seconds = -1 })),
        new("rds-retry-policy", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Route_.RetryPolicy = new RetryPolicy
        {
            RetryOn = "unavailable,cancelled,5xx",
            NumRetries = 2,
            RetryBackOff = new RetryPolicy.Types.RetryBackOff { BaseInterval = new Duration { Nanos = 10_000_000 }, MaxInterval = new Duration { Nanos = 100_000_000 } },
        })),
        new("rds-retry-num-retries-0", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].Route_.RetryPolicy = new RetryPolicy { RetryOn = "unavailable", NumRetries = 0 })),
        new("rds-retry-back-off-max-below-base", XdsTypeUrls.RouteConfiguration, _ => Routes(vh => vh.Routes[0].Route_.RetryPolicy = new RetryPolicy
        {
            RetryOn = "unavailable",
            RetryBackOff = new RetryPolicy.Types.RetryBackOff { BaseInterval = new Duration { Nanos = 100_000_000 }, MaxInterval = new Duration { Nanos = 10_000_000 } },
        })),
        new("rds-route-fault-override", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].TypedPerFilterConfig["envoy.filters.http.fault"] = Any.Pack(new HTTPFault
            {
                Abort = new FaultAbort { GrpcStatus = 14, Percentage = new FractionalPercent { Numerator = 0 } },
            }))),
        new("rds-filter-override-unknown-type", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].TypedPerFilterConfig["envoy.filters.http.lua"] = new Any { TypeUrl = LuaPerRouteTypeUrl })),
        new("rds-filter-override-optional-unknown-type", XdsTypeUrls.RouteConfiguration, _ => Routes(vh =>
            vh.Routes[0].TypedPerFilterConfig["envoy.filters.http.lua"] = Any.Pack(new FilterConfig { Config = new Any { TypeUrl = LuaPerRouteTypeUrl }, IsOptional = true }))),

        // CDS
        new("cds-eds-round-robin", XdsTypeUrls.Cluster, _ => Cluster()),
        new("cds-static", XdsTypeUrls.Cluster, _ => Cluster(c =>
        {
            c.Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Static;
            c.EdsClusterConfig = null;
        })),
        new("cds-ring-hash-min-gt-max", XdsTypeUrls.Cluster, _ => Cluster(c =>
        {
            c.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RingHash;
            c.RingHashLbConfig = new Envoy.Config.Cluster.V3.Cluster.Types.RingHashLbConfig { MinimumRingSize = 4096, MaximumRingSize = 1024 };
        })),
        new("cds-lb-policy-cluster-provided", XdsTypeUrls.Cluster, _ => Cluster(c => c.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.ClusterProvided)),
        new("cds-wrr-locality-round-robin", XdsTypeUrls.Cluster, _ => Cluster(c => c.LoadBalancingPolicy = Policies(Policy(
            "envoy.load_balancing_policies.wrr_locality",
            Any.Pack(new WrrLocality { EndpointPickingPolicy = Policies(Policy("envoy.load_balancing_policies.round_robin", Any.Pack(new RoundRobin()))) }))))),
        new("cds-load-balancing-policy-none-supported", XdsTypeUrls.Cluster, _ => Cluster(c => c.LoadBalancingPolicy = Policies(Policy(
            "mesh.interop.unknown_policy",
            new Any { TypeUrl = "type.googleapis.com/mesh.interop.UnknownPolicy" })))),
        new("cds-aggregate", XdsTypeUrls.Cluster, _ => Cluster(c => Aggregate(c, ClusterB))),
        new("cds-aggregate-cluster-provided", XdsTypeUrls.Cluster, _ => Cluster(c =>
        {
            Aggregate(c, ClusterB);
            c.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.ClusterProvided;
        })),
        new("cds-aggregate-without-clusters", XdsTypeUrls.Cluster, _ => Cluster(c => Aggregate(c))),
        new("cds-logical-dns", XdsTypeUrls.Cluster, b => Cluster(c => LogicalDns(c, b[0]))),
        new("cds-logical-dns-port-0", XdsTypeUrls.Cluster, b => Cluster(c =>
        {
            LogicalDns(c, b[0]);
            c.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue = 0;
        })),
        new("cds-eds-config-source-not-ads", XdsTypeUrls.Cluster, _ => Cluster(c => c.EdsClusterConfig.EdsConfig = PathConfigSource())),
        new("cds-circuit-breaker-max-requests", XdsTypeUrls.Cluster, _ => Cluster(c => c.CircuitBreakers = new CircuitBreakers
        {
            Thresholds = { new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.Default, MaxRequests = 100 } },
        })),
        new("cds-outlier-detection", XdsTypeUrls.Cluster, _ => Cluster(c => c.OutlierDetection = new OutlierDetection
        {
            Interval = new Duration { Seconds = 10 },
            EnforcingSuccessRate = 100,
            EnforcingFailurePercentage = 50,
            FailurePercentageThreshold = 90,
        })),
        new("cds-outlier-detection-max-ejection-percent-101", XdsTypeUrls.Cluster, _ => Cluster(c => c.OutlierDetection = new OutlierDetection { MaxEjectionPercent = 101 })),

        // CDS: TLS towards the endpoints (gRFC A29; system roots, gRFC A82). Tls() starts from mutual TLS in the
        // current form: identity and roots from provider instance "default", the server's SPIFFE ID as an exact SAN.
        new("cds-tls-istio", XdsTypeUrls.Cluster, _ => Cluster(c => WithTransportSocket(c, XdsResources.IstioUpstreamTls(ServerIdentity)))),
        new("cds-tls-sni", XdsTypeUrls.Cluster, _ => Tls(t => t.Sni = "outbound_.8080_._.matrix.default.svc.cluster.local")),
        new("cds-tls-without-identity", XdsTypeUrls.Cluster, _ => Cluster(c => WithTransportSocket(c, XdsResources.UpstreamTls(null, RootsProvider, ServerIdentity)))),
        new("cds-tls-unknown-provider-instance", XdsTypeUrls.Cluster, _ => Tls(t => t.CommonTlsContext.TlsCertificateProviderInstance.InstanceName = "spire")),
        new("cds-tls-no-root-source", XdsTypeUrls.Cluster, _ => Tls(t => t.CommonTlsContext.ValidationContext.CaCertificateProviderInstance = null)),
        new("cds-tls-typed-san-matcher", XdsTypeUrls.Cluster, _ => Tls(t =>
        {
            t.CommonTlsContext.ValidationContext.MatchSubjectAltNames.Clear();
            t.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Add(TypedSan(SubjectAltNameMatcher.Types.SanType.Uri, ServerIdentity));
        })),
        new("cds-tls-both-san-lists", XdsTypeUrls.Cluster, _ => Tls(t =>
            t.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Add(TypedSan(SubjectAltNameMatcher.Types.SanType.Dns, "matrix.default.svc.cluster.local")))),
        new("cds-tls-certificates-without-provider", XdsTypeUrls.Cluster, _ => Tls(t =>
        {
            t.CommonTlsContext.TlsCertificateProviderInstance = null;
            t.CommonTlsContext.TlsCertificates.Add(FileCertificate("/etc/certs/cert-chain.pem", "/etc/certs/key.pem"));
        })),
        new("cds-tls-verify-certificate-spki", XdsTypeUrls.Cluster, _ => Tls(t =>
            t.CommonTlsContext.ValidationContext.VerifyCertificateSpki.Add("NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A="))),
        new("cds-tls-custom-validator-config", XdsTypeUrls.Cluster, _ => Tls(t =>
            t.CommonTlsContext.ValidationContext.CustomValidatorConfig = new TypedExtensionConfig
            {
                Name = "envoy.tls.cert_validator.spiffe",
                TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig" },
            })),
        new("cds-tls-raw-buffer-transport-socket", XdsTypeUrls.Cluster, _ => Cluster(c => c.TransportSocket = new TransportSocket
        {
            // RawBuffer has no fields: an empty value is its whole encoding.
            Name = "envoy.transport_sockets.raw_buffer",
            TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" },
        })),
        new("cds-tls-system-root-certs", XdsTypeUrls.Cluster, _ => Tls(t =>
        {
            t.CommonTlsContext.TlsCertificateProviderInstance = null;
            t.CommonTlsContext.ValidationContext.CaCertificateProviderInstance = null;
            t.CommonTlsContext.ValidationContext.SystemRootCerts = new CertificateValidationContext.Types.SystemRootCerts();
        })),

        // EDS
        new("eds-two-localities-two-priorities", XdsTypeUrls.ClusterLoadAssignment, b => Endpoints(
            Locality("zone-a", 0, b[0]),
            Locality("zone-b", 0, b[1]),
            Locality("zone-c", 1, b[2]))),
        new("eds-non-contiguous-priorities", XdsTypeUrls.ClusterLoadAssignment, b => Endpoints(
            Locality("zone-a", 0, b[0]),
            Locality("zone-c", 2, b[2]))),
        new("eds-endpoint-weight-0", XdsTypeUrls.ClusterLoadAssignment, b =>
        {
            var locality = Locality("zone-a", 0, b[0], b[1]);
            locality.LbEndpoints[1].LoadBalancingWeight = 0;
            return Endpoints(locality);
        }),
        new("eds-port-0", XdsTypeUrls.ClusterLoadAssignment, b =>
        {
            var locality = Locality("zone-a", 0, b[0]);
            locality.LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue = 0;
            return Endpoints(locality);
        }),
        new("eds-locality-weight-0", XdsTypeUrls.ClusterLoadAssignment, b =>
        {
            var unweighted = Locality("zone-b", 0, b[1]);
            unweighted.LoadBalancingWeight = 0;
            return Endpoints(Locality("zone-a", 0, b[0]), unweighted);
        }),
        new("eds-duplicate-locality", XdsTypeUrls.ClusterLoadAssignment, b => Endpoints(
            Locality("zone-a", 0, b[0]),
            Locality("zone-a", 0, b[1]))),
    ];

    /// <summary>The resources every client starts from; each case replaces one of them, and the baseline comes back after it.</summary>
    public static IReadOnlyList<(string TypeUrl, string Name, Any Resource)> Baseline(IReadOnlyList<string> backends) =>
    [
        (XdsTypeUrls.Listener, Target, Listener()),
        (XdsTypeUrls.RouteConfiguration, RouteConfigName, Routes()),
        (XdsTypeUrls.Cluster, ClusterName, Cluster()),
        (XdsTypeUrls.Cluster, ClusterB, XdsResources.Cluster(ClusterB)),
        (XdsTypeUrls.ClusterLoadAssignment, ClusterName, Endpoints(Locality("zone-a", 0, backends[0]))),
        (XdsTypeUrls.ClusterLoadAssignment, ClusterB, XdsResources.ClusterLoadAssignment(ClusterB, backends[1])),
    ];

    /// <summary>The name of the baseline resource a case replaces.</summary>
    public static string NameOf(string typeUrl) => typeUrl switch
    {
        XdsTypeUrls.Listener => Target,
        XdsTypeUrls.RouteConfiguration => RouteConfigName,
        _ => ClusterName,
    };

    private static Any Listener(Action<HttpConnectionManager>? change = null)
    {
        var hcm = new HttpConnectionManager
        {
            StatPrefix = Target,
            Rds = new Rds { ConfigSource = Ads(), RouteConfigName = RouteConfigName },
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
        };
        change?.Invoke(hcm);
        return Any.Pack(new Listener { Name = Target, ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } });
    }

    private static HttpFilter Fault(HTTPFault fault) => new()
    {
        Name = "envoy.filters.http.fault",
        TypedConfig = Any.Pack(fault),
    };

    private static HttpFilter Lua(bool optional) => new()
    {
        Name = "envoy.filters.http.lua",
        IsOptional = optional,
        TypedConfig = new Any { TypeUrl = LuaFilterTypeUrl },
    };

    private static Any Routes(Action<VirtualHost>? change = null)
    {
        var virtualHost = new VirtualHost { Name = Target, Domains = { Target }, Routes = { DefaultRoute() } };
        change?.Invoke(virtualHost);
        return Any.Pack(new RouteConfiguration { Name = RouteConfigName, VirtualHosts = { virtualHost } });
    }

    private static Route DefaultRoute() => new()
    {
        Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
        Route_ = new RouteAction { Cluster = ClusterName },
    };

    private static WeightedCluster Weighted(params (string Name, uint Weight)[] clusters)
    {
        var weighted = new WeightedCluster();
        foreach (var (name, weight) in clusters)
        {
            weighted.Clusters.Add(new WeightedCluster.Types.ClusterWeight { Name = name, Weight = weight });
        }

        // C-core 1.51 still holds the sum to the deprecated total_weight (default 100); set it to the sum.
        var total = (uint)clusters.Sum(c => c.Weight);
        if (total > 0)
        {
            weighted.TotalWeight = total;
        }

        return weighted;
    }

    private static Any Cluster(Action<Envoy.Config.Cluster.V3.Cluster>? change = null)
    {
        var cluster = new Envoy.Config.Cluster.V3.Cluster
        {
            Name = ClusterName,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Envoy.Config.Cluster.V3.Cluster.Types.EdsClusterConfig { EdsConfig = Ads() },
            LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RoundRobin,
        };
        change?.Invoke(cluster);
        return Any.Pack(cluster);
    }

    /// <summary>The baseline cluster with mutual TLS in the current form (gRFC A29), changed by <paramref name="change"/>.</summary>
    private static Any Tls(Action<UpstreamTlsContext> change)
    {
        var context = UpstreamTlsContext.Parser.ParseFrom(XdsResources.UpstreamTls(IdentityProvider, IdentityProvider, ServerIdentity).Value);
        change(context);
        return Cluster(c => WithTransportSocket(c, Any.Pack(context)));
    }

    private static void WithTransportSocket(Envoy.Config.Cluster.V3.Cluster cluster, Any upstreamTls) =>
        cluster.TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = upstreamTls };

    /// <summary>
    /// <c>TlsCertificate { certificate_chain { filename }, private_key { filename } }</c>, as Envoy reads a static
    /// identity. Our protos leave TlsCertificate's fields out: written by hand, they travel as unknown fields.
    /// </summary>
    private static TlsCertificate FileCertificate(string chain, string key)
    {
        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(new DataSource { Filename = chain });
            output.WriteTag(2, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(new DataSource { Filename = key });
        }

        return TlsCertificate.Parser.ParseFrom(bytes.ToArray());
    }

    private static SubjectAltNameMatcher TypedSan(SubjectAltNameMatcher.Types.SanType type, string exact) =>
        new() { SanType = type, Matcher = new StringMatcher { Exact = exact } };

    private static void LogicalDns(Envoy.Config.Cluster.V3.Cluster cluster, string address)
    {
        cluster.Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.LogicalDns;
        cluster.EdsClusterConfig = null;
        cluster.LoadAssignment = new ClusterLoadAssignment { ClusterName = ClusterName, Endpoints = { Locality("zone-a", 0, address) } };
    }

    private static void Aggregate(Envoy.Config.Cluster.V3.Cluster cluster, params string[] children)
    {
        // cluster_type shares a oneof with type: setting it clears the EDS type.
        cluster.EdsClusterConfig = null;
        var config = new Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig();
        config.Clusters.AddRange(children);
        cluster.ClusterType = new Envoy.Config.Cluster.V3.Cluster.Types.CustomClusterType { Name = "envoy.clusters.aggregate", TypedConfig = Any.Pack(config) };
    }

    private static Envoy.Config.Cluster.V3.LoadBalancingPolicy Policies(params Envoy.Config.Cluster.V3.LoadBalancingPolicy.Types.Policy[] policies)
    {
        var list = new Envoy.Config.Cluster.V3.LoadBalancingPolicy();
        list.Policies.AddRange(policies);
        return list;
    }

    private static Envoy.Config.Cluster.V3.LoadBalancingPolicy.Types.Policy Policy(string name, Any config) => new()
    {
        TypedExtensionConfig = new TypedExtensionConfig { Name = name, TypedConfig = config },
    };

    private static Any Endpoints(params LocalityLbEndpoints[] localities)
    {
        var assignment = new ClusterLoadAssignment { ClusterName = ClusterName };
        assignment.Endpoints.AddRange(localities);
        return Any.Pack(assignment);
    }

    private static LocalityLbEndpoints Locality(string zone, uint priority, params string[] addresses)
    {
        var locality = new LocalityLbEndpoints
        {
            Locality = new Envoy.Config.Core.V3.Locality { Zone = zone },
            LoadBalancingWeight = 1,
            Priority = priority,
        };
        foreach (var address in addresses)
        {
            var colon = address.LastIndexOf(':');
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Endpoint
                {
                    Address = new Address
                    {
                        SocketAddress = new SocketAddress
                        {
                            Address = address[..colon],
                            PortValue = uint.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture),
                        },
                    },
                },
                HealthStatus = HealthStatus.Healthy,
            });
        }

        return locality;
    }

    private static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    /// <summary>
    /// A ConfigSource naming a file (<c>path_config_source</c>, field 8), which our protos leave out: written as raw
    /// bytes, it travels as an unknown field exactly as a control plane would send it.
    /// </summary>
    private static ConfigSource PathConfigSource()
    {
        var path = new PathConfigSourceBytes("/etc/xds/resources.yaml").ToByteArray();
        var source = ConfigSource.Parser.ParseFrom(path);
        source.ResourceApiVersion = ApiVersion.V3;
        return source;
    }

    /// <summary>Encodes <c>ConfigSource { path_config_source { path } }</c> by hand.</summary>
    private sealed record PathConfigSourceBytes(string Path)
    {
        public byte[] ToByteArray()
        {
            using var inner = new MemoryStream();
            using (var output = new CodedOutputStream(inner, leaveOpen: true))
            {
                output.WriteTag(1, WireFormat.WireType.LengthDelimited);
                output.WriteString(Path);
            }

            using var outer = new MemoryStream();
            using (var output = new CodedOutputStream(outer, leaveOpen: true))
            {
                output.WriteTag(8, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
            }

            return outer.ToArray();
        }
    }
}
