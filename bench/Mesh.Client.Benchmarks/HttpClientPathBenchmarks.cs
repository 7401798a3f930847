using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// One GET through HttpClient, with and without the mesh, down to a primary handler that answers at once:
/// what the client side costs per request, with no network in the figure.
/// </summary>
[MemoryDiagnoser]
// HttpClient's path is still being re-jitted (tiered compilation, dynamic PGO) after the default 3 warm-up
// iterations; 6 keep that out of the measured ones.
[WarmupCount(6)]
public class HttpClientPathBenchmarks
{
    private const string DirectUrl = "http://10.0.0.1:8080/items/42";
    private const string MeshUrl = "http://catalog/items/42";
    private const string NonMeshUrl = "http://inventory/items/42";

    private HttpClient _bare = null!;
    private HttpClient _factory = null!;
    private HttpClient _mesh = null!;
    private ServiceProvider _factoryServices = null!;
    private ServiceProvider _meshServices = null!;

    /// <summary>Builds the clients: bare, from a factory without the mesh, from a factory with it.</summary>
    [GlobalSetup]
    public async Task Setup()
    {
        _bare = new HttpClient(new MockHandler());

        var factoryMock = new MockHandler();
        _factoryServices = new ServiceCollection()
            .AddHttpClient()
            .ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => factoryMock))
            .BuildServiceProvider();
        _factory = _factoryServices.GetRequiredService<IHttpClientFactory>().CreateClient();

        var meshMock = new MockHandler();
        _meshServices = LoadDriver.MeshOverMock(meshMock);
        _mesh = _meshServices.GetRequiredService<IHttpClientFactory>().CreateClient();

        // The mesh client must really be rewriting catalog requests, and passing others through, or the
        // comparison measures nothing.
        meshMock.Capture = true;
        using (await _mesh.GetAsync(MeshUrl).ConfigureAwait(false))
        {
            if (meshMock.LastRequestUri is not { Host: "10.0.0.1" or "10.0.0.2" or "10.0.0.3", Port: 8080, AbsolutePath: "/items/42" } || meshMock.LastHost != "catalog")
            {
                throw new InvalidOperationException($"The mesh did not route {MeshUrl}: it reached {meshMock.LastRequestUri} with Host '{meshMock.LastHost}'.");
            }
        }

        using (await _mesh.GetAsync(NonMeshUrl).ConfigureAwait(false))
        {
            if (meshMock.LastRequestUri?.OriginalString != NonMeshUrl || meshMock.LastHost is not null)
            {
                throw new InvalidOperationException($"The mesh touched {NonMeshUrl}: it reached {meshMock.LastRequestUri} with Host '{meshMock.LastHost}'.");
            }
        }

        meshMock.Capture = false;
    }

    /// <summary>Disposes the clients and containers.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        _bare.Dispose();
        _factory.Dispose();
        _mesh.Dispose();
        await _factoryServices.DisposeAsync().ConfigureAwait(false);
        await _meshServices.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary><c>new HttpClient(handler)</c> straight to one endpoint.</summary>
    [Benchmark(Baseline = true, Description = "bare HttpClient, IP")]
    public Task<int> Bare() => Send(_bare, DirectUrl);

    /// <summary>An IHttpClientFactory client without the mesh, straight to one endpoint: the factory's own handlers.</summary>
    [Benchmark(Description = "factory, no mesh, IP")]
    public Task<int> Factory() => Send(_factory, DirectUrl);

    /// <summary>A mesh client to a host that is no mesh service: one service lookup, then pass-through.</summary>
    [Benchmark(Description = "factory + mesh, non-mesh host")]
    public Task<int> MeshPassThrough() => Send(_mesh, NonMeshUrl);

    /// <summary>A mesh client to an IP literal: passes through before any lookup.</summary>
    [Benchmark(Description = "factory + mesh, IP")]
    public Task<int> MeshIpLiteral() => Send(_mesh, DirectUrl);

    /// <summary>A mesh client to the mesh service <c>catalog</c>: route, pick (round_robin over 3), rewrite.</summary>
    [Benchmark(Description = "factory + mesh, mesh service")]
    public Task<int> Mesh() => Send(_mesh, MeshUrl);

    private static async Task<int> Send(HttpClient client, string url)
    {
        // A URL string, as application code passes one: each request parses its own Uri, on every path.
        using var response = await client.GetAsync(url).ConfigureAwait(false);
        return (int)response.StatusCode;
    }
}
