using Mesh.Client.Http;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Http;

public class MeshHttpHandlerTests
{
    [Fact]
    public async Task SendAsync_RoundRobin_SpreadsRequestsEvenlyOverRealBackends()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        for (var i = 0; i < 300; i++)
        {
            (await client.GetAsync("http://catalog/items/1")).EnsureSuccessStatusCode();
        }

        // One client, sequential requests, equal weights: round robin gives every endpoint exactly a third.
        Assert.All(backends.Items, b => Assert.Equal(100, b.Requests));
    }

    [Fact]
    public async Task SendAsync_MeshService_KeepsAuthorityAndRestoresRequestUri()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        using var response = await client.GetAsync("http://catalog/whoami?x=1");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal($"{backends[0].Name} catalog", body);
        Assert.Equal(new Uri("http://catalog/whoami?x=1"), response.RequestMessage!.RequestUri);
    }

    [Fact]
    public async Task SendAsync_HostThatIsNotAMeshService_PassesThroughUntouched()
    {
        await using var backend = await EchoBackend.StartAsync("plain", protocols: HttpProtocols.Http1);
        await using var meshBackends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", meshBackends.EndpointsJson())));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var body = await client.GetStringAsync($"http://localhost:{backend.Port}/whoami");

        Assert.Equal($"plain localhost:{backend.Port}", body);
        Assert.Equal(0, meshBackends[0].Requests);
    }

    [Fact]
    public async Task SendAsync_UnknownNameWithAnEmptyMesh_SaysTheMeshHasNoServicesAndWhy()
    {
        await using var host = await MeshHost.StartAsync("""{ "Logging": { } }""");
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.GetAsync("http://mesh-test-no-such-backend/items"));

        Assert.Equal(MeshFailureReason.UnknownService, ex.Reason);
        Assert.Equal("mesh-test-no-such-backend", ex.Service);
        Assert.Equal(HttpRequestError.NameResolutionError, ex.HttpRequestError);
        Assert.IsType<HttpRequestException>(ex.InnerException);
        Assert.Contains("'mesh-test-no-such-backend' is not a mesh service, and name resolution does not know it either", ex.Message, StringComparison.Ordinal);
        Assert.Contains("The mesh has no services at all: AddMesh() found neither services under Mesh:Services nor an xDS bootstrap", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_UnknownNameBesideOtherServices_ListsTheServicesTheMeshHas()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(
            MeshJson.Service("catalog", "[ \"127.0.0.1:5001\" ]") + "," + MeshJson.Service("orders", "[ \"127.0.0.1:5002\" ]")));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.GetAsync("http://mesh-test-no-such-backend:8080/items"));

        Assert.Equal("mesh-test-no-such-backend:8080", ex.Service);
        Assert.Contains("The mesh's services are catalog, orders.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_UnknownDottedHost_FailsAsHttpClientWouldWithoutTheMesh()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", "[ \"127.0.0.1:5001\" ]")));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("http://no-such-host.invalid/items"));

        Assert.IsNotType<MeshRequestException>(ex);
        Assert.Equal(HttpRequestError.NameResolutionError, ex.HttpRequestError);
    }

    [Fact]
    public async Task SendAsync_NoRouteMatches_ThrowsNamingServiceAndPath()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "shop": { "Routes": [ { "Match": { "PathPrefix": "/api/" }, "Cluster": "api" } ] },
            {{MeshJson.Service("api", backends.EndpointsJson())}}
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        Assert.StartsWith(backends[0].Name, await client.GetStringAsync("http://shop/api/items"), StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.GetAsync("http://shop/admin"));

        Assert.Equal(MeshFailureReason.NoRoute, ex.Reason);
        Assert.Equal("shop", ex.Service);
        Assert.Equal("No route of mesh service 'shop' matches GET /admin.", ex.Message);
    }

    [Fact]
    public async Task SendAsync_NoHealthyEndpoint_ThrowsNamingServiceAndCluster()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices("""
            "catalog": { "Endpoints": [ { "Address": "127.0.0.1:1", "Health": "Unhealthy" }, { "Address": "127.0.0.1:2", "Health": "Draining" } ] }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var ex = await Assert.ThrowsAsync<MeshRequestException>(() => client.GetAsync("http://catalog/"));

        Assert.Equal(MeshFailureReason.NoEndpoints, ex.Reason);
        Assert.Equal("Mesh service 'catalog': cluster 'catalog' has no healthy endpoint.", ex.Message);
        Assert.IsAssignableFrom<HttpRequestException>(ex);
    }

    [Fact]
    public async Task SendAsync_PriorityZeroNotUsable_FailsOverToPriorityOne()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "catalog": {
              "Protocol": "Http2",
              "Endpoints": [
                { "Address": "{{backends[0].Address}}", "Priority": 0, "Health": "Draining" },
                { "Address": "{{backends[1].Address}}", "Priority": 1 },
                { "Address": "{{backends[2].Address}}", "Priority": 2 }
              ]
            }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        for (var i = 0; i < 50; i++)
        {
            (await client.GetAsync("http://catalog/")).EnsureSuccessStatusCode();
        }

        Assert.Equal([0, 50, 0], backends.Items.Select(b => b.Requests));
    }

    [Fact]
    public async Task SendAsync_HeaderRouteAndWeightedSplit_FollowTheRoutes()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices($$"""
                "shop": { "Routes": [
                  { "Match": { "Headers": { "x-beta": "true" } }, "Cluster": "v2" },
                  { "WeightedClusters": { "v1": 75, "v2": 25 } } ] },
                {{MeshJson.Service("v1", backends.EndpointsJson(0))}},
                {{MeshJson.Service("v2", backends.EndpointsJson(1))}}
                """),
            services => services.AddSingleton(MeshRandom.CreateSeeded(7)));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        for (var i = 0; i < 20; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop/");
            request.Headers.Add("x-beta", "true");
            (await client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        Assert.Equal([0, 20], backends.Items.Select(b => b.Requests));

        const int n = 2000;
        for (var i = 0; i < n; i++)
        {
            (await client.GetAsync("http://shop/")).EnsureSuccessStatusCode();
        }

        // v2's share is 25%; sigma = sqrt(0.25 * 0.75 / 2000) = 0.97 percentage points; allow 4 sigma.
        var share = (backends[1].Requests - 20) / (double)n;
        Assert.InRange(share, 0.25 - 0.039, 0.25 + 0.039);
    }

    [Fact]
    public async Task SendAsync_RingHash_KeepsEachKeyOnOneEndpoint()
    {
        await using var backends = await Backends.StartAsync(3);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(
            MeshJson.Service("catalog", backends.EndpointsJson(), """{ "Policy": "ring_hash", "HashHeader": "x-user" }""")));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var owners = new Dictionary<string, HashSet<string>>();
        for (var u = 0; u < 20; u++)
        {
            for (var i = 0; i < 10; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "http://catalog/whoami");
                request.Headers.Add("x-user", $"user-{u}");
                using var response = await client.SendAsync(request);
                var backend = (await response.Content.ReadAsStringAsync()).Split(' ')[0];
                owners.TryAdd($"user-{u}", []);
                owners[$"user-{u}"].Add(backend);
            }
        }

        Assert.All(owners.Values, set => Assert.Single(set));
        Assert.True(owners.Values.Select(s => s.Single()).Distinct().Count() > 1, "20 users should not all hash to one endpoint");
    }

    [Fact]
    public async Task SendAsync_ExplicitPort_MatchesOnlyAServiceNamedWithThatPort()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson(), extra: """  "Hosts": [ "catalog.internal:7070" ]  """)));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var body = await client.GetStringAsync("http://catalog.internal:7070/whoami");

        Assert.Equal($"{backends[0].Name} catalog.internal:7070", body);

        // The service answers to the names it lists, exactly as written: neither its key nor the host
        // without the port is a mesh name now, so such requests pass through (and fail to resolve).
        Assert.False(Mesh.Client.Http.Internal.MeshHttpHandler.TryGetService(
            host.Services.GetRequiredService<Mesh.Client.Runtime.Internal.MeshRuntime>().Current, new Uri("http://catalog.internal/"), out _));
        Assert.False(Mesh.Client.Http.Internal.MeshHttpHandler.TryGetService(
            host.Services.GetRequiredService<Mesh.Client.Runtime.Internal.MeshRuntime>().Current, new Uri("http://catalog/"), out _));
    }
}
