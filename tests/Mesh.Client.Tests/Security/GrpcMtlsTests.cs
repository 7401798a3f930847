using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Grpc;
using Mesh.Client.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Security;

/// <summary>gRPC channels to clusters over mutual TLS, beside plaintext clusters, against real Kestrel backends.</summary>
public sealed class GrpcMtlsTests : IAsyncLifetime
{
    private readonly TlsKit _kit = new();
    private ServiceProvider _services = null!;
    private MeshRuntime _runtime = null!;

    public Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMesh(_ => { });
        services.AddGrpcClient<Echo.EchoClient>("secure", o => o.Address = new Uri("xds:///secure"));
        _services = services.BuildServiceProvider();
        _runtime = _services.GetRequiredService<MeshRuntime>();
        _runtime.Certificates.Register("default", _kit.ProviderSettings());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _kit.Dispose();
    }

    [Fact]
    public async Task CreateChannel_MutualTlsCluster_ServerVerifiesTheClientsSpiffeId()
    {
        await using var backend = await _kit.StartBackendAsync("secure-1");
        TlsKit.Publish(_runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = MeshGrpc.CreateChannel("xds:///secure", _services);

        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest { Name = "x" }, deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("secure-1", reply.Backend);
        Assert.Equal(1, backend.ClientIdentities[TlsKit.ClientId]);
    }

    [Fact]
    public async Task ClientFactory_MutualTlsCluster_Works()
    {
        await using var backend = await _kit.StartBackendAsync("secure-1");
        TlsKit.Publish(_runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        var client = _services.GetRequiredService<global::Grpc.Net.ClientFactory.GrpcClientFactory>().CreateClient<Echo.EchoClient>("secure");

        var reply = await client.HelloAsync(new HelloRequest { Name = "x" }, deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("secure-1", reply.Backend);
        Assert.True(backend.ClientIdentities.ContainsKey(TlsKit.ClientId));
    }

    [Fact]
    public async Task ChannelWithoutAReachableHandler_FailsClosedWithTheReason()
    {
        await using var backend = await _kit.StartBackendAsync("secure-1");
        TlsKit.Publish(_runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = GrpcChannel.ForAddress("xds:///secure", new GrpcChannelOptions { ServiceProvider = _services, Credentials = ChannelCredentials.Insecure });

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
        await using var backend = await _kit.StartBackendAsync("secure-1", () => _kit.Ca.Issue("spiffe://cluster.local/ns/default/sa/impostor", ["localhost"]));
        TlsKit.Publish(_runtime, ("secure", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        using var channel = MeshGrpc.CreateChannel("xds:///secure", _services);

        var ex = await Assert.ThrowsAsync<RpcException>(() => new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.True(ex.StatusCode == StatusCode.Unavailable, ex.ToString());
        Assert.Contains("impostor", ex.Status.Detail + ex.Status.DebugException);
        Assert.Equal(0, backend.Requests);
    }
}
