using Mesh.Client.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// The same routes and policies, written in the application's appsettings.json (the <c>Mesh</c> section beside
/// this file) instead of served by a control plane. A test loads the file as the application does and replaces
/// only the endpoint addresses with its own backends, so what is tested is the file that ships.
/// </summary>
public sealed class AppSettingsRouteTests
{
    [Fact]
    public async Task HeaderRoute_CanaryHeaderTrue_GoesToV2()
    {
        // Arrange
        await using var backends = await Backends.StartAsync();
        await using var app = await StartAppAsync(backends);

        // Act
        var versions = await app.Items.CountVersionsAsync(50, canary: true);

        // Assert
        Assert.Equal(new Dictionary<string, int> { ["v2"] = 50 }, versions);
    }

    [Fact]
    public async Task WeightedSplit_NinetyTen_V2ShareWithinBinomialBounds()
    {
        // Arrange
        await using var backends = await Backends.StartAsync();
        await using var app = await StartAppAsync(backends);

        // Act
        const int requests = 1000;
        var versions = await app.Items.CountVersionsAsync(requests);

        // Assert: Binomial(1000, 0.1) lands outside [60, 140] with probability 2.7e-5 (see ControlPlaneRouteTests).
        var toV2 = versions.GetValueOrDefault("v2");
        Assert.InRange(toV2, 60, 140);
        Assert.Equal(requests - toV2, versions.GetValueOrDefault("v1"));
    }

    [Fact]
    public async Task RetryPolicy_OneV1InstanceFailing_CallerSeesNoFailure()
    {
        // Arrange
        await using var backends = await Backends.StartAsync();
        backends.V1A.Failing = true;
        await using var app = await StartAppAsync(backends);

        // Act: every request must succeed (ItemsClient throws on a non-success status).
        var versions = await app.Items.CountVersionsAsync(40);

        // Assert
        Assert.Equal(40, versions.Values.Sum());
        Assert.True(backends.V1A.Requests > 0, "round robin never picked the failing instance, so the test proved nothing about retries");
    }

    [Fact]
    public async Task AddMeshInCode_CanaryHeaderTrue_GoesToV2()
    {
        // Arrange: the same mesh written with AddMesh(Action<MeshOptions>), for an application that builds it in code.
        await using var backends = await Backends.StartAsync();
        await using var app = await ClientApp.StartAsync(
            configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Backend:Address"] = "http://backend" }),
            mesh =>
            {
                mesh.Services["backend-v1"] = Service(backends.V1A, backends.V1B);
                mesh.Services["backend-v2"] = Service(backends.V2);
                var canary = new MeshRouteOptions { Name = "canary", Cluster = "backend-v2" };
                canary.Match.Headers[ItemsClient.CanaryHeader] = new MeshHeaderMatchOptions { Exact = "true" };
                var split = new MeshRouteOptions { Name = "split" };
                split.WeightedClusters["backend-v1"] = 90;
                split.WeightedClusters["backend-v2"] = 10;
                var router = new MeshServiceOptions { Retry = new MeshRetryOptions { RetryOn = "5xx,connect-failure,reset", NumRetries = 2 } };
                router.Routes.Add(canary);
                router.Routes.Add(split);
                mesh.Services["backend"] = router;
            });

        // Act
        var versions = await app.Items.CountVersionsAsync(50, canary: true);

        // Assert
        Assert.Equal(new Dictionary<string, int> { ["v2"] = 50 }, versions);
    }

    /// <summary>
    /// The application's appsettings.json, with the addresses of its three endpoints replaced by the test's
    /// backends. Configuration arrays merge by index, so <c>Endpoints:0</c> replaces the file's first endpoint.
    /// </summary>
    private static Task<ClientApp> StartAppAsync(Backends backends) =>
        ClientApp.StartAsync(configuration => configuration
            .AddJsonFile("appsettings.json", optional: false)
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Mesh:Services:backend-v1:Endpoints:0"] = backends.V1A.Address,
                ["Mesh:Services:backend-v1:Endpoints:1"] = backends.V1B.Address,
                ["Mesh:Services:backend-v2:Endpoints:0"] = backends.V2.Address,
            }));

    private static MeshServiceOptions Service(params TestBackend[] endpoints)
    {
        var service = new MeshServiceOptions();
        foreach (var endpoint in endpoints)
        {
            service.Endpoints.Add(new MeshEndpointOptions { Address = endpoint.Address });
        }

        return service;
    }

    /// <summary>Two v1 instances and one v2 instance, as many as appsettings.json lists.</summary>
    private sealed class Backends : IAsyncDisposable
    {
        private Backends(TestBackend v1a, TestBackend v1b, TestBackend v2) => (V1A, V1B, V2) = (v1a, v1b, v2);

        public TestBackend V1A { get; }

        public TestBackend V1B { get; }

        public TestBackend V2 { get; }

        public static async Task<Backends> StartAsync() => new(
            await TestBackend.StartAsync("backend-v1-a", "v1"),
            await TestBackend.StartAsync("backend-v1-b", "v1"),
            await TestBackend.StartAsync("backend-v2-a", "v2"));

        public async ValueTask DisposeAsync()
        {
            await V1A.DisposeAsync();
            await V1B.DisposeAsync();
            await V2.DisposeAsync();
        }
    }
}
