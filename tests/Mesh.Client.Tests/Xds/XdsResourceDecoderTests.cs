using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Tests.Xds;

public class XdsResourceDecoderTests
{
    private static Cluster EdsCluster(string name) => new()
    {
        Name = name,
        Type = Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } },
    };

    [Fact]
    public void Decode_ResourceWrapper_Unwrapped()
    {
        var wrapped = Any.Pack(new Resource { Version = "1", Resource_ = Any.Pack(EdsCluster("c1")) });

        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, wrapped);

        Assert.Equal("c1", result.Name);
        Assert.Null(result.Error);
        Assert.Equal(XdsClusterKind.Eds, Assert.IsType<XdsClusterUpdate>(result.Update).Kind);
    }

    [Fact]
    public void Decode_ResourceWrapperWithName_WrapperNameWins()
    {
        var wrapped = Any.Pack(new Resource { Name = "xdstp://authority/envoy.config.route.v3.RouteConfiguration/rc", Resource_ = Any.Pack(new RouteConfiguration { Name = "rc" }) });

        var result = XdsResourceDecoder.Decode(XdsTypeUrls.RouteConfiguration, wrapped);

        Assert.Equal("xdstp://authority/envoy.config.route.v3.RouteConfiguration/rc", result.Name);
        Assert.IsType<XdsRouteConfigUpdate>(result.Update);
    }

    [Fact]
    public void Decode_ResourceWrapperWithoutResource_Error()
    {
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(new Resource { Name = "c1" }));

        Assert.Equal("c1", result.Name);
        Assert.Null(result.Update);
        Assert.Equal("the envoy.service.discovery.v3.Resource wrapper has no resource", result.Error);
    }

    [Fact]
    public void Decode_TypeUrlMismatch_Error()
    {
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(new ClusterLoadAssignment { ClusterName = "c1" }));

        Assert.Null(result.Name);
        Assert.Null(result.Update);
        Assert.Equal(
            "the resource's type_url \"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\" differs from the response's type_url \"type.googleapis.com/envoy.config.cluster.v3.Cluster\"",
            result.Error);
    }

    [Fact]
    public void Decode_WrappedTypeUrlMismatch_ErrorKeepsWrapperName()
    {
        var wrapped = Any.Pack(new Resource { Name = "c1", Resource_ = Any.Pack(new RouteConfiguration { Name = "c1" }) });

        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, wrapped);

        Assert.Equal("c1", result.Name);
        Assert.StartsWith("the resource's type_url \"type.googleapis.com/envoy.config.route.v3.RouteConfiguration\" differs", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_UnparsableResource_Error()
    {
        var broken = new Any { TypeUrl = XdsTypeUrls.Cluster, Value = ByteString.CopyFrom(0x0A, 0x05, 0x61) };

        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, broken);

        Assert.Null(result.Name);
        Assert.StartsWith("cannot parse the envoy.config.cluster.v3.Cluster: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ResourceWithoutName_Error()
    {
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(EdsCluster("")));

        Assert.Null(result.Name);
        Assert.Equal("the envoy.config.cluster.v3.Cluster has no name", result.Error);
    }

    [Fact]
    public void Decode_InvalidResource_NameStillReported()
    {
        var cluster = EdsCluster("c1");
        cluster.Type = Cluster.Types.DiscoveryType.Static;

        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(cluster));

        Assert.Equal("c1", result.Name);
        Assert.Null(result.Update);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public void Decode_UnknownTypeUrl_Error()
    {
        const string TypeUrl = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

        var result = XdsResourceDecoder.Decode(TypeUrl, new Any { TypeUrl = TypeUrl });

        Assert.Equal($"unsupported resource type \"{TypeUrl}\"", result.Error);
    }
}
