using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Grpc.Core;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using XdsBootstrapParser = Mesh.Client.Xds.Internal.XdsBootstrapParser;

namespace Mesh.Client.Tests.Testing;

public sealed class XdsTestServerTests
{
    private const string Lds = XdsTypeUrls.Listener;
    private const string Rds = XdsTypeUrls.RouteConfiguration;
    private const string Cds = XdsTypeUrls.Cluster;
    private const string Eds = XdsTypeUrls.ClusterLoadAssignment;

    [Fact]
    public async Task Subscribe_ListenerByName_ReceivesListenerAndRecordsAck()
    {
        // Arrange
        await using var server = await XdsTestServer.StartAsync();
        var version = server.SetResource(XdsResources.Listener("catalog", "catalog-routes"));
        server.SetResource(XdsResources.Listener("other", "other-routes"));
        await using var client = AdsTestStream.Open(server, "node-a");

        // Act
        await client.SubscribeAsync(Lds, "catalog");
        var response = await client.NextAsync();
        await client.AckAsync(response, "catalog");
        var ack = await server.WaitForAckAsync(Lds, response.VersionInfo);

        // Assert
        Assert.Equal("1", version);
        Assert.Equal("2", response.VersionInfo);
        Assert.Equal(Lds, response.TypeUrl);
        Assert.NotEmpty(response.Nonce);
        Assert.Equal("Mesh.Client.Testing", response.ControlPlane.Identifier);
        var listener = Assert.Single(response.Resources).Unpack<Listener>();
        Assert.Equal("catalog", listener.Name);

        Assert.Equal(XdsRequestKind.Ack, ack.Kind);
        Assert.Equal(response.Nonce, ack.ResponseNonce);
        Assert.Equal("node-a", ack.NodeId);
        var record = Assert.Single(server.Clients);
        Assert.True(record.IsConnected);
        Assert.Equal("node-a", record.NodeId);
        Assert.Equal("test-cluster", record.NodeCluster);
        Assert.Contains("envoy.lb.does_not_support_overprovisioning", record.ClientFeatures);
        Assert.Equal([XdsRequestKind.Subscribe, XdsRequestKind.Ack], record.Requests.Select(r => r.Kind));
        Assert.Equal(["catalog"], record.Requests[0].ResourceNames);
        Assert.Equal(1, server.ActiveStreams);
    }

