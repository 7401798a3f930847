using Grpc.Net.Client.Balancer;
using Mesh.Client.Configuration;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Tests.DependencyInjection;

public class MeshServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddMesh_CalledTwice_RegistersOnce()
    {
        await using var backends = await Backends.StartAsync(1);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(o => AddService(o, "catalog", backends[0].Address));
        services.AddMesh(o => { });
        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<ResolverFactory>());
        Assert.Single(provider.GetServices<LoadBalancerFactory>());
        Assert.Single(provider.GetServices<IHostedService>());
        var body = await provider.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync("http://catalog/whoami");
        Assert.Equal($"{backends[0].Name} catalog", body);
    }

    [Fact]
    public void AddMesh_Action_ValidatesCodeConfiguration()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(o => AddService(o, "catalog", "localhost:abc"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<MeshRuntime>());

        Assert.Contains("Mesh:Services:catalog:Endpoints:0 'localhost:abc': port is not a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMesh_Section_ReadsThatSectionAndNamesItsPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Mesh:Services:catalog:Endpoints:0"] = "10.0.0.1:80",
            ["Platform:Mesh:Services:inventory:Endpoints:0"] = "10.0.0.2:x",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(configuration.GetSection("Platform:Mesh"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<MeshRuntime>());

        Assert.Contains("Platform:Mesh:Services:inventory:Endpoints:0 '10.0.0.2:x': port is not a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMesh_NoConfigurationRegistered_StartsEmpty()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh();
        using var provider = services.BuildServiceProvider();

        Assert.Empty(provider.GetRequiredService<MeshRuntime>().Current.Services);
    }

    private static void AddService(MeshOptions options, string name, string address)
    {
        var service = new MeshServiceOptions { Protocol = Mesh.Client.Model.UpstreamProtocol.Http2 };
        service.Endpoints.Add(new MeshEndpointOptions { Address = address });
        options.Services[name] = service;
    }
}
