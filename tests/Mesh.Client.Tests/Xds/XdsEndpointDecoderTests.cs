using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Tests.Xds;

public class XdsEndpointDecoderTests
{
    private static LbEndpoint Endpoint(string host, uint port, uint? weight = null, HealthStatus health = HealthStatus.Unknown) => new()
    {
        Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = port } } },
        LoadBalancingWeight = weight,
        HealthStatus = health,
    };

    private static LocalityLbEndpoints Locality(string zone, uint? weight = 1, uint priority = 0, params LbEndpoint[] endpoints)
    {
        var locality = new LocalityLbEndpoints
        {
            Locality = new Locality { Region = "r1", Zone = zone },
            LoadBalancingWeight = weight,
            Priority = priority,
        };
        locality.LbEndpoints.Add(endpoints);
        return locality;
    }

    private static ClusterLoadAssignment Assignment(params LocalityLbEndpoints[] localities)
    {
        var assignment = new ClusterLoadAssignment { ClusterName = "echo" };
        assignment.Endpoints.Add(localities);
        return assignment;
    }

    private static XdsDecodeResult Decode(ClusterLoadAssignment assignment) =>
        XdsResourceDecoder.Decode(XdsTypeUrls.ClusterLoadAssignment, Any.Pack(assignment));

    private static IReadOnlyList<MeshPriority> Priorities(params LocalityLbEndpoints[] localities)
    {
        var result = Decode(Assignment(localities));
        Assert.Null(result.Error);
        Assert.Equal("echo", result.Name);
        return Assert.IsType<XdsEndpointUpdate>(result.Update).Priorities;
    }

    private static string Error(params LocalityLbEndpoints[] localities)
    {
        var result = Decode(Assignment(localities));
        Assert.Null(result.Update);
        Assert.Equal("echo", result.Name);
        return Assert.IsType<string>(result.Error);
    }

    [Fact]
    public void Decode_PrioritiesAndLocalities_GroupedInPriorityOrder()
    {
        var priorities = Priorities(
            Locality("z2", weight: 1, priority: 1, Endpoint("10.0.1.1", 80)),
            Locality("z1", weight: 3, priority: 0, Endpoint("10.0.0.1", 80, weight: 5), Endpoint("10.0.0.2", 8080)),
            Locality("z3", weight: 2, priority: 0, Endpoint("10.0.2.1", 80)));

        Assert.Equal(2, priorities.Count);
        Assert.Collection(
            priorities[0].Localities,
            z1 =>
            {
                Assert.Equal(new LocalityName("r1", "z1"), z1.Name);
                Assert.Equal(3u, z1.Weight);
                Assert.Equal(
                    [new MeshEndpoint { Host = "10.0.0.1", Port = 80, Weight = 5, Health = EndpointHealth.Unknown }, new MeshEndpoint { Host = "10.0.0.2", Port = 8080, Weight = 1, Health = EndpointHealth.Unknown }],
                    z1.Endpoints);
            },
            z3 => Assert.Equal(new LocalityName("r1", "z3"), z3.Name));
        var z2 = Assert.Single(priorities[1].Localities);
        Assert.Equal(new LocalityName("r1", "z2"), z2.Name);
    }

    [Fact]
    public void Decode_EmptyAssignment_NoPriorities()
    {
        Assert.Empty(Priorities());
    }

    [Fact]
    public void Decode_LocalityWithoutEndpoints_KeptEmpty()
    {
        var locality = Assert.Single(Assert.Single(Priorities(Locality("z1"))).Localities);

        Assert.Empty(locality.Endpoints);
    }

    [Fact]
    public void Decode_PriorityGap_Error()
    {
        Assert.Equal(
            "endpoints: priorities must be contiguous: found 0, 2",
            Error(Locality("z1", priority: 0, endpoints: Endpoint("10.0.0.1", 80)), Locality("z2", priority: 2, endpoints: Endpoint("10.0.0.2", 80))));
    }

    [Fact]
    public void Decode_OnlyPriority1_Error()
    {
        Assert.Equal("endpoints: priorities must be contiguous: found 1", Error(Locality("z1", priority: 1, endpoints: Endpoint("10.0.0.1", 80))));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(null)]
    public void Decode_LocalityWithoutWeight_LeftOut(uint? weight)
    {
        var priorities = Priorities(Locality("z1", endpoints: Endpoint("10.0.0.1", 80)), Locality("z2", weight: weight, endpoints: Endpoint("10.0.0.2", 80)));

        Assert.Equal(new LocalityName("r1", "z1"), Assert.Single(Assert.Single(priorities).Localities).Name);
    }

    [Fact]
    public void Decode_PriorityOfOnlyWeightlessLocalities_LeavesAGap()
    {
        Assert.Equal(
            "endpoints: priorities must be contiguous: found 0, 2",
            Error(Locality("z1", priority: 0), Locality("z2", weight: 0, priority: 1), Locality("z3", priority: 2)));
    }

    [Fact]
    public void Decode_DuplicateLocalityInAPriority_Error()
    {
        Assert.Equal(
            "endpoints[1]: duplicate locality {region=r1, zone=z1, sub_zone=} in priority 0",
            Error(Locality("z1", endpoints: Endpoint("10.0.0.1", 80)), Locality("z1", endpoints: Endpoint("10.0.0.2", 80))));
    }

    [Fact]
    public void Decode_SameLocalityInTwoPriorities_Accepted()
    {
        Assert.Equal(2, Priorities(Locality("z1", priority: 0), Locality("z1", priority: 1)).Count);
    }

    [Fact]
    public void Decode_LocalityWithoutLocalityName_Error()
    {
        var locality = Locality("z1");
        locality.Locality = null;

        Assert.Equal("endpoints[0].locality: field not present", Error(locality));
    }

    [Fact]
    public void Decode_LocalityWeightsAboveUInt32_Error()
    {
        Assert.Equal(
            "endpoints: the sum of the locality weights of priority 0 (4294967296) must not exceed 4294967295",
            Error(Locality("z1", weight: uint.MaxValue), Locality("z2", weight: 1)));
    }

    [Fact]
    public void Decode_EndpointWithoutAddress_Error()
    {
        var endpoint = new LbEndpoint { Endpoint = new Endpoint() };

        Assert.Equal("endpoints[0].lb_endpoints[0].endpoint.address: field not present", Error(Locality("z1", endpoints: endpoint)));
    }

    [Fact]
    public void Decode_EndpointWithoutSocketAddress_Error()
    {
        var endpoint = new LbEndpoint { Endpoint = new Endpoint { Address = new Address() } };

        Assert.Equal("endpoints[0].lb_endpoints[0].endpoint.address.socket_address: field not present", Error(Locality("z1", endpoints: endpoint)));
    }

    [Fact]
    public void Decode_LbEndpointWithoutEndpoint_Error()
    {
        Assert.Equal("endpoints[0].lb_endpoints[0].endpoint: field not present", Error(Locality("z1", endpoints: new LbEndpoint())));
    }

    [Fact]
    public void Decode_EndpointWithoutPort_Error()
    {
        var endpoint = Endpoint("10.0.0.1", 80);
        endpoint.Endpoint.Address.SocketAddress.ClearPortValue();

        Assert.Equal("endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: field not present", Error(Locality("z1", endpoints: endpoint)));
    }

    [Fact]
    public void Decode_EndpointPortOutOfRange_Error()
    {
        Assert.Equal(
            "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be at most 65535, found 65536",
            Error(Locality("z1", endpoints: Endpoint("10.0.0.1", 65536))));
    }

    [Fact]
    public void Decode_EndpointPortZero_IsAcceptedButNeverUsable()
    {
        var endpoint = Priorities(Locality("z1", endpoints: Endpoint("10.0.0.1", 0)))[0].Localities[0].Endpoints[0];

        // Envoy and both reference clients accept port 0; such an endpoint is never picked.
        Assert.Equal(0, endpoint.Port);
        Assert.False(endpoint.IsUsable);
    }

    [Fact]
    public void Decode_EndpointWithEmptyAddress_Error()
    {
        Assert.Equal("endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be non-empty", Error(Locality("z1", endpoints: Endpoint("", 80))));
    }

    [Fact]
    public void Decode_EndpointWeightZero_Error()
    {
        Assert.Equal("endpoints[0].lb_endpoints[0].load_balancing_weight: must be 1 or more", Error(Locality("z1", endpoints: Endpoint("10.0.0.1", 80, weight: 0))));
    }

    [Fact]
    public void Decode_DuplicateAddressAcrossPriorities_Error()
    {
        Assert.Equal(
            "endpoints[1].lb_endpoints[0].endpoint.address: duplicate endpoint address \"10.0.0.1:80\"",
            Error(Locality("z1", priority: 0, endpoints: Endpoint("10.0.0.1", 80)), Locality("z2", priority: 1, endpoints: Endpoint("10.0.0.1", 80))));
    }

    [Fact]
    public void Decode_SameHostOtherPort_NotADuplicate()
    {
        var locality = Assert.Single(Assert.Single(Priorities(Locality("z1", endpoints: [Endpoint("10.0.0.1", 80), Endpoint("10.0.0.1", 81)]))).Localities);

        Assert.Equal(2, locality.Endpoints.Count);
    }

    [Fact]
    public void Decode_Ipv6SpelledTwoWays_Duplicate()
    {
        Assert.Equal(
            "endpoints[0].lb_endpoints[1].endpoint.address: duplicate endpoint address \"[::1]:80\"",
            Error(Locality("z1", endpoints: [Endpoint("::1", 80), Endpoint("0:0:0:0:0:0:0:1", 80)])));
    }

    [Fact]
    public void Decode_Ipv6_HostWithoutBrackets()
    {
        var endpoint = Assert.Single(Assert.Single(Assert.Single(Priorities(Locality("z1", endpoints: Endpoint("fd00:0:0::1", 80)))).Localities).Endpoints);

        Assert.Equal("fd00::1", endpoint.Host);
        Assert.Equal("[fd00::1]:80", endpoint.Address);
    }

    [Fact]
    public void Decode_Hostname_NotUsedForTheAddress()
    {
        var lbEndpoint = Endpoint("10.0.0.1", 80);
        lbEndpoint.Endpoint.Hostname = "pod-1.echo";

        var endpoint = Assert.Single(Assert.Single(Assert.Single(Priorities(Locality("z1", endpoints: lbEndpoint))).Localities).Endpoints);

        Assert.Equal("10.0.0.1", endpoint.Host);
    }

    [Theory]
    [InlineData((int)HealthStatus.Unknown, EndpointHealth.Unknown)]
    [InlineData((int)HealthStatus.Healthy, EndpointHealth.Healthy)]
    [InlineData((int)HealthStatus.Unhealthy, EndpointHealth.Unhealthy)]
    [InlineData((int)HealthStatus.Draining, EndpointHealth.Draining)]
    [InlineData((int)HealthStatus.Timeout, EndpointHealth.Timeout)]
    [InlineData((int)HealthStatus.Degraded, EndpointHealth.Degraded)]
    [InlineData(9, EndpointHealth.Unhealthy)]
    public void Decode_HealthStatus_MapsToEndpointHealth(int status, EndpointHealth expected)
    {
        var endpoint = Assert.Single(Assert.Single(Assert.Single(Priorities(Locality("z1", endpoints: Endpoint("10.0.0.1", 80, health: (HealthStatus)status)))).Localities).Endpoints);

        Assert.Equal(expected, endpoint.Health);
    }

    [Fact]
    public void Decode_HashKeyMetadata_SetsHashKey()
    {
        var withKey = Endpoint("10.0.0.1", 80);
        withKey.Metadata = new Metadata();
        withKey.Metadata.FilterMetadata["envoy.lb"] = new Struct { Fields = { ["hash_key"] = Value.ForString("pod-1") } };
        var nonString = Endpoint("10.0.0.2", 80);
        nonString.Metadata = new Metadata();
        nonString.Metadata.FilterMetadata["envoy.lb"] = new Struct { Fields = { ["hash_key"] = Value.ForNumber(7) } };
        var otherNamespace = Endpoint("10.0.0.3", 80);
        otherNamespace.Metadata = new Metadata();
        otherNamespace.Metadata.FilterMetadata["istio"] = new Struct { Fields = { ["hash_key"] = Value.ForString("x") } };

        var endpoints = Assert.Single(Assert.Single(Priorities(Locality("z1", endpoints: [withKey, nonString, otherNamespace, Endpoint("10.0.0.4", 80)]))).Localities).Endpoints;

        Assert.Equal(["pod-1", null, null, null], endpoints.Select(e => e.HashKey));
    }

    [Fact]
    public void Decode_SeveralBadEndpoints_AllReported()
    {
        var error = Error(Locality("z1", endpoints: [Endpoint("", 80), Endpoint("10.0.0.1", 70000)]));

        Assert.Equal(
            "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be non-empty; "
            + "endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: must be at most 65535, found 70000",
            error);
    }
}
