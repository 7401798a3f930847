using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Tests.Configuration;

public class ConfigurationMeshSourceTests
{
    [Fact]
    public async Task StartAsync_InvalidConfiguration_StopsTheHostWithPathAndValue()
    {
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices("""  "catalog": { "Endpoints": [ "127.0.0.1:5001", "localhost:abc" ] }  """),
            start: false);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.Host.StartAsync());

        Assert.Contains("Mesh:Services:catalog:Endpoints:1 'localhost:abc': port is not a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_ValidChange_MovesTraffic()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(0))));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        Assert.StartsWith(backends[0].Name, await client.GetStringAsync("http://catalog/whoami"), StringComparison.Ordinal);

        await host.WriteConfigAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(1))));

        await Wait.UntilAsync(
            async () => (await client.GetStringAsync("http://catalog/whoami")).StartsWith(backends[1].Name, StringComparison.Ordinal),
            "traffic to move to the endpoint of the reloaded file");
        var before = backends[0].Requests;
        for (var i = 0; i < 20; i++)
        {
            Assert.StartsWith(backends[1].Name, await client.GetStringAsync("http://catalog/whoami"), StringComparison.Ordinal);
        }

        Assert.Equal(before, backends[0].Requests);
    }

    [Fact]
    public async Task Reload_InvalidChange_IsLoggedAndLastGoodConfigurationStays()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(0))));
        var runtime = host.Services.GetRequiredService<MeshRuntime>();
        var generation = runtime.Current.Generation;
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        await host.WriteConfigAsync(MeshJson.WithServices("""  "catalog": { "Protocol": "Http2", "Endpoints": [ "127.0.0.1:notaport" ] }  """));

        await Wait.UntilAsync(
            () => host.Logs.GetSnapshot().Any(r => r.Id.Id == 1002),
            "the rejected reload to be logged");
        var record = host.Logs.GetSnapshot().Last(r => r.Id.Id == 1002);
        Assert.Equal(LogLevel.Error, record.Level);
        Assert.Contains("Mesh:Services:catalog:Endpoints:0 '127.0.0.1:notaport': port is not a number", record.Message, StringComparison.Ordinal);
        Assert.Equal(generation, runtime.Current.Generation);
        Assert.StartsWith(backends[0].Name, await client.GetStringAsync("http://catalog/whoami"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NoServicesAndNoBootstrap_WarnsNamingWhatIsMissing()
    {
        await using var host = await MeshHost.StartAsync("""{ "Logging": { } }""");

        var record = Assert.Single(host.Logs.GetSnapshot(), r => r.Id.Id == 1004);

        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Contains("configuration has no 'Mesh:Services'", record.Message, StringComparison.Ordinal);
        Assert.Contains("GRPC_XDS_BOOTSTRAP, GRPC_XDS_BOOTSTRAP_CONFIG or Mesh:Xds:Bootstrap", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_WithServices_DoesNotWarnOfAnEmptyMesh()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", "[ \"127.0.0.1:5001\" ]")));

        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Id.Id == 1004);
    }

    [Fact]
    public async Task StartAsync_WithABootstrapOnly_DoesNotWarnOfAnEmptyMesh()
    {
        await using var controlPlane = await Mesh.Client.Testing.XdsTestServer.StartAsync();
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(controlPlane.CreateBootstrapJson()));

        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Id.Id == 1004);
    }
}
