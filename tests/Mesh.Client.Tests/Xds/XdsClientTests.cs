using Grpc.Core;
using Mesh.Client.Grpc;
using Mesh.Client.Http;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Xds;

/// <summary>The xDS client against a real ADS server on 127.0.0.1, through both front doors.</summary>
public class XdsClientTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task GrpcTarget_ConfiguredByControlPlane_BalancesOverItsEndpointsAndAcksEveryType()
    {
        await using var mesh = await XdsMesh.StartAsync();
        var versions = mesh.SetService("catalog", "catalog-cluster", 0, 1, 2);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);

        await Wait.UntilAsync(async () =>
        {
            await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
            return mesh.Backends.Items.All(b => b.Requests > 0);
        }, "every backend to answer");

        foreach (var (type, version) in versions)
        {
            await mesh.Server.WaitForAckAsync(type, version);
        }

        var reply = await client.HelloAsync(new HelloRequest());
        Assert.Equal("catalog", reply.Authority);
        var xdsClient = Assert.Single(mesh.Server.Clients);
        Assert.Equal("mesh-test", xdsClient.NodeId);
        Assert.Equal("Mesh.Client", xdsClient.UserAgentName);
        Assert.Contains("envoy.lb.does_not_support_overprovisioning", xdsClient.ClientFeatures);
    }

    [Fact]
    public async Task HttpClient_IstioStyleName_IsLookedUpAndRoutedThroughTheControlPlane()
    {
        const string name = "catalog.shop.svc.cluster.local:8080";
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        mesh.SetService(name, "outbound|8080||catalog.shop.svc.cluster.local", 0, 1);
        var http = mesh.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var bodies = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            bodies.Add(await http.GetStringAsync($"http://{name}/whoami"));
        }

        Assert.All(bodies, b => Assert.EndsWith(" " + name, b, StringComparison.Ordinal));
        Assert.Equal(5, mesh.Backends[0].Requests);
        Assert.Equal(5, mesh.Backends[1].Requests);
    }

    [Fact]
    public async Task EndpointUpdate_MovesTrafficOfBothFrontDoorsLive()
    {
        const string name = "catalog.shop.svc.cluster.local";
        await using var mesh = await XdsMesh.StartAsync();
        mesh.SetService(name, "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel($"xds:///{name}", mesh.Services);
        var client = new Echo.EchoClient(channel);
        var http = mesh.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline)).Backend);
        Assert.StartsWith(mesh.Backends[0].Name, await http.GetStringAsync($"http://{name}/whoami"), StringComparison.Ordinal);

        var version = mesh.SetEndpoints("catalog-cluster", 2);
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.ClusterLoadAssignment, version);

        await Wait.UntilAsync(async () => (await client.HelloAsync(new HelloRequest())).Backend == mesh.Backends[2].Name, "gRPC calls to move");
        Assert.StartsWith(mesh.Backends[2].Name, await http.GetStringAsync($"http://{name}/whoami"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidUpdate_IsNackedWithReasonAndLastGoodConfigStays()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        var versions = mesh.SetService("catalog", "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);
        await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.Cluster, versions[TestingTypeUrls.Cluster]);

        // A STATIC cluster is not something a gRPC xDS client accepts.
        var bad = mesh.Server.SetResource(TestingTypeUrls.Cluster, "catalog-cluster", StaticCluster("catalog-cluster"));
        var nack = await mesh.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        Assert.Equal(versions[TestingTypeUrls.Cluster], nack.VersionInfo);
        Assert.Contains("resource 'catalog-cluster'", nack.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("STATIC", nack.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest())).Backend);
        Assert.Contains(mesh.Host.Logs.GetSnapshot(), r => r.Id.Id == 2002 && r.Message.Contains("catalog-cluster", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PartlyInvalidResponse_ValidResourcesAreStillUsed()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        mesh.SetService("a", "cluster-a", 0);
        mesh.SetService("b", "cluster-b", 0);
        using var channelA = MeshGrpc.CreateChannel("xds:///a", mesh.Services);
        using var channelB = MeshGrpc.CreateChannel("xds:///b", mesh.Services);
        var clientA = new Echo.EchoClient(channelA);
        var clientB = new Echo.EchoClient(channelB);
        await clientA.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
        await clientB.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        // One response: cluster-a becomes invalid, cluster-b moves to EDS "cluster-b-v2" (backend 1).
        var versions = mesh.Server.Update(set => set
            .Set(TestingTypeUrls.Cluster, "cluster-a", StaticCluster("cluster-a"))
            .Set(XdsResources.Cluster("cluster-b", "cluster-b-v2", http2: true))
            .Set(XdsResources.ClusterLoadAssignment("cluster-b-v2", mesh.Backends[1].Address)));
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Cluster, versions[TestingTypeUrls.Cluster]);

        await Wait.UntilAsync(async () => (await clientB.HelloAsync(new HelloRequest())).Backend == mesh.Backends[1].Name, "the valid cluster of the NACKed response to be used");
        Assert.Equal(mesh.Backends[0].Name, (await clientA.HelloAsync(new HelloRequest())).Backend);
    }

    [Fact]
    public async Task OneAdsStream_IsSharedByEveryChannelAndHttpClient()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        mesh.SetService("a", "cluster-a", 0);
        mesh.SetService("b.default.svc.cluster.local", "cluster-b", 0);
        using var one = MeshGrpc.CreateChannel("xds:///a", mesh.Services);
        using var two = MeshGrpc.CreateChannel("xds:///a", mesh.Services);
        await new Echo.EchoClient(one).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
        await new Echo.EchoClient(two).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
        await mesh.Services.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync("http://b.default.svc.cluster.local/whoami");

        Assert.Single(mesh.Server.Clients);
        Assert.Equal(1, mesh.Server.ActiveStreams);
    }

    [Fact]
    public async Task ControlPlaneOutage_TrafficWithConfigKeepsFlowing_AndClientResubscribesOnReturn()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 2);
        mesh.SetService("catalog", "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);
        var http = mesh.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        await mesh.Server.StopAsync();
        await Wait.UntilAsync(() => mesh.Host.Logs.GetSnapshot().Any(r => r.Id.Id == 2005), "the client to notice the outage");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest())).Backend);
        }

        // A new name has no configuration while the control plane is down: the call fails naming the server.
        using var other = MeshGrpc.CreateChannel("xds:///inventory", mesh.Services);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new Echo.EchoClient(other).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains($"xDS server {mesh.Server.ServerUri}", ex.Status.Detail, StringComparison.Ordinal);
        var httpEx = await Assert.ThrowsAsync<MeshRequestException>(() => http.GetAsync("http://inventory.default.svc.cluster.local/"));
        Assert.Contains($"xDS server {mesh.Server.ServerUri}", httpEx.Message, StringComparison.Ordinal);

        await mesh.Server.RestartAsync();
        var version = mesh.SetEndpoints("catalog-cluster", 1);
        await Wait.UntilAsync(async () => (await client.HelloAsync(new HelloRequest())).Backend == mesh.Backends[1].Name, "updates to flow after the control plane returns");
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.ClusterLoadAssignment, version);
    }

    [Fact]
    public async Task UnknownName_GrpcFailsUnavailable_HttpClientPassesThrough()
    {
        await using var plain = await EchoBackend.StartAsync("plain", protocols: Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(
            backends: 1,
            configure: services => services
                .AddSingleton<TimeProvider>(time)
                .Configure<Mesh.Client.Configuration.MeshOptions>(o => o.Xds.HttpHosts.Add("localhost:*")));
        mesh.SetService("catalog", "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///inventory", mesh.Services);
        var authority = $"localhost:{plain.Port}";

        // A name never sent is taken not to exist when its timer runs out (the server's LDS responses
        // may predate the subscription, so an absence alone proves nothing).
        var call = new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync;
        var request = mesh.Services.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync($"http://{authority}/whoami");
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Listener && r.ResourceNames.Contains("inventory") && r.ResourceNames.Contains(authority));
        time.Advance(Mesh.Client.Xds.Internal.XdsClient.DoesNotExistTimeout);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.DefaultTimeout("the call to fail"));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains($"xDS server {mesh.Server.ServerUri}: listener 'inventory' does not exist", ex.Status.Detail, StringComparison.Ordinal);

        // localhost:port matches the configured pattern, so it was asked of the control plane; the answer is
        // "does not exist", and the request goes where it was addressed.
        Assert.Equal($"plain {authority}", await request.DefaultTimeout("the passed-through request"));
        Assert.True(mesh.Services.GetRequiredService<MeshRuntime>().Current.Snapshot.FailedServices[authority].DoesNotExist);
    }

    [Fact]
    public async Task ResourceNeverSent_IsTakenNotToExistAfterTheTimer()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: services => services.AddSingleton<TimeProvider>(time));

        // Listener, routes and cluster exist; the cluster's endpoints are never sent (EDS responses carry only
        // what exists, so silence is all the client hears).
        mesh.Server.Update(set => set
            .Set(XdsResources.Listener("catalog", "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog", "catalog-cluster"))
            .Set(XdsResources.Cluster("catalog-cluster", http2: true)));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var call = new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync;
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.ClusterLoadAssignment && r.ResourceNames.Contains("catalog-cluster"));
        Assert.False(call.IsCompleted);

        time.Advance(Mesh.Client.Xds.Internal.XdsClient.DoesNotExistTimeout);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.DefaultTimeout("the call to fail"));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("cluster 'catalog-cluster' has no healthy endpoint", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(mesh.Host.Logs.GetSnapshot(), r => r.Id.Id == 2008 && r.Message.Contains("EDS resource 'catalog-cluster' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FirstRequest_WaitsForConfigurationThatArrivesLater()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        using var channel = MeshGrpc.CreateChannel("xds:///late", mesh.Services);
        var client = new Echo.EchoClient(channel);

        var call = client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync;
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Listener && r.ResourceNames.Contains("late"));
        Assert.False(call.IsCompleted);

        // Set the chain bottom-up, as a careful control plane would; the call completes once it is whole.
        mesh.Server.SetResource(XdsResources.ClusterLoadAssignment("late-cluster", mesh.Backends[0].Address));
        mesh.Server.SetResource(XdsResources.Cluster("late-cluster", http2: true));
        mesh.Server.SetResource(XdsResources.RouteConfiguration("late-routes", "late", "late-cluster"));
        mesh.Server.SetResource(XdsResources.Listener("late", "late-routes"));

        Assert.Equal(mesh.Backends[0].Name, (await call.DefaultTimeout("the waiting call")).Backend);
    }

    [Fact]
    public async Task ListenerDeleted_WithIgnoreResourceDeletion_IsKept()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1, serverFeatures: ["ignore_resource_deletion"]);
        mesh.SetService("catalog", "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);
        await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        var version = mesh.Server.RemoveResource(TestingTypeUrls.Listener, "catalog");
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.Listener, version);

        Assert.Equal(mesh.Backends[0].Name, (await client.HelloAsync(new HelloRequest())).Backend);
        Assert.Contains(mesh.Host.Logs.GetSnapshot(), r => r.Id.Id == 2009);
    }

    [Fact]
    public async Task ListenerDeleted_WithoutIgnoreResourceDeletion_CallsFail()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        mesh.SetService("catalog", "catalog-cluster", 0);
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", mesh.Services);
        var client = new Echo.EchoClient(channel);
        await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        mesh.Server.RemoveResource(TestingTypeUrls.Listener, "catalog");

        await Wait.UntilAsync(async () =>
        {
            try
            {
                await client.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                return false;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                return ex.Status.Detail.Contains("listener 'catalog' does not exist", StringComparison.Ordinal);
            }
        }, "calls to fail once the listener is deleted");
    }

    [Fact]
    public async Task UnixSocketServerUri_AsIstiosAgentWritesIt_Works()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"mesh-xds-{Guid.NewGuid():N}.sock");
        await using var server = await XdsTestServer.StartAsync(unixSocketPath: socket);
        await using var backends = await Backends.StartAsync(1);
        server.Update(set => set
            .Set(XdsResources.Listener("catalog", "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog", "c"))
            .Set(XdsResources.Cluster("c", http2: true))
            .Set(XdsResources.ClusterLoadAssignment("c", backends[0].Address)));
        var bootstrap = server.CreateBootstrapJson("unix-node", useUnixSocket: true);
        Assert.Contains($"\"server_uri\": \"unix://{socket}\"", bootstrap, StringComparison.Ordinal);
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(bootstrap));
        using var channel = MeshGrpc.CreateChannel("xds:///catalog", host.Services);

        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);

        Assert.Equal(backends[0].Name, reply.Backend);
        Assert.Equal("unix-node", Assert.Single(server.Clients).NodeId);
    }

    [Fact]
    public async Task InvalidBootstrap_StopsStartUpNamingTheField()
    {
        await using var host = await MeshHost.StartAsync(
            XdsMesh.AppSettings("""{ "xds_servers": [ { "server_uri": "127.0.0.1:1", "channel_creds": [ { "type": "google_default" } ] } ] }"""),
            start: false);

        var ex = await Assert.ThrowsAsync<Mesh.Client.Xds.XdsBootstrapException>(() => host.Host.StartAsync());

        Assert.Equal(
            "xDS bootstrap (Mesh:Xds:Bootstrap): xds_servers[0].channel_creds: no supported type among [\"google_default\"]; supported: insecure, tls",
            ex.Message);
    }

    [Fact]
    public async Task AuthorityTarget_WatchesTheAuthoritysXdstpListener()
    {
        await using var server = await XdsTestServer.StartAsync();
        await using var backends = await Backends.StartAsync(1);
        const string listener = "xdstp://corp/envoy.config.listener.v3.Listener/catalog.shop:8080";
        server.Update(set => set
            .Set(XdsResources.Listener(listener, "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "catalog.shop:8080", "c"))
            .Set(XdsResources.Cluster("c", http2: true))
            .Set(XdsResources.ClusterLoadAssignment("c", backends[0].Address)));
        var bootstrap = System.Text.Json.Nodes.JsonNode.Parse(server.CreateBootstrapJson())!.AsObject();
        bootstrap["authorities"] = System.Text.Json.Nodes.JsonNode.Parse("""{ "corp": {} }""");
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(bootstrap.ToJsonString()));
        using var channel = MeshGrpc.CreateChannel("xds://corp/catalog.shop:8080", host.Services);
        using var unknown = MeshGrpc.CreateChannel("xds://elsewhere/catalog", host.Services);

        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline);
        var ex = await Assert.ThrowsAsync<RpcException>(() => new Echo.EchoClient(unknown).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow + Deadline).ResponseAsync);

        Assert.Equal(backends[0].Name, reply.Backend);
        Assert.Equal("catalog.shop:8080", reply.Authority);
        Assert.Contains(server.Clients[0].Requests, r => r.ResourceNames.Contains(listener));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("authority 'elsewhere' is not in the xDS bootstrap's authorities", ex.Status.Detail, StringComparison.Ordinal);
    }

    private static Google.Protobuf.WellKnownTypes.Any StaticCluster(string name) =>
        Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Config.Cluster.V3.Cluster
        {
            Name = name,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Static,
        });
}
