using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.Clusters.Aggregate.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Xds.Internal;
using LeastRequestConfig = Envoy.Extensions.LoadBalancingPolicies.LeastRequest.V3.LeastRequest;
using MaglevConfig = Envoy.Extensions.LoadBalancingPolicies.Maglev.V3.Maglev;
using PickFirstConfig = Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3.PickFirst;
using RingHashConfig = Envoy.Extensions.LoadBalancingPolicies.RingHash.V3.RingHash;
using RoundRobinConfig = Envoy.Extensions.LoadBalancingPolicies.RoundRobin.V3.RoundRobin;
using UdpaTypedStruct = Udpa.Type.V1.TypedStruct;
using WrrLocalityConfig = Envoy.Extensions.LoadBalancingPolicies.WrrLocality.V3.WrrLocality;
using XdsLoadBalancingPolicy = Envoy.Config.Cluster.V3.LoadBalancingPolicy;
using XdsTypedStruct = Xds.Type.V3.TypedStruct;

namespace Mesh.Client.Tests.Xds;

public class XdsClusterDecoderTests
{
    private static Cluster EdsCluster(string name = "outbound|7070||echo") => new()
    {
        Name = name,
        Type = Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } },
    };

    private static XdsDecodeResult Decode(Cluster cluster) => XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(cluster));

    private static XdsClusterUpdate Valid(Cluster cluster)
    {
        var result = Decode(cluster);
        Assert.Null(result.Error);
        return Assert.IsType<XdsClusterUpdate>(result.Update);
    }

    private static string Error(Cluster cluster)
    {
        var result = Decode(cluster);
        Assert.Null(result.Update);
        Assert.Equal(cluster.Name, result.Name);
        return Assert.IsType<string>(result.Error);
    }

    private static XdsLoadBalancingPolicy Policies(params IMessage[] configs) => Policies(configs.Select(Any.Pack).ToArray());

    private static XdsLoadBalancingPolicy Policies(params Any[] configs)
    {
        var policy = new XdsLoadBalancingPolicy();
        foreach (var config in configs)
        {
            policy.Policies.Add(new XdsLoadBalancingPolicy.Types.Policy { TypedExtensionConfig = new TypedExtensionConfig { Name = "p", TypedConfig = config } });
        }

        return policy;
    }

    private static Cluster WithPolicies(params IMessage[] configs)
    {
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = Policies(configs);
        return cluster;
    }

    private static Cluster LogicalDns(Action<LbEndpoint>? configure = null)
    {
        var lbEndpoint = new LbEndpoint
        {
            Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "backend.example.com", PortValue = 443 } } },
        };
        configure?.Invoke(lbEndpoint);
        var assignment = new ClusterLoadAssignment();
        assignment.Endpoints.Add(new LocalityLbEndpoints { LbEndpoints = { lbEndpoint } });
        return new Cluster { Name = "dns", Type = Cluster.Types.DiscoveryType.LogicalDns, LoadAssignment = assignment };
    }

    private static Cluster Aggregate(params string[] children)
    {
        var config = new ClusterConfig();
        config.Clusters.Add(children);
        return new Cluster { Name = "agg", ClusterType = new Cluster.Types.CustomClusterType { Name = "envoy.clusters.aggregate", TypedConfig = Any.Pack(config) } };
    }

    [Fact]
    public void Decode_Eds_ServiceNameDefaultsToClusterName()
    {
        var update = Valid(EdsCluster());

        Assert.Equal("outbound|7070||echo", update.Name);
        Assert.Equal(XdsClusterKind.Eds, update.Kind);
        Assert.Equal("outbound|7070||echo", update.EdsServiceName);
        Assert.Equal(RoundRobinPolicy.Instance, update.LoadBalancing);
    }

    [Fact]
    public void Decode_EdsWithServiceName_UsesIt()
    {
        var cluster = EdsCluster();
        cluster.EdsClusterConfig.ServiceName = "echo-endpoints";

        Assert.Equal("echo-endpoints", Valid(cluster).EdsServiceName);
    }

    [Fact]
    public void Decode_EdsConfigSelf_Accepted()
    {
        var cluster = EdsCluster();
        cluster.EdsClusterConfig.EdsConfig = new ConfigSource { Self = new SelfConfigSource() };

        Assert.Equal(XdsClusterKind.Eds, Valid(cluster).Kind);
    }

    [Fact]
    public void Decode_EdsConfigNotAds_Error()
    {
        var cluster = EdsCluster();
        cluster.EdsClusterConfig.EdsConfig = new ConfigSource();

        Assert.StartsWith("eds_cluster_config.eds_config: must be ads or self", Error(cluster), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_EdsWithoutEdsConfig_Error()
    {
        var cluster = EdsCluster();
        cluster.EdsClusterConfig.EdsConfig = null;

        Assert.Equal("eds_cluster_config.eds_config: field not present", Error(cluster));
    }

    [Fact]
    public void Decode_EdsWithoutEdsClusterConfig_Error()
    {
        var cluster = EdsCluster();
        cluster.EdsClusterConfig = null;

        Assert.Equal("eds_cluster_config: field not present", Error(cluster));
    }

    [Fact]
    public void Decode_XdstpNameWithoutServiceName_Error()
    {
        Assert.Equal(
            "eds_cluster_config.service_name: must be set when the cluster has an xdstp: name",
            Error(EdsCluster("xdstp://authority/envoy.config.cluster.v3.Cluster/echo")));
    }

    [Fact]
    public void Decode_LogicalDns_HostAndPort()
    {
        var update = Valid(LogicalDns());

        Assert.Equal(XdsClusterKind.LogicalDns, update.Kind);
        Assert.Equal("backend.example.com", update.DnsHost);
        Assert.Equal(443, update.DnsPort);
    }

    [Fact]
    public void Decode_LogicalDnsWithoutLoadAssignment_Error()
    {
        var cluster = LogicalDns();
        cluster.LoadAssignment = null;

        Assert.Equal("load_assignment: field not present (a LOGICAL_DNS cluster names its host there)", Error(cluster));
    }

    [Fact]
    public void Decode_LogicalDnsTwoLocalities_Error()
    {
        var cluster = LogicalDns();
        cluster.LoadAssignment.Endpoints.Add(cluster.LoadAssignment.Endpoints[0].Clone());

        Assert.Equal("load_assignment.endpoints: a LOGICAL_DNS cluster must have exactly one locality, found 2", Error(cluster));
    }

    [Fact]
    public void Decode_LogicalDnsTwoEndpoints_Error()
    {
        var cluster = LogicalDns();
        var endpoints = cluster.LoadAssignment.Endpoints[0].LbEndpoints;
        endpoints.Add(endpoints[0].Clone());

        Assert.Equal("load_assignment.endpoints[0].lb_endpoints: a LOGICAL_DNS cluster must have exactly one endpoint, found 2", Error(cluster));
    }

    [Fact]
    public void Decode_LogicalDnsWithoutSocketAddress_Error()
    {
        Assert.Equal(
            "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address: field not present",
            Error(LogicalDns(e => e.Endpoint.Address = new Address())));
    }

    [Fact]
    public void Decode_LogicalDnsWithoutPort_Error()
    {
        Assert.Equal(
            "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: field not present",
            Error(LogicalDns(e => e.Endpoint.Address.SocketAddress.ClearPortValue())));
    }

    [Fact]
    public void Decode_LogicalDnsEmptyAddressAndResolverName_BothReported()
    {
        Assert.Equal(
            "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.resolver_name: must be empty: a LOGICAL_DNS cluster uses the system resolver; "
            + "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be non-empty",
            Error(LogicalDns(e =>
            {
                e.Endpoint.Address.SocketAddress.Address = "";
                e.Endpoint.Address.SocketAddress.ResolverName = "custom";
            })));
    }

    [Fact]
    public void Decode_LogicalDnsPortOutOfRange_Error()
    {
        Assert.Equal(
            "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be at most 65535, found 70000",
            Error(LogicalDns(e => e.Endpoint.Address.SocketAddress.PortValue = 70000)));
    }

    [Fact]
    public void Decode_Aggregate_ChildrenInOrder()
    {
        var update = Valid(Aggregate("primary", "secondary"));

        Assert.Equal(XdsClusterKind.Aggregate, update.Kind);
        Assert.Equal(["primary", "secondary"], update.AggregateChildren);
    }

    [Fact]
    public void Decode_AggregateWithoutChildren_Error()
    {
        Assert.Equal("cluster_type.typed_config.clusters: must be non-empty", Error(Aggregate()));
    }

    [Fact]
    public void Decode_AggregateWithEmptyChildName_Error()
    {
        Assert.Equal("cluster_type.typed_config.clusters[1]: must be non-empty", Error(Aggregate("a", "")));
    }

    [Fact]
    public void Decode_CustomClusterTypeNotAggregate_Error()
    {
        var cluster = new Cluster { Name = "redis", ClusterType = new Cluster.Types.CustomClusterType { Name = "envoy.clusters.redis", TypedConfig = Any.Pack(new Empty()) } };

        Assert.Equal(
            "cluster_type.typed_config: unsupported cluster type google.protobuf.Empty (a client supports envoy.extensions.clusters.aggregate.v3.ClusterConfig)",
            Error(cluster));
    }

    [Theory]
    [InlineData((int)Cluster.Types.DiscoveryType.Static, "STATIC")]
    [InlineData((int)Cluster.Types.DiscoveryType.StrictDns, "STRICT_DNS")]
    [InlineData((int)Cluster.Types.DiscoveryType.OriginalDst, "ORIGINAL_DST")]
    public void Decode_UnsupportedDiscoveryType_Error(int type, string name)
    {
        Assert.Equal(
            $"type: {name} is not supported (a client supports EDS, LOGICAL_DNS and the aggregate cluster_type)",
            Error(new Cluster { Name = "c", Type = (Cluster.Types.DiscoveryType)type }));
    }

    [Fact]
    public void Decode_NoDiscoveryType_ErrorAsStatic()
    {
        Assert.StartsWith("type: STATIC is not supported", Error(new Cluster { Name = "c" }), StringComparison.Ordinal);
    }

    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<int, object> LbPolicyEnums => new()
    {
        { (int)Cluster.Types.LbPolicy.RoundRobin, RoundRobinPolicy.Instance },
        { (int)Cluster.Types.LbPolicy.Random, RandomPolicy.Instance },
        { (int)Cluster.Types.LbPolicy.LeastRequest, new LeastRequestPolicy { ChoiceCount = 2 } },
        { (int)Cluster.Types.LbPolicy.RingHash, new RingHashPolicy { MinRingSize = 1024, MaxRingSize = 8_388_608 } },
        { (int)Cluster.Types.LbPolicy.Maglev, new MaglevPolicy { TableSize = 65537 } },
    };

    [Theory]
    [MemberData(nameof(LbPolicyEnums))]
    public void Decode_LbPolicyWithoutConfig_Defaults(int lbPolicy, object expectedValue)
    {
        var expected = (Mesh.Client.Model.LoadBalancingPolicy)expectedValue;
        var cluster = EdsCluster();
        cluster.LbPolicy = (Cluster.Types.LbPolicy)lbPolicy;

        Assert.Equal(expected, Valid(cluster).LoadBalancing);
    }

    [Theory]
    [InlineData(3u, 3)]
    [InlineData(50u, 10)]
    public void Decode_LeastRequestChoiceCount_ReadAndCappedAt10(uint choiceCount, int expected)
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new Cluster.Types.LeastRequestLbConfig { ChoiceCount = choiceCount };

        Assert.Equal(new LeastRequestPolicy { ChoiceCount = expected }, Valid(cluster).LoadBalancing);
    }

    [Fact]
    public void Decode_LeastRequestChoiceCountBelow2_Error()
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new Cluster.Types.LeastRequestLbConfig { ChoiceCount = 1 };

        Assert.Equal("lb_policy LEAST_REQUEST: least_request_lb_config.choice_count must be 2 or more, found 1", Error(cluster));
    }

    [Fact]
    public void Decode_RingHashSizes_Read()
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new Cluster.Types.RingHashLbConfig { MinimumRingSize = 64, MaximumRingSize = 4096 };

        Assert.Equal(new RingHashPolicy { MinRingSize = 64, MaxRingSize = 4096 }, Valid(cluster).LoadBalancing);
    }

    [Fact]
    public void Decode_RingHashMurmur_Error()
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new Cluster.Types.RingHashLbConfig { HashFunction = Cluster.Types.RingHashLbConfig.Types.HashFunction.MurmurHash2 };

        Assert.Equal("lb_policy RING_HASH: ring_hash_lb_config.hash_function must be XX_HASH, found MURMUR_HASH_2", Error(cluster));
    }

    [Theory]
    [InlineData(4096ul, 1024ul, "lb_policy RING_HASH: ring_hash_lb_config.minimum_ring_size (4096) must not be greater than maximum_ring_size (1024)")]
    [InlineData(1024ul, 9_000_000ul, "lb_policy RING_HASH: ring_hash_lb_config.maximum_ring_size must be between 1 and 8388608, found 9000000")]
    [InlineData(9_000_000ul, 8_388_608ul, "lb_policy RING_HASH: ring_hash_lb_config.minimum_ring_size must be between 1 and 8388608, found 9000000")]
    [InlineData(0ul, 1024ul, "lb_policy RING_HASH: ring_hash_lb_config.minimum_ring_size must be between 1 and 8388608, found 0")]
    public void Decode_RingHashSizesOutOfRange_Error(ulong min, ulong max, string expected)
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new Cluster.Types.RingHashLbConfig { MinimumRingSize = min, MaximumRingSize = max };

        Assert.Equal(expected, Error(cluster));
    }

    [Fact]
    public void Decode_MaglevTableSize_Read()
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.Maglev;
        cluster.MaglevLbConfig = new Cluster.Types.MaglevLbConfig { TableSize = 251 };

        Assert.Equal(new MaglevPolicy { TableSize = 251 }, Valid(cluster).LoadBalancing);
    }

    [Theory]
    [InlineData(65536ul)]
    [InlineData(1ul)]
    [InlineData(5_000_077ul)]
    public void Decode_MaglevTableSizeNotAnAllowedPrime_Error(ulong tableSize)
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.Maglev;
        cluster.MaglevLbConfig = new Cluster.Types.MaglevLbConfig { TableSize = tableSize };

        Assert.Equal($"lb_policy MAGLEV: maglev_lb_config.table_size must be a prime number no larger than 5000011, found {tableSize}", Error(cluster));
    }

    [Theory]
    [InlineData((int)Cluster.Types.LbPolicy.ClusterProvided, "lb_policy CLUSTER_PROVIDED: not supported (a client supports ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV and RANDOM)")]
    [InlineData((int)Cluster.Types.LbPolicy.LoadBalancingPolicyConfig, "lb_policy LOAD_BALANCING_POLICY_CONFIG: load_balancing_policy must be set")]
    [InlineData(42, "lb_policy 42: not supported (a client supports ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV and RANDOM)")]
    public void Decode_UnsupportedLbPolicy_Error(int lbPolicy, string expected)
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = (Cluster.Types.LbPolicy)lbPolicy;

        Assert.Equal(expected, Error(cluster));
    }

    [Fact]
    public void Decode_LoadBalancingPolicy_FirstSupportedWinsOverLbPolicy()
    {
        var cluster = EdsCluster();
        cluster.LbPolicy = Cluster.Types.LbPolicy.Maglev;
        cluster.LoadBalancingPolicy = Policies(
            new Any { TypeUrl = "type.googleapis.com/envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin" },
            Any.Pack(new RingHashConfig { MinimumRingSize = 10, MaximumRingSize = 20 }),
            Any.Pack(new RoundRobinConfig()));

        Assert.Equal(new RingHashPolicy { MinRingSize = 10, MaxRingSize = 20 }, Valid(cluster).LoadBalancing);
    }

    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<IMessage, object> PolicyExtensions => new()
    {
        { new RoundRobinConfig(), RoundRobinPolicy.Instance },
        { new LeastRequestConfig(), new LeastRequestPolicy { ChoiceCount = 2 } },
        { new LeastRequestConfig { ChoiceCount = 4 }, new LeastRequestPolicy { ChoiceCount = 4 } },
        { new RingHashConfig(), new RingHashPolicy { MinRingSize = 1024, MaxRingSize = 8_388_608 } },
        { new RingHashConfig { HashFunction = RingHashConfig.Types.HashFunction.XxHash, MinimumRingSize = 2048 }, new RingHashPolicy { MinRingSize = 2048, MaxRingSize = 8_388_608 } },
        { new MaglevConfig(), new MaglevPolicy { TableSize = 65537 } },
        { new MaglevConfig { TableSize = 131 }, new MaglevPolicy { TableSize = 131 } },
        { new PickFirstConfig(), new PickFirstPolicy() },
        { new PickFirstConfig { ShuffleAddressList = true }, new PickFirstPolicy { ShuffleAddressList = true } },
    };

    [Theory]
    [MemberData(nameof(PolicyExtensions))]
    public void Decode_LoadBalancingPolicyExtension_MapsToPolicy(IMessage config, object expectedValue)
    {
        var expected = (Mesh.Client.Model.LoadBalancingPolicy)expectedValue;
        Assert.Equal(expected, Valid(WithPolicies(config)).LoadBalancing);
    }

    [Fact]
    public void Decode_WrrLocality_TakesTheEndpointPickingPolicy()
    {
        var wrr = new WrrLocalityConfig { EndpointPickingPolicy = Policies(new LeastRequestConfig { ChoiceCount = 3 }) };

        Assert.Equal(new LeastRequestPolicy { ChoiceCount = 3 }, Valid(WithPolicies(wrr)).LoadBalancing);
    }

    [Fact]
    public void Decode_WrrLocalityWithoutChild_Error()
    {
        Assert.Equal(
            "load_balancing_policy.policies[0].typed_extension_config.typed_config.endpoint_picking_policy: field not present",
            Error(WithPolicies(new WrrLocalityConfig())));
    }

    [Fact]
    public void Decode_PolicyNestedTooDeep_Error()
    {
        var policy = Policies(new RoundRobinConfig());
        for (var i = 0; i < 16; i++)
        {
            policy = Policies(new WrrLocalityConfig { EndpointPickingPolicy = policy });
        }

        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = policy;

        Assert.EndsWith("endpoint_picking_policy: nested deeper than 16 levels", Error(cluster), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_PolicyNested15Levels_Accepted()
    {
        var policy = Policies(new RoundRobinConfig());
        for (var i = 0; i < 15; i++)
        {
            policy = Policies(new WrrLocalityConfig { EndpointPickingPolicy = policy });
        }

        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = policy;

        Assert.Equal(RoundRobinPolicy.Instance, Valid(cluster).LoadBalancing);
    }

    [Theory]
    [InlineData("xds")]
    [InlineData("udpa")]
    public void Decode_PolicyInTypedStruct_ReadFromJson(string wrapper)
    {
        var value = JsonParser.Default.Parse<Struct>("""{ "minimumRingSize": "16", "maximumRingSize": 4096, "hashFunction": "XX_HASH", "futureField": true }""");
        const string TypeUrl = "type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash";
        var any = wrapper == "xds"
            ? Any.Pack(new XdsTypedStruct { TypeUrl = TypeUrl, Value = value })
            : Any.Pack(new UdpaTypedStruct { TypeUrl = TypeUrl, Value = value });
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = Policies(any);

        Assert.Equal(new RingHashPolicy { MinRingSize = 16, MaxRingSize = 4096 }, Valid(cluster).LoadBalancing);
    }

    [Fact]
    public void Decode_WrrLocalityInTypedStruct_ChildReadFromJson()
    {
        var value = JsonParser.Default.Parse<Struct>("""
            { "endpointPickingPolicy": { "policies": [ { "typedExtensionConfig": { "name": "rr",
              "typedConfig": { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst", "shuffleAddressList": true } } } ] } }
            """);
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = Policies(Any.Pack(new XdsTypedStruct
        {
            TypeUrl = "type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality",
            Value = value,
        }));

        Assert.Equal(new PickFirstPolicy { ShuffleAddressList = true }, Valid(cluster).LoadBalancing);
    }

    [Fact]
    public void Decode_NoSupportedPolicy_ErrorListsTypes()
    {
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = Policies(
            new Any { TypeUrl = "type.googleapis.com/envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin" },
            Any.Pack(new XdsTypedStruct { TypeUrl = "type.googleapis.com/myorg.MyPolicy" }));

        Assert.Equal(
            "load_balancing_policy: no supported policy among envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin, myorg.MyPolicy",
            Error(cluster));
    }

    [Fact]
    public void Decode_EmptyPolicyList_Error()
    {
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = new XdsLoadBalancingPolicy();

        Assert.Equal("load_balancing_policy: no policies listed", Error(cluster));
    }

    [Fact]
    public void Decode_PolicyRingHashMurmur_Error()
    {
        Assert.Equal(
            "load_balancing_policy.policies[0].typed_extension_config.typed_config (envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash): hash_function must be XX_HASH or DEFAULT_HASH, found MURMUR_HASH_2",
            Error(WithPolicies(new RingHashConfig { HashFunction = RingHashConfig.Types.HashFunction.MurmurHash2 })));
    }

    [Fact]
    public void Decode_PolicyRingHashMinAboveMax_Error()
    {
        Assert.Equal(
            "load_balancing_policy.policies[0].typed_extension_config.typed_config (envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash): minimum_ring_size (100) must not be greater than maximum_ring_size (10)",
            Error(WithPolicies(new RingHashConfig { MinimumRingSize = 100, MaximumRingSize = 10 })));
    }

    [Fact]
    public void Decode_PolicyLeastRequestChoiceCountBelow2_Error()
    {
        Assert.Equal(
            "load_balancing_policy.policies[0].typed_extension_config.typed_config (envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest): choice_count must be 2 or more, found 0",
            Error(WithPolicies(new LeastRequestConfig { ChoiceCount = 0 })));
    }

    [Fact]
    public void Decode_PolicyMaglevNotPrime_Error()
    {
        Assert.Equal(
            "load_balancing_policy.policies[0].typed_extension_config.typed_config (envoy.extensions.load_balancing_policies.maglev.v3.Maglev): table_size must be a prime number no larger than 5000011, found 100",
            Error(WithPolicies(new MaglevConfig { TableSize = 100 })));
    }

    [Fact]
    public void Decode_PolicyWithoutTypedExtensionConfig_Error()
    {
        var cluster = EdsCluster();
        cluster.LoadBalancingPolicy = new XdsLoadBalancingPolicy { Policies = { new XdsLoadBalancingPolicy.Types.Policy() } };

        Assert.Equal("load_balancing_policy.policies[0].typed_extension_config: field not present", Error(cluster));
    }

    // ---- Circuit breaking (gRFC A32) ----

    [Fact]
    public void Decode_NoCircuitBreakers_MaxRequests1024()
    {
        Assert.Equal(1024u, Valid(EdsCluster()).MaxRequests);
    }

    [Fact]
    public void Decode_CircuitBreakers_FirstDefaultPriorityThresholdCounts()
    {
        var cluster = EdsCluster();
        cluster.CircuitBreakers = new CircuitBreakers
        {
            Thresholds =
            {
                new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.High, MaxRequests = 5 },
                new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.Default, MaxRequests = 50, MaxConnections = 1 },
                new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.Default, MaxRequests = 60 },
            },
        };

        Assert.Equal(50u, Valid(cluster).MaxRequests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Decode_CircuitBreakersWithoutDefaultMaxRequests_1024(bool withDefaultThreshold)
    {
        var cluster = EdsCluster();
        cluster.CircuitBreakers = new CircuitBreakers();
        cluster.CircuitBreakers.Thresholds.Add(withDefaultThreshold
            ? new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.Default, MaxPendingRequests = 3 }
            : new CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.High, MaxRequests = 3 });

        Assert.Equal(1024u, Valid(cluster).MaxRequests);
    }

    [Fact]
    public void Decode_MaxRequestsZero_Kept()
    {
        var cluster = EdsCluster();
        cluster.CircuitBreakers = new CircuitBreakers { Thresholds = { new CircuitBreakers.Types.Thresholds { MaxRequests = 0 } } };

        Assert.Equal(0u, Valid(cluster).MaxRequests);
    }

    // ---- Outlier detection (gRFC A50) ----

    [Fact]
    public void Decode_NoOutlierDetection_Null()
    {
        Assert.Null(Valid(EdsCluster()).OutlierDetection);
    }

    [Fact]
    public void Decode_EmptyOutlierDetection_DefaultsWithSuccessRateOnly()
    {
        var cluster = EdsCluster();
        cluster.OutlierDetection = new OutlierDetection();

        var policy = Valid(cluster).OutlierDetection;

        Assert.NotNull(policy);
        Assert.Equal(TimeSpan.FromSeconds(10), policy.Interval);
        Assert.Equal(TimeSpan.FromSeconds(30), policy.BaseEjectionTime);
        Assert.Equal(TimeSpan.FromSeconds(300), policy.MaxEjectionTime);
        Assert.Equal(10u, policy.MaxEjectionPercent);
        Assert.Equal(new SuccessRateEjection { StdevFactor = 1900, EnforcementPercentage = 100, MinimumHosts = 5, RequestVolume = 100 }, policy.SuccessRate);
        Assert.Null(policy.FailurePercentage);
    }

    [Fact]
    public void Decode_OutlierDetection_EveryFieldMapped()
    {
        var cluster = EdsCluster();
        cluster.OutlierDetection = new OutlierDetection
        {
            Interval = new Duration { Seconds = 1 },
            BaseEjectionTime = new Duration { Seconds = 2 },
            MaxEjectionTime = new Duration { Seconds = 3 },
            MaxEjectionPercent = 40,
            EnforcingSuccessRate = 90,
            SuccessRateStdevFactor = 1000,
            SuccessRateMinimumHosts = 2,
            SuccessRateRequestVolume = 20,
            EnforcingFailurePercentage = 80,
            FailurePercentageThreshold = 60,
            FailurePercentageMinimumHosts = 3,
            FailurePercentageRequestVolume = 30,
            Consecutive5Xx = 7,
        };

        var policy = Valid(cluster).OutlierDetection;

        Assert.Equal(
            new OutlierDetectionPolicy
            {
                Interval = TimeSpan.FromSeconds(1),
                BaseEjectionTime = TimeSpan.FromSeconds(2),
                MaxEjectionTime = TimeSpan.FromSeconds(3),
                MaxEjectionPercent = 40,
                SuccessRate = new SuccessRateEjection { EnforcementPercentage = 90, StdevFactor = 1000, MinimumHosts = 2, RequestVolume = 20 },
                FailurePercentage = new FailurePercentageEjection { EnforcementPercentage = 80, Threshold = 60, MinimumHosts = 3, RequestVolume = 30 },
            },
            policy);
    }

    [Fact]
    public void Decode_OutlierDetectionFailurePercentageDefaults()
    {
        var cluster = EdsCluster();
        cluster.OutlierDetection = new OutlierDetection { EnforcingSuccessRate = 0, EnforcingFailurePercentage = 100 };

        var policy = Valid(cluster).OutlierDetection!;

        Assert.Null(policy.SuccessRate);
        Assert.Equal(new FailurePercentageEjection { EnforcementPercentage = 100, Threshold = 85, MinimumHosts = 5, RequestVolume = 50 }, policy.FailurePercentage);
    }

    [Fact]
    public void Decode_OutlierDetectionBaseEjectionTimeAbove300s_MaxEjectionTimeFollowsIt()
    {
        var cluster = EdsCluster();
        cluster.OutlierDetection = new OutlierDetection { BaseEjectionTime = new Duration { Seconds = 400 } };

        Assert.Equal(TimeSpan.FromSeconds(400), Valid(cluster).OutlierDetection!.MaxEjectionTime);
    }

    [Theory]
    [InlineData("max_ejection_percent")]
    [InlineData("enforcing_success_rate")]
    [InlineData("failure_percentage_threshold")]
    [InlineData("enforcing_failure_percentage")]
    public void Decode_OutlierDetectionPercentAbove100_Error(string field)
    {
        var config = new OutlierDetection();
        switch (field)
        {
            case "max_ejection_percent":
                config.MaxEjectionPercent = 101;
                break;
            case "enforcing_success_rate":
                config.EnforcingSuccessRate = 101;
                break;
            case "failure_percentage_threshold":
                config.FailurePercentageThreshold = 101;
                break;
            default:
                config.EnforcingFailurePercentage = 101;
                break;
        }

        var cluster = EdsCluster();
        cluster.OutlierDetection = config;

        Assert.Equal($"outlier_detection.{field}: must be at most 100, found 101", Error(cluster));
    }

    [Theory]
    [InlineData("interval")]
    [InlineData("base_ejection_time")]
    [InlineData("max_ejection_time")]
    public void Decode_OutlierDetectionNegativeDuration_Error(string field)
    {
        var config = new OutlierDetection();
        var negative = new Duration { Seconds = -1 };
        switch (field)
        {
            case "interval":
                config.Interval = negative;
                break;
            case "base_ejection_time":
                config.BaseEjectionTime = negative;
                break;
            default:
                config.MaxEjectionTime = negative;
                break;
        }

        var cluster = EdsCluster();
        cluster.OutlierDetection = config;

        Assert.Equal($"outlier_detection.{field}.seconds: must be between 0 and 315576000000, found -1", Error(cluster));
    }

    [Fact]
    public void Decode_OutlierDetectionInvalidNanos_Error()
    {
        var cluster = EdsCluster();
        cluster.OutlierDetection = new OutlierDetection { Interval = new Duration { Nanos = 1_000_000_000 } };

        Assert.Equal("outlier_detection.interval.nanos: must be between 0 and 999999999, found 1000000000", Error(cluster));
    }
}
