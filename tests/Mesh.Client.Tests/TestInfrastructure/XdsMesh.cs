using System.Text.Json;
using Mesh.Client.Testing;
using Microsoft.Extensions.DependencyInjection;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// A real xDS control plane (<see cref="XdsTestServer"/>), real echo backends, and a client host whose
/// mesh comes from that control plane through a bootstrap in its appsettings.json.
/// </summary>
public sealed class XdsMesh : IAsyncDisposable
{
    private XdsMesh(XdsTestServer server, Backends backends, MeshHost host)
    {
        Server = server;
        Backends = backends;
        Host = host;
    }

    public XdsTestServer Server { get; }

    public Backends Backends { get; }

    public MeshHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public static async Task<XdsMesh> StartAsync(
        int backends = 3,
        IEnumerable<string>? serverFeatures = null,
        Action<IServiceCollection>? configure = null,
        Action<XdsTestServer>? beforeClient = null,
        string meshSettings = "")
    {
        var server = await XdsTestServer.StartAsync();
        beforeClient?.Invoke(server);
        var started = await Backends.StartAsync(backends);
        var bootstrap = server.CreateBootstrapJson("mesh-test", serverFeatures);
        var host = await MeshHost.StartAsync(AppSettings(bootstrap, meshSettings), configure);
        return new XdsMesh(server, started, host);
    }

    public static string AppSettings(string bootstrap, string meshSettings = "") => $$"""
        {
          "Mesh": {
            {{(meshSettings.Length > 0 ? meshSettings + "," : string.Empty)}}
            "Xds": { "Bootstrap": {{JsonSerializer.Serialize(bootstrap)}} }
          }
        }
        """;

    /// <summary>
    /// Serves <paramref name="target"/> as Istio would: Listener named after the target, RouteConfiguration
    /// over RDS with a virtual host for the target, an EDS cluster (HTTP/2) with the given backends.
    /// </summary>
    public IReadOnlyDictionary<string, string> SetService(string target, string cluster, params int[] backendIndexes) =>
        Server.Update(set => set
            .Set(XdsResources.Listener(target, target + "-routes"))
            .Set(XdsResources.RouteConfiguration(target + "-routes", target, cluster))
            .Set(XdsResources.Cluster(cluster, http2: true))
            .Set(XdsResources.ClusterLoadAssignment(cluster, [.. backendIndexes.Select(i => Backends[i].Address)])));

    /// <summary>Replaces a cluster's endpoints.</summary>
    public string SetEndpoints(string cluster, params int[] backendIndexes) =>
        Server.SetResource(TestingTypeUrls.ClusterLoadAssignment, cluster, XdsResources.ClusterLoadAssignment(cluster, [.. backendIndexes.Select(i => Backends[i].Address)]));

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Backends.DisposeAsync();
        await Server.DisposeAsync();
    }
}
