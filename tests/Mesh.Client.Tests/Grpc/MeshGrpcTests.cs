using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Grpc;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Grpc;

public class MeshGrpcTests
{
    [Fact]
    public async Task GrpcClientFactory_XdsTarget_BalancesCallsOverEveryEndpoint()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())),
            services => services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///catalog")));
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        // Round robin picks among ready subchannels: wait until every backend has answered once.
        await WarmUpAsync(client, backends);
        var before = backends.Items.Select(b => b.Requests).ToArray();
        for (var i = 0; i < 300; i++)
        {
            await client.HelloAsync(new HelloRequest());
        }

        // With every subchannel ready, round robin gives each endpoint exactly a third.
        Assert.Equal([100, 100, 100], backends.Items.Select((b, i) => b.Requests - before[i]));
    }

    [Fact]
    public async Task GrpcChannelForAddress_WithServiceProvider_ResolvesThroughTheMesh()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())));
        using var channel = GrpcChannel.ForAddress("xds:///catalog", new GrpcChannelOptions
        {
            ServiceProvider = host.Services,
            Credentials = ChannelCredentials.Insecure,
        });
        var client = new Echo.EchoClient(channel);

        await WarmUpAsync(client, backends);
        var reply = await client.HelloAsync(new HelloRequest { Name = "x" });

        Assert.Equal("catalog", reply.Authority);
        Assert.Equal("hello x", reply.Message);
    }

    [Fact]
    public async Task ServerStreamingCall_StaysOnOneEndpoint()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", host.Services);
        var client = new Echo.EchoClient(channel);
        await WarmUpAsync(client, backends);

        var seenPerCall = new List<HashSet<string>>();
        for (var call = 0; call < 6; call++)
        {
            using var stream = client.Count(new CountRequest { Count = 20 });
            var seen = new HashSet<string>();
            await foreach (var reply in stream.ResponseStream.ReadAllAsync())
            {
                seen.Add(reply.Backend);
            }

            seenPerCall.Add(seen);
        }

        Assert.All(seenPerCall, s => Assert.Single(s));
        Assert.Equal(3, seenPerCall.Select(s => s.Single()).Distinct().Count());
    }

    [Fact]
    public async Task EndpointChange_KeepsSurvivingSubchannelsAndMovesTraffic()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(0, 1))));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", host.Services);
        var client = new Echo.EchoClient(channel);
        await Wait.UntilAsync(async () =>
        {
            await client.HelloAsync(new HelloRequest());
            return backends[0].Requests > 0 && backends[1].Requests > 0;
        }, "both initial endpoints to answer");
        var survivorConnections = backends[1].Connections;

        await host.WriteConfigAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(1, 2))));
        await Wait.UntilAsync(async () =>
        {
            await client.HelloAsync(new HelloRequest());
            return backends[2].Requests > 0;
        }, "the added endpoint to take calls");

        var removedBefore = backends[0].Requests;
        for (var i = 0; i < 30; i++)
        {
            await client.HelloAsync(new HelloRequest());
        }

        Assert.Equal(removedBefore, backends[0].Requests);
        Assert.Equal(survivorConnections, backends[1].Connections);
        Assert.Equal(1, backends[2].Connections);
    }

    [Fact]
    public async Task Call_UnknownService_FailsUnavailableNamingIt()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices("""  "catalog": { "Endpoints": [ "127.0.0.1:1" ] }  """));
        using var channel = MeshGrpc.CreateChannel("xds:///inventory", host.Services);
        var client = new Echo.EchoClient(channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("no mesh service named 'inventory'", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("The mesh's services are catalog.", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_EmptyMesh_FailsUnavailableSayingTheMeshHasNoServicesAndWhy()
    {
        await using var host = await MeshHost.StartAsync("""{ "Logging": { } }""");
        using var channel = MeshGrpc.CreateChannel("xds:///inventory", host.Services);
        var client = new Echo.EchoClient(channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("The mesh has no services at all: AddMesh() found neither services under Mesh:Services nor an xDS bootstrap", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_NoHealthyEndpoint_FailsUnavailable()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices("""
            "catalog": { "Endpoints": [ { "Address": "127.0.0.1:1", "Health": "Unhealthy" } ] }
            """));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", host.Services);
        var client = new Echo.EchoClient(channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("cluster 'catalog' has no healthy endpoint", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_RoutesByMethodPathAndMetadata()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "shop": { "Routes": [
              { "Match": { "Headers": { "x-beta": "true" } }, "Cluster": "v2" },
              { "Match": { "Path": "/mesh.samples.Echo/Count" }, "Cluster": "v2" },
              { "Match": { "PathPrefix": "/mesh.samples.Echo/" }, "Cluster": "v1" } ] },
            {{MeshJson.Service("v1", backends.EndpointsJson(0))}},
            {{MeshJson.Service("v2", backends.EndpointsJson(1))}}
            """));
        using var channel = MeshGrpc.CreateChannel("xds:///shop", host.Services);
        var client = new Echo.EchoClient(channel);

        var plain = await client.HelloAsync(new HelloRequest());
        var beta = await client.HelloAsync(new HelloRequest(), new Metadata { { "x-beta", "true" } });
        using var stream = client.Count(new CountRequest { Count = 1 });
        await stream.ResponseStream.MoveNext(CancellationToken.None);

        Assert.Equal(backends[0].Name, plain.Backend);
        Assert.Equal(backends[1].Name, beta.Backend);
        Assert.Equal(backends[1].Name, stream.ResponseStream.Current.Backend);
    }

    [Fact]
    public async Task Call_RingHash_KeepsEachKeyOnOneEndpointAndMatchesHttpClient()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(
            MeshJson.Service("catalog", backends.EndpointsJson(), """{ "Policy": "ring_hash", "HashHeader": "x-user" }""")));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", host.Services);
        var client = new Echo.EchoClient(channel);
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        for (var u = 0; u < 12; u++)
        {
            var user = $"user-{u}";
            var grpcOwners = new HashSet<string>();
            for (var i = 0; i < 5; i++)
            {
                grpcOwners.Add((await client.HelloAsync(new HelloRequest(), new Metadata { { "x-user", user } })).Backend);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, "http://catalog/whoami");
            request.Headers.Add("x-user", user);
            var httpOwner = (await (await http.SendAsync(request)).Content.ReadAsStringAsync()).Split(' ')[0];

            // The ring places every endpoint whether or not its connection is up yet, so even the first
            // calls land on the key's owner, the same endpoint the HttpClient front door picks.
            Assert.Equal(httpOwner, Assert.Single(grpcOwners));
        }
    }

    private static Task WarmUpAsync(Echo.EchoClient client, Backends backends) =>
        Wait.UntilAsync(async () =>
        {
            await client.HelloAsync(new HelloRequest());
            return backends.Items.All(b => b.Requests > 0);
        }, "every backend to answer a call");
}
