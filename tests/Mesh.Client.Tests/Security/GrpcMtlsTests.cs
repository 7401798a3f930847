using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Grpc;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;

namespace Mesh.Client.Tests.Security;

/// <summary>gRPC channels to clusters over mutual TLS, beside plaintext clusters, against real Kestrel backends.</summary>
public sealed class GrpcMtlsTests : MtlsTestBase
{
    protected override string[] GrpcClients => ["secure"];

    [Fact]
    public async Task CreateChannel_MutualTlsCluster_ServerVerifiesTheClientsSpiffeId()
    {
        await using var backend = await Kit.StartBackendAsync("secure-1");
        TlsKit.Publish(Runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = MeshGrpc.CreateChannel("xds:///secure", Services);

        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest { Name = "x" }, deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("secure-1", reply.Backend);
        Assert.Equal(1, backend.ClientIdentities[TlsKit.ClientId]);
    }

    [Fact]
    public async Task ClientFactory_MutualTlsCluster_Works()
    {
        await using var backend = await Kit.StartBackendAsync("secure-1");
        TlsKit.Publish(Runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        var client = Grpc("secure");

        var reply = await client.HelloAsync(new HelloRequest { Name = "x" }, deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("secure-1", reply.Backend);
        Assert.True(backend.ClientIdentities.ContainsKey(TlsKit.ClientId));
    }

    [Fact]
    public async Task ChannelWithoutAReachableHandler_FailsClosedWithTheReason()
    {
        await using var backend = await Kit.StartBackendAsync("secure-1");
        TlsKit.Publish(Runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = GrpcChannel.ForAddress("xds:///secure", new GrpcChannelOptions { ServiceProvider = Services, Credentials = ChannelCredentials.Insecure });

        var ex = await Assert.ThrowsAsync<RpcException>(() => new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("requires TLS", ex.Status.Detail);
        Assert.Contains("MeshGrpc.CreateChannel", ex.Status.Detail);
        Assert.Equal(0, backend.Requests);
        Assert.Equal(0, backend.Connections);
    }

    [Fact]
    public async Task WrongServerSan_CallFailsWithTheReason()
    {
        await using var backend = await Kit.StartBackendAsync("secure-1", () => Kit.Ca.Issue("spiffe://cluster.local/ns/default/sa/impostor", ["localhost"]));
        TlsKit.Publish(Runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = MeshGrpc.CreateChannel("xds:///secure", Services);

        var ex = await Assert.ThrowsAsync<RpcException>(() => new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.True(ex.StatusCode == StatusCode.Unavailable, ex.ToString());
        Assert.Contains("impostor", ex.Status.Detail + ex.Status.DebugException);
        Assert.Equal(0, backend.Requests);
    }
}
