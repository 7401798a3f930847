using Envoy.Admin.V3;
using Envoy.Service.Status.V3;
using Grpc.Net.Client;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>
/// The Client Status Discovery Service (gRFC A40) as grpcdebug calls it: a real gRPC call to a Kestrel app on
/// 127.0.0.1 that maps it, whose mesh comes from a real xDS server.
/// </summary>
public class ClientStatusServiceTests
{
    [Fact]
    public async Task FetchClientStatus_XdsMesh_MatchesWhatTheClientHoldsAndWhatTheServerSent()
    {
        await using var world = await XdsWorld.StartAsync(backends: 2);
        await using var app = await MeshStatusWebApp.StartAsync(XdsMesh.AppSettings(world.Bootstrap));
        var good = world.SetService("catalog", "catalog-cluster", 0, 1);
        await MeshStatusTests.CallAsync(app.Services, "catalog");
        await world.WaitForAcksAsync(good);
        var bad = world.RejectCluster("catalog-cluster");
        await world.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        using var channel = GrpcChannel.ForAddress(app.GrpcAddress);
        var client = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        var response = await client.FetchClientStatusAsync(new ClientStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(15));

        var config = Assert.Single(response.Config);
        Assert.Equal("mesh-test", config.Node.Id);
        Assert.Equal("Mesh.Client", config.Node.UserAgentName);
        Assert.Equal(
            [(TestingTypeUrls.Listener, "catalog"), (TestingTypeUrls.RouteConfiguration, "catalog-routes"), (TestingTypeUrls.Cluster, "catalog-cluster"), (TestingTypeUrls.ClusterLoadAssignment, "catalog-cluster")],
            config.GenericXdsConfigs.Select(c => (c.TypeUrl, c.Name)));

        // Each resource: the version in use and the bytes the server sent for it (for the NACKed cluster, the last good ones).
        foreach (var resource in config.GenericXdsConfigs)
        {
            Assert.Equal(good[resource.TypeUrl], resource.VersionInfo);
            Assert.Equal(world.Sent(resource.TypeUrl, resource.Name), resource.XdsConfig);
            Assert.Equal(world.Sent(resource.TypeUrl, resource.Name).Value, resource.XdsConfig.Value);
            Assert.NotNull(resource.LastUpdated);
            Assert.Equal(ConfigStatus.Unknown, resource.ConfigStatus);
            Assert.False(resource.IsStaticResource);
        }

        Assert.All(config.GenericXdsConfigs.Where(c => c.TypeUrl != TestingTypeUrls.Cluster), c =>
        {
            Assert.Equal(ClientResourceStatus.Acked, c.ClientStatus);
            Assert.Null(c.ErrorState);
        });
        var nacked = config.GenericXdsConfigs.Single(c => c.TypeUrl == TestingTypeUrls.Cluster);
        Assert.Equal(ClientResourceStatus.Nacked, nacked.ClientStatus);
        Assert.Equal(bad, nacked.ErrorState.VersionInfo);
        Assert.Contains("catalog-cluster", nacked.ErrorState.Details, StringComparison.Ordinal);
        Assert.Contains("STATIC", nacked.ErrorState.Details, StringComparison.Ordinal);
        Assert.NotNull(nacked.ErrorState.LastUpdateAttempt);
        Assert.True(nacked.ErrorState.LastUpdateAttempt.ToDateTimeOffset() >= nacked.LastUpdated.ToDateTimeOffset());

        // And it is what the xDS client itself holds.
        var held = await XdsClientOf(app.Services).GetResourcesAsync();
        Assert.Equal(held.Count, config.GenericXdsConfigs.Count);
        foreach (var resource in held)
        {
            var reported = config.GenericXdsConfigs.Single(c => c.TypeUrl == resource.TypeUrl && c.Name == resource.Name);
            Assert.Equal(resource.Version, reported.VersionInfo);
            Assert.Equal(resource.Raw, reported.XdsConfig);
            Assert.Equal(resource.UpdatedAt, reported.LastUpdated.ToDateTimeOffset());
            Assert.Equal(resource.LastError, reported.ErrorState?.Details);
        }
    }

    [Fact]
    public async Task StreamClientStatus_AnswersEveryRequest_AndLeavesContentsOutWhenAsked()
    {
        await using var world = await XdsWorld.StartAsync(backends: 1);
        await using var app = await MeshStatusWebApp.StartAsync(XdsMesh.AppSettings(world.Bootstrap));
        var good = world.SetService("catalog", "catalog-cluster", 0);
        await MeshStatusTests.CallAsync(app.Services, "catalog");
        await world.WaitForAcksAsync(good);

        using var channel = GrpcChannel.ForAddress(app.GrpcAddress);
        var client = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        using var call = client.StreamClientStatus(deadline: DateTime.UtcNow.AddSeconds(15));

        await call.RequestStream.WriteAsync(new ClientStatusRequest());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var full = Assert.Single(call.ResponseStream.Current.Config);
        Assert.Equal(4, full.GenericXdsConfigs.Count);
        Assert.All(full.GenericXdsConfigs, c => Assert.NotNull(c.XdsConfig));

        await call.RequestStream.WriteAsync(new ClientStatusRequest { ExcludeResourceContents = true });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var bare = Assert.Single(call.ResponseStream.Current.Config);
        Assert.Equal(full.GenericXdsConfigs.Select(c => (c.TypeUrl, c.Name, c.VersionInfo, c.ClientStatus)), bare.GenericXdsConfigs.Select(c => (c.TypeUrl, c.Name, c.VersionInfo, c.ClientStatus)));
        Assert.All(bare.GenericXdsConfigs, c => Assert.Null(c.XdsConfig));

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task FetchClientStatus_AppsettingsOnly_AnswersWithoutClientConfig()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var app = await MeshStatusWebApp.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())));

        using var channel = GrpcChannel.ForAddress(app.GrpcAddress);
        var response = await new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel)
            .FetchClientStatusAsync(new ClientStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(15));

        Assert.Empty(response.Config);
    }

    [Fact]
    public async Task MapMeshStatus_WithoutGrpc_MapsThePagesOnly_AndTheServiceAloneSaysWhatToAdd()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var app = await MeshStatusWebApp.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())), addGrpc: false);

        using var http = new HttpClient { BaseAddress = app.HttpAddress };
        Assert.True((await http.GetAsync("/mesh/config_dump")).IsSuccessStatusCode);
        var error = Assert.Throws<InvalidOperationException>(() => app.App.MapMeshClientStatusService());
        Assert.Contains("AddMeshClientStatus()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapMeshStatus_WithoutAddMesh_SaysToCallAddMesh()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddMeshClientStatus();
        using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapMeshStatus());
        Assert.Contains("AddMesh()", error.Message, StringComparison.Ordinal);
    }

    private static XdsClient XdsClientOf(IServiceProvider services) =>
        services.GetRequiredService<MeshRuntime>().Xds!.Client;
}
