using Mesh.Samples.Echo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// A client host configured the way an application is: an appsettings.json file on disk (reloaded on
/// change), <c>AddMesh()</c>, and logs captured for assertions.
/// </summary>
public sealed class MeshHost : IAsyncDisposable
{
    private readonly string _directory;

    private MeshHost(IHost host, string directory, FakeLogCollector logs)
    {
        Host = host;
        _directory = directory;
        Logs = logs;
    }

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public FakeLogCollector Logs { get; }

    public string ConfigPath => Path.Combine(_directory, "appsettings.json");

    /// <summary>Writes <paramref name="json"/> as appsettings.json and starts a host with <c>AddMesh()</c>.</summary>
    public static async Task<MeshHost> StartAsync(string json, Action<IServiceCollection>? configure = null, bool start = true)
    {
        var directory = Directory.CreateTempSubdirectory("mesh-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "appsettings.json"), json);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = directory,
            DisableDefaults = true,
        });
        builder.Configuration.AddJsonFile(Path.Combine(directory, "appsettings.json"), optional: false, reloadOnChange: true);
        builder.Logging.AddFakeLogging();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddMesh();
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        var meshHost = new MeshHost(host, directory, host.Services.GetFakeLogCollector());
        if (start)
        {
            await host.StartAsync();
        }

        return meshHost;
    }

    /// <summary>Replaces appsettings.json; the file watcher reloads it.</summary>
    public Task WriteConfigAsync(string json) => File.WriteAllTextAsync(ConfigPath, json);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            // A host that failed to start has nothing to stop.
        }

        Host.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The file watcher may still hold the directory for a moment; a temp directory may stay.
        }
    }
}

/// <summary>A set of running echo backends.</summary>
public sealed class Backends : IAsyncDisposable
{
    private Backends(EchoBackend[] items) => Items = items;

    public EchoBackend[] Items { get; }

    public EchoBackend this[int index] => Items[index];

    public static async Task<Backends> StartAsync(int count, string prefix = "backend")
    {
        var items = new EchoBackend[count];
        for (var i = 0; i < count; i++)
        {
            items[i] = await EchoBackend.StartAsync($"{prefix}-{i}");
        }

        return new Backends(items);
    }

    /// <summary>JSON array of the backends' addresses, for a Mesh Endpoints setting.</summary>
    public string EndpointsJson(params int[] indexes) =>
        "[" + string.Join(", ", (indexes.Length == 0 ? Enumerable.Range(0, Items.Length) : indexes).Select(i => $"\"{Items[i].Address}\"")) + "]";

    public int IndexOf(string name) => Array.FindIndex(Items, b => b.Name == name);

    public async ValueTask DisposeAsync()
    {
        foreach (var item in Items)
        {
            await item.DisposeAsync();
        }
    }
}