    [Fact]
    public async Task SetResource_SubscribedStream_PushesNewVersionWithNewNonce()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Cluster("c1"));
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Cds, "c1");
        var first = await client.NextAsync();
        await client.AckAsync(first, "c1");
        await server.WaitForAckAsync(Cds, first.VersionInfo);

        var version = server.SetResource(XdsResources.Cluster("c1", lbPolicy: "ring_hash"));
        var second = await client.NextAsync("the pushed CDS version");

        Assert.Equal("2", version);
        Assert.Equal("2", second.VersionInfo);
        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.Equal(Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RingHash, Assert.Single(second.Resources).Unpack<Envoy.Config.Cluster.V3.Cluster>().LbPolicy);
    }

    [Fact]
    public async Task WaitForNackAsync_ClientRejectsVersion_CompletesWithRecord()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Cluster("c1"));
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Cds, "c1");
        var good = await client.NextAsync();
        await client.AckAsync(good, "c1");
        var waiting = server.WaitForNackAsync(Cds, "2");

        server.SetResource(Cds, "c1", XdsResources.ClusterLoadAssignment("c1"));
        var bad = await client.NextAsync();
        await client.NackAsync(bad, good.VersionInfo, "c1: not a Cluster", "c1");
        var nack = await waiting.DefaultTimeout("the NACK");

        Assert.Equal(XdsRequestKind.Nack, nack.Kind);
        Assert.Equal("2", nack.ResponseVersion);
        Assert.Equal("1", nack.VersionInfo);
        Assert.Equal(bad.Nonce, nack.ResponseNonce);
        Assert.Equal("c1: not a Cluster", nack.ErrorMessage);
        Assert.Equal((int)StatusCode.InvalidArgument, nack.ErrorCode);
        Assert.Same(nack, await server.WaitForNackAsync(Cds));
    }

    [Fact]
    public async Task Subscribe_EmptyNamesForLdsAndCds_IsWildcard()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Update(set => set
            .Set(XdsResources.Cluster("c1"))
            .Set(XdsResources.Cluster("c2"))
            .Set(XdsResources.Listener("l1", "r1")));
        await using var client = AdsTestStream.Open(server);

        await client.SubscribeAsync(Cds);
        var clusters = await client.NextAsync();
        await client.AckAsync(clusters);
        server.SetResource(XdsResources.Cluster("c3"));
        var more = await client.NextAsync();
        await client.SubscribeAsync(Lds, "*");
        var listeners = await client.NextAsync();

        Assert.Equal(["c1", "c2"], clusters.Resources.Select(r => r.Unpack<Envoy.Config.Cluster.V3.Cluster>().Name));
        Assert.Equal(["c1", "c2", "c3"], more.Resources.Select(r => r.Unpack<Envoy.Config.Cluster.V3.Cluster>().Name));
        Assert.Equal("l1", Assert.Single(listeners.Resources).Unpack<Listener>().Name);
    }

    [Fact]
    public async Task Subscribe_RouteConfigurations_SendsOnlySubscribedThatExistAndFollowsNameChanges()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Update(set => set
            .Set(XdsResources.RouteConfiguration("r1", "svc", "c1"))
            .Set(XdsResources.RouteConfiguration("r2", "svc", "c2")));
        await using var client = AdsTestStream.Open(server);

        await client.SubscribeAsync(Rds, "r1", "missing");
        var first = await client.NextAsync();
        await client.AckAsync(first, "r1", "r2");
        var second = await client.NextAsync("the response to the changed subscription");

        Assert.Equal(["r1"], first.Resources.Select(r => r.Unpack<RouteConfiguration>().Name));
        Assert.Equal(["r1", "r2"], second.Resources.Select(r => r.Unpack<RouteConfiguration>().Name));
        Assert.Equal(first.VersionInfo, second.VersionInfo);
        var ack = await server.WaitForAckAsync(Rds, first.VersionInfo);
        Assert.Equal(["r1", "r2"], ack.ResourceNames);
    }

    [Fact]
    public async Task Subscribe_TypeNeverSet_SendsNothingUntilSet()
    {
        await using var server = await XdsTestServer.StartAsync();
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Eds, "c1");
        await server.WaitForRequestAsync(r => r.TypeUrl == Eds);

        server.SetResource(XdsResources.ClusterLoadAssignment("c1", "127.0.0.1:5001"));
        var response = await client.NextAsync();

        Assert.Equal("1", response.VersionInfo);
        Assert.Equal("c1", Assert.Single(response.Resources).Unpack<ClusterLoadAssignment>().ClusterName);
    }

    [Fact]
    public async Task RemoveResource_Listener_PushesStateWithoutIt()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Listener("l1", "r1"));
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Lds, "l1");
        var first = await client.NextAsync();
        await client.AckAsync(first, "l1");

        var version = server.RemoveResource(Lds, "l1");
        var removed = await client.NextAsync();

        Assert.Equal("2", version);
        Assert.Equal("2", removed.VersionInfo);
        Assert.Empty(removed.Resources);
    }

    [Fact]
    public async Task Update_WholeMesh_OneVersionAndOneResponsePerType()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Listener("old", "old-routes"));
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Lds);
        await client.AckAsync(await client.NextAsync());
        await client.SubscribeAsync(Cds);
        await server.WaitForRequestAsync(r => r.TypeUrl == Cds);

        var versions = server.Update(set => set
            .Clear()
            .Set(XdsResources.Listener("svc", "svc-routes"))
            .Set(XdsResources.RouteConfiguration("svc-routes", "svc", ("c1", 70), ("c2", 30)))
            .Set(XdsResources.Cluster("c1"))
            .Set(XdsResources.Cluster("c2", lbPolicy: "least_request"))
            .Set(XdsResources.ClusterLoadAssignment("c1", "127.0.0.1:5001"))
            .Set(XdsResources.ClusterLoadAssignment("c2", "127.0.0.1:5002")));
        var listeners = await client.NextAsync();
        var clusters = await client.NextAsync();
        await client.AckAsync(listeners);
        await client.AckAsync(clusters);
        await server.WaitForAckAsync(Cds, "1");

        Assert.Equal("2", versions[Lds]);
        Assert.Equal("1", versions[Rds]);
        Assert.Equal("1", versions[Cds]);
        Assert.Equal("1", versions[Eds]);
        Assert.Equal((Lds, "2"), (listeners.TypeUrl, listeners.VersionInfo));
        Assert.Equal("svc", Assert.Single(listeners.Resources).Unpack<Listener>().Name);
        Assert.Equal((Cds, "1"), (clusters.TypeUrl, clusters.VersionInfo));
        Assert.Equal(2, clusters.Resources.Count);
        Assert.Equal("2", server.GetVersion(Lds));
        Assert.Equal(string.Empty, server.GetVersion("type.googleapis.com/never.Set"));
    }

    [Fact]
    public async Task DropStreams_OpenStream_EndsWithUnavailableAndClientCanReconnect()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Listener("l1", "r1"));
        var first = AdsTestStream.Open(server);
        await first.SubscribeAsync(Lds, "l1");
        await first.NextAsync();

        var dropped = server.DropStreams();
        var error = await first.Ended.DefaultTimeout("the dropped stream to end");
        await first.DisposeAsync();

        Assert.Equal(1, dropped);
        Assert.Equal(StatusCode.Unavailable, Assert.IsType<RpcException>(error).StatusCode);
        Assert.Equal(0, server.ActiveStreams);
        Assert.False(Assert.Single(server.Clients).IsConnected);

        await using var second = AdsTestStream.Open(server);
        await second.SubscribeAsync(Lds, "l1");
        var again = await second.NextAsync();
        Assert.Equal("1", again.VersionInfo);
        Assert.Equal([1, 2], server.Clients.Select(c => c.StreamId));
        Assert.Equal(1, server.ActiveStreams);
    }

    [Fact]
    public async Task RestartAsync_StoppedServer_ListensOnSamePortWithSameResources()
    {
        await using var server = await XdsTestServer.StartAsync();
        var port = server.Port;
        server.SetResource(XdsResources.Cluster("c1"));
        var before = AdsTestStream.Open(server);
        await before.SubscribeAsync(Cds, "c1");
        await before.NextAsync();

        await server.StopAsync();
        var error = await before.Ended.DefaultTimeout("the stream to end at stop");
        await before.DisposeAsync();
        Assert.False(server.IsRunning);

        // UNAVAILABLE when the client reads the status before the connection closes, INTERNAL (connection
        // closed) otherwise: the client's own race, which a control plane going away causes in production too.
        Assert.NotEqual(StatusCode.OK, Assert.IsType<RpcException>(error).StatusCode);
        await using (var refused = AdsTestStream.Open(server))
        {
            var refusal = await refused.Ended.DefaultTimeout("a stream to a stopped server to fail");
            Assert.Equal(StatusCode.Unavailable, Assert.IsType<RpcException>(refusal).StatusCode);
        }

        await server.RestartAsync();
        await using var after = AdsTestStream.Open(server);
        await after.SubscribeAsync(Cds, "c1");
        var response = await after.NextAsync();

        Assert.True(server.IsRunning);
        Assert.Equal(port, server.Port);
        Assert.Equal("1", response.VersionInfo);
        Assert.Equal("c1", Assert.Single(response.Resources).Unpack<Envoy.Config.Cluster.V3.Cluster>().Name);
        Assert.Equal(2, server.Clients[^1].StreamId);
    }

    [Fact]
    public async Task WaitForAckAsync_NoAck_TimesOutListingRequests()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.SetResource(XdsResources.Listener("l1", "r1"));
        await using var client = AdsTestStream.Open(server);
        await client.SubscribeAsync(Lds, "l1");
        await server.WaitForRequestAsync(r => r.Kind == XdsRequestKind.Subscribe);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => server.WaitForAckAsync(Lds, "1", TimeSpan.FromMilliseconds(200)));

        Assert.Contains("ACK of " + Lds + " version '1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Subscribe Listener version '' nonce '' [l1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateBootstrapJson_ExtraFeatures_ParsesAsBootstrapForThisServer()
    {
        await using var server = await XdsTestServer.StartAsync();

        var bootstrap = XdsBootstrapParser.Parse(server.CreateBootstrapJson("node-7", ["ignore_resource_deletion"]), "test");

        var xdsServer = Assert.Single(bootstrap.XdsServers);
        Assert.Equal(server.ServerUri, xdsServer.ServerUri);
        Assert.Equal("127.0.0.1:" + server.Port, xdsServer.ServerUri);
        Assert.Equal("insecure", xdsServer.ChannelCredentials.Type);
        Assert.Equal(["xds_v3", "ignore_resource_deletion"], xdsServer.ServerFeatures);
        Assert.Equal("node-7", bootstrap.Node.Id);
        Assert.NotNull(bootstrap.Node.Locality);
        Assert.Equal(new Uri("http://127.0.0.1:" + server.Port), server.Address);
    }

    [Fact]
    public async Task DisposeAsync_PendingWait_FailsWithObjectDisposed()
    {
        var server = await XdsTestServer.StartAsync();
        var waiting = server.WaitForAckAsync(Lds, "1");

        await server.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        Assert.False(server.IsRunning);
    }
}
