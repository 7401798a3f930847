using Mesh.Client.Configuration;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mesh.Client.Tests.DependencyInjection;

/// <summary>A library and the application both call <c>AddMesh</c>, in any order and with any overloads: one mesh, one copy of each endpoint.</summary>
public class AddMeshTwiceTests
{
    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        string[] overloads = ["default", "section", "code"];
        foreach (var first in overloads)
        {
            foreach (var second in overloads)
            {
                data.Add(first, second);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task AddMesh_TwoCalls_OneMeshWithOneCopyOfEachEndpoint(string first, string second)
    {
        // Arrange: appsettings' Mesh section has "catalog"; code adds "inventory" (the same delegate, as a library
        // that registers itself twice would pass it).
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Services:catalog:Endpoints:0"] = "10.0.0.1:80",
            ["Mesh:Services:catalog:Endpoints:1"] = "10.0.0.2:80",
        });
        Add(builder.Services, builder.Configuration, first);
        Add(builder.Services, builder.Configuration, second);
        using var host = builder.Build();

        // Act
        await host.StartAsync();
        var table = host.Services.GetRequiredService<MeshRuntime>().Current;

        // Assert
        Assert.Single(host.Services.GetServices<IHostedService>().OfType<MeshHostedService>());
        var fromConfiguration = first != "code" || second != "code";
        var fromCode = first == "code" || second == "code";
        Assert.Equal(fromConfiguration, table.Clusters.ContainsKey("catalog"));
        Assert.Equal(fromCode, table.Clusters.ContainsKey("inventory"));
        if (fromConfiguration)
        {
            Assert.Equal(["10.0.0.1:80", "10.0.0.2:80"], table.Clusters["catalog"].AllEndpoints.Select(e => e.Address));
        }

        if (fromCode)
        {
            Assert.Equal(["10.0.0.3:80"], table.Clusters["inventory"].AllEndpoints.Select(e => e.Address));
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task AddMesh_TwoDifferentSections_BothReadOnce()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Services:catalog:Endpoints:0"] = "10.0.0.1:80",
            ["Platform:Mesh:Services:orders:Endpoints:0"] = "10.0.0.9:80",
        });
        builder.Services.AddMesh();
        builder.Services.AddMesh(builder.Configuration.GetSection("Platform:Mesh"));
        builder.Services.AddMesh(builder.Configuration.GetSection("platform:mesh"));
        builder.Services.AddMesh();
        using var host = builder.Build();

        await host.StartAsync();
        var table = host.Services.GetRequiredService<MeshRuntime>().Current;

        Assert.Equal(["10.0.0.1:80"], table.Clusters["catalog"].AllEndpoints.Select(e => e.Address));
        Assert.Equal(["10.0.0.9:80"], table.Clusters["orders"].AllEndpoints.Select(e => e.Address));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddMesh_LibraryDefaultAndApplicationSection_MissingDefaultSectionIsSkipped()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Mesh:Services:orders:Endpoints:0"] = "10.0.0.9:x",
        });
        builder.Services.AddMesh();
        builder.Services.AddMesh(builder.Configuration.GetSection("Platform:Mesh"));
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());

        // The messages name the section that exists, not the library's default.
        Assert.Contains("Platform:Mesh:Services:orders:Endpoints:0 '10.0.0.9:x'", ex.Message, StringComparison.Ordinal);
    }

    private static void Add(IServiceCollection services, IConfiguration configuration, string overload)
    {
        switch (overload)
        {
            case "default":
                services.AddMesh();
                break;
            case "section":
                services.AddMesh(configuration.GetSection("Mesh"));
                break;
            default:
                services.AddMesh(AddInventory);
                break;
        }
    }

    private static void AddInventory(MeshOptions options)
    {
        var service = new MeshServiceOptions();
        service.Endpoints.Add(new MeshEndpointOptions { Address = "10.0.0.3:80" });
        options.Services["inventory"] = service;
    }
}
