using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3;
using Google.Protobuf.WellKnownTypes;
using LoadBalancingPolicyNames = Mesh.Client.Model.LoadBalancingPolicyNames;

namespace Mesh.Client.Testing;

public static partial class XdsResources
{
    /// <summary>
    /// An EDS Cluster whose endpoints are fetched over ADS, balanced by <paramref name="lbPolicy"/>.
    /// </summary>
    /// <param name="name">The cluster name routes refer to.</param>
    /// <param name="edsServiceName">
    /// The ClusterLoadAssignment to fetch (<c>eds_cluster_config.service_name</c>); the cluster name when
    /// <see langword="null"/>.
    /// </param>
    /// <param name="lbPolicy">
    /// A <see cref="LoadBalancingPolicyNames"/> value. <c>round_robin</c>, <c>least_request</c>, <c>ring_hash</c>,
    /// <c>maglev</c> and <c>random</c> are sent in the <c>lb_policy</c> enum (with an empty
    /// <c>ring_hash_lb_config</c> or <c>maglev_lb_config</c>, i.e. xxHash and default sizes); <c>pick_first</c>,
    /// which the enum lacks, is sent in <c>load_balancing_policy</c> as <c>envoy.load_balancing_policies.pick_first</c>.
    /// </param>
    /// <param name="http2">
    /// Say in <c>typed_extension_protocol_options</c> that the cluster speaks HTTP/2, as Istio does for gRPC
    /// ports; the HttpClient front door then uses cleartext HTTP/2 towards it.
    /// </param>
    /// <param name="upstreamTls">
    /// The cluster's TLS: the <c>transport_socket</c>'s typed config (<c>envoy.transport_sockets.tls</c>), e.g. from
    /// <see cref="UpstreamTls"/> or <see cref="IstioUpstreamTls"/>; <see langword="null"/> for plaintext.
    /// </param>
    /// <returns>The packed <c>envoy.config.cluster.v3.Cluster</c>.</returns>
    public static Any Cluster(string name, string? edsServiceName = null, string lbPolicy = LoadBalancingPolicyNames.RoundRobin, bool http2 = false, Any? upstreamTls = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var cluster = new Cluster
        {
            Name = name,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Envoy.Config.Cluster.V3.Cluster.Types.EdsClusterConfig
            {
                EdsConfig = Ads(),
                ServiceName = edsServiceName ?? string.Empty,
            },
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        };
        switch (lbPolicy)
        {
            case LoadBalancingPolicyNames.RoundRobin:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RoundRobin;
                break;
            case LoadBalancingPolicyNames.LeastRequest:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.LeastRequest;
                break;
            case LoadBalancingPolicyNames.Random:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.Random;
                break;
            case LoadBalancingPolicyNames.RingHash:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RingHash;
                cluster.RingHashLbConfig = new Envoy.Config.Cluster.V3.Cluster.Types.RingHashLbConfig
                {
                    HashFunction = Envoy.Config.Cluster.V3.Cluster.Types.RingHashLbConfig.Types.HashFunction.XxHash,
                };
                break;
            case LoadBalancingPolicyNames.Maglev:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.Maglev;
                cluster.MaglevLbConfig = new Envoy.Config.Cluster.V3.Cluster.Types.MaglevLbConfig();
                break;
            case LoadBalancingPolicyNames.PickFirst:
                cluster.LoadBalancingPolicy = new LoadBalancingPolicy
                {
                    Policies =
                    {
                        new LoadBalancingPolicy.Types.Policy
                        {
                            TypedExtensionConfig = new TypedExtensionConfig
                            {
                                Name = "envoy.load_balancing_policies.pick_first",
                                TypedConfig = Any.Pack(new PickFirst()),
                            },
                        },
                    },
                };
                break;
            default:
                throw new ArgumentException(
                    $"Cluster '{name}': unknown load-balancing policy '{lbPolicy}'; expected one of {string.Join(", ", LoadBalancingPolicyNames.All)}.",
                    nameof(lbPolicy));
        }

        if (http2)
        {
            cluster.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] = Any.Pack(
                new Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions
                {
                    ExplicitHttpConfig = new Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Types.ExplicitHttpConfig
                    {
                        Http2ProtocolOptions = new Envoy.Config.Core.V3.Http2ProtocolOptions(),
                    },
                });
        }

        if (upstreamTls is not null)
        {
            cluster.TransportSocket = new TransportSocket { Name = TlsTransportSocketName, TypedConfig = upstreamTls };
        }

        return Any.Pack(cluster);
    }
}
