using System.Net;
using System.Net.Http.Json;
using Mesh.Samples.Backend;
using Mesh.Samples.Frontend;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// samples/AspNetCore does what its README says: two backends and the frontend, each run as its Program.cs
/// builds it on real Kestrel (127.0.0.1, free ports), the frontend configured by its own appsettings.json
/// with only the two endpoint addresses replaced.
/// </summary>
public sealed class AspNetCoreSampleTests
{
    [Fact]
    public async Task Frontend_Root_SpreadsTheCallsEvenlyAcrossBothBackends()
    {
        // Arrange
        await using var backend1 = StartBackend("backend-1");
        await using var backend2 = StartBackend("backend-2");
        await using var frontend = StartFrontend(backend1.Endpoint, backend2.Endpoint);

        // Act
        var spread = await frontend.Client.GetFromJsonAsync<SpreadResponse>("/");

        // Assert: round robin over the two endpoints of appsettings.json's "backend" service.
        Assert.NotNull(spread);
        Assert.Equal("http://backend/", spread.Backend);
        Assert.Equal(10, spread.Calls);
        Assert.Equal(
            [new Answer("backend-1", "v1", 5), new Answer("backend-2", "v1", 5)],
            spread.Answers);
    }

    [Fact]
    public async Task Frontend_RootWithCalls_MakesThatManyCalls()
    {
        await using var backend1 = StartBackend("backend-1");
        await using var backend2 = StartBackend("backend-2", version: "v2");
        await using var frontend = StartFrontend(backend1.Endpoint, backend2.Endpoint);

        var spread = await frontend.Client.GetFromJsonAsync<SpreadResponse>("/?calls=4");

        Assert.NotNull(spread);
        Assert.Equal([new Answer("backend-1", "v1", 2), new Answer("backend-2", "v2", 2)], spread.Answers);
    }

    [Fact]
    public async Task Frontend_OneBackendStopped_RetriesOnTheOtherAndEveryCallSucceeds()
    {
        await using var backend1 = StartBackend("backend-1");
        var backend2 = StartBackend("backend-2");
        var stoppedEndpoint = backend2.Endpoint;
        await backend2.DisposeAsync();
        await using var frontend = StartFrontend(backend1.Endpoint, stoppedEndpoint);

        using var response = await frontend.Client.GetAsync("/");
        var spread = await response.Content.ReadFromJsonAsync<SpreadResponse>();

        // The retry policy of appsettings.json (connect-failure) sends each refused call to the other endpoint.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(spread);
        Assert.Equal([new Answer("backend-1", "v1", 10)], spread.Answers);
    }

    [Fact]
    public async Task Frontend_CanaryHeader_IsPassedOnSoThatARouteOnItPicksTheCanary()
    {
        await using var backend1 = StartBackend("backend-1");
        await using var backend2 = StartBackend("backend-2");
        await using var canary = StartBackend("backend-3", version: "v2");
        await using var frontend = AspNetCoreSampleApp<BackendClient>.Start(new Dictionary<string, string>
        {
            ["Mesh:Services:backend:Endpoints:0"] = backend1.Endpoint,
            ["Mesh:Services:backend:Endpoints:1"] = backend2.Endpoint,
            ["Mesh:Services:backend:Routes:0:Match:Headers:x-canary"] = "true",
            ["Mesh:Services:backend:Routes:0:Cluster"] = "backend-canary",
            ["Mesh:Services:backend-canary:Endpoints:0"] = canary.Endpoint,
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/?calls=4") { Headers = { { "x-canary", "true" } } };

        using var response = await frontend.Client.SendAsync(request);
        var spread = await response.Content.ReadFromJsonAsync<SpreadResponse>();

        Assert.NotNull(spread);
        Assert.Equal([new Answer("backend-3", "v2", 4)], spread.Answers);
    }

    [Fact]
    public async Task Frontend_Healthz_IsHealthyWithTheMeshFromAppSettings()
    {
        await using var frontend = StartFrontend("127.0.0.1:5101", "127.0.0.1:5102");

        using var response = await frontend.Client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Backend_Items_SaysWhichInstanceAndVersionAnswered()
    {
        await using var backend = StartBackend("backend-7", version: "v2");

        var items = await backend.Client.GetFromJsonAsync<ItemsResponse>("/api/items");
        var json = await backend.Client.GetStringAsync("/api/items");

        Assert.NotNull(items);
        Assert.Equal("backend-7", items.Instance);
        Assert.Equal("v2", items.Version);
        Assert.NotEmpty(items.Items);
        Assert.StartsWith("""{"instance":"backend-7","version":"v2","items":[""", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backend_WithoutInstanceSetting_IsNamedAfterMachineAndPort()
    {
        await using var backend = StartBackend(instance: null);

        var items = await backend.Client.GetFromJsonAsync<ItemsResponse>("/api/items");

        Assert.NotNull(items);
        Assert.Equal($"{Environment.MachineName}:{backend.Address.Port}", items.Instance);
        Assert.Equal("v1", items.Version);
    }

    [Fact]
    public async Task Backend_Healthz_IsHealthy()
    {
        await using var backend = StartBackend("backend-1");

        Assert.Equal("Healthy", await backend.Client.GetStringAsync("/healthz"));
    }

    private static AspNetCoreSampleApp<ItemsResponse> StartBackend(string? instance, string? version = null)
    {
        var settings = new Dictionary<string, string>();
        if (instance is not null)
        {
            settings["Backend:Instance"] = instance;
        }

        if (version is not null)
        {
            settings["Backend:Version"] = version;
        }

        return AspNetCoreSampleApp<ItemsResponse>.Start(settings);
    }

    // The frontend with its appsettings.json; only the mesh's two endpoints of "backend" are replaced.
    private static AspNetCoreSampleApp<BackendClient> StartFrontend(string backend1, string backend2) =>
        AspNetCoreSampleApp<BackendClient>.Start(new Dictionary<string, string>
        {
            ["Mesh:Services:backend:Endpoints:0"] = backend1,
            ["Mesh:Services:backend:Endpoints:1"] = backend2,
        });
}
