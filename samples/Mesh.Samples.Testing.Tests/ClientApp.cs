using Mesh.Client;
using Mesh.Client.Configuration;
using Mesh.Client.Testing;
using Mesh.Samples.Testing.Tests.Grpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// The application under test, wired as the sample frontend wires itself: <c>AddMesh()</c> reading the
/// <c>Mesh</c> section, a typed <see cref="ItemsClient"/> whose base address is <c>Backend:Address</c>, and a gRPC
/// client whose address is <c>Grpc:Address</c>. Each test gives it its configuration.
/// </summary>
public sealed class ClientApp : IAsyncDisposable
{
    /// <summary>
    /// The seed of the mesh's random source. Seeded, a run repeats the same picks and splits as long as the
    /// requests come in the same order; the tests' statistical bounds hold for any seed.
    /// </summary>
    public const int Seed = 20251201;

    /// <summary>How long one request or call may take in these tests, the first one's wait for its configuration included.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    private readonly IHost _host;

    private ClientApp(IHost host) => _host = host;

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>The typed HttpClient, as a controller or endpoint would get it injected.</summary>
    public ItemsClient Items => Services.GetRequiredService<ItemsClient>();

    /// <summary>The gRPC client, made by the gRPC client factory with the mesh's interceptor.</summary>
    public Items.ItemsClient GrpcItems => Services.GetRequiredService<Items.ItemsClient>();

    /// <summary>
    /// Starts the application with its mesh served by <paramref name="controlPlane"/>: the bootstrap goes in
    /// <c>Mesh:Xds:Bootstrap</c>, where an application in Kubernetes gets it from <c>GRPC_XDS_BOOTSTRAP</c>.
    /// </summary>
    /// <param name="controlPlane">The in-process control plane.</param>
    /// <param name="settings">More configuration, e.g. <c>Backend:Address</c>.</param>
    /// <returns>The started application.</returns>
    public static Task<ClientApp> StartAsync(XdsTestServer controlPlane, IDictionary<string, string?> settings) =>
        StartAsync(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Mesh:Xds:Bootstrap"] = controlPlane.CreateBootstrapJson(),
        }));

    /// <summary>Starts the application with the configuration <paramref name="configure"/> builds.</summary>
    /// <param name="configure">Adds configuration sources, e.g. the application's appsettings.json and test overrides.</param>
    /// <param name="mesh">
    /// Configure the mesh in code with <c>AddMesh(Action&lt;MeshOptions&gt;)</c> instead of from the <c>Mesh</c> section.
    /// </param>
    /// <returns>The started application; start-up fails if the mesh configuration is invalid.</returns>
    public static async Task<ClientApp> StartAsync(Action<IConfigurationBuilder> configure, Action<MeshOptions>? mesh = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure(builder.Configuration);

        // Registered before AddMesh(), which keeps a MeshRandom that is already there.
        builder.Services.AddSingleton(MeshRandom.CreateSeeded(Seed));
        if (mesh is null)
        {
            builder.Services.AddMesh();
        }
        else
        {
            builder.Services.AddMesh(mesh);
        }

        var configuration = builder.Configuration;
        builder.Services.AddHttpClient<ItemsClient>(http =>
        {
            http.BaseAddress = new Uri(configuration["Backend:Address"] ?? "http://backend");
            http.Timeout = CallTimeout;
        });
        builder.Services.AddGrpcClient<Items.ItemsClient>(grpc => grpc.Address = new Uri(configuration["Grpc:Address"] ?? "xds:///items"));

        var host = builder.Build();
        await host.StartAsync();
        return new ClientApp(host);
    }

    /// <summary>Stops the application.</summary>
    /// <returns>A task that completes when the host has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
