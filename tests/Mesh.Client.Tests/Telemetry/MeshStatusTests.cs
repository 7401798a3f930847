using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Grpc;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Telemetry;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>The JSON config dump of <see cref="MeshStatus"/>: appsettings, xDS and both, with runtime state.</summary>
public class MeshStatusTests
{
    [Fact]
    public async Task GetJson_AppsettingsMesh_DescribesServicesRoutesClustersAndEndpoints()
    {
        await using var backends = await Backends.StartAsync(2);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "shop": { "Routes": [
              { "Name": "api", "Match": { "PathPrefix": "/api", "Headers": { "x-canary": { "Exact": "1" } } }, "Cluster": "v2", "Timeout": "00:00:03" },
              { "Match": { "PathPrefix": "/" }, "WeightedClusters": { "v1": 80, "v2": 20 } } ] },
            {{MeshJson.Service("v1", backends.EndpointsJson(0), extra: "\"MaxRequests\": 50")}},
            {{MeshJson.Service("v2", backends.EndpointsJson(1), policy: "least_request")}}
            """));
        var status = host.Services.GetRequiredService<MeshStatus>();

        using var dump = JsonDocument.Parse(await status.GetJsonAsync());
        var root = dump.RootElement;

        Assert.Equal(JsonValueKind.Null, root.GetProperty("control_plane").ValueKind);
        Assert.Empty(root.GetProperty("xds_resources").EnumerateArray());
        Assert.Equal("appsettings", root.GetProperty("mesh").GetProperty("source").GetString());
        Assert.Equal(["shop", "v1", "v2"], root.GetProperty("services").EnumerateArray().Select(s => s.GetProperty("name").GetString()!));
        Assert.All(root.GetProperty("services").EnumerateArray(), s => Assert.Equal("appsettings", s.GetProperty("source").GetString()));

        var routes = Service(root, "shop").GetProperty("routes").EnumerateArray().ToArray();
        Assert.Equal(2, routes.Length);
        Assert.Equal("api", routes[0].GetProperty("name").GetString());
        Assert.Equal("prefix /api, header x-canary exact \"1\"", routes[0].GetProperty("match").GetString());
        Assert.Equal(3, routes[0].GetProperty("timeout_seconds").GetDouble());
        Assert.Equal("v2", Assert.Single(routes[0].GetProperty("clusters").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(
            [("v1", 80), ("v2", 20)],
            routes[1].GetProperty("clusters").EnumerateArray().Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("weight").GetInt32())));

        var v1 = Cluster(root, "v1");
        Assert.Equal("appsettings", v1.GetProperty("source").GetString());
        Assert.Equal("round_robin", v1.GetProperty("lb_policy").GetString());
        Assert.Equal("http2", v1.GetProperty("protocol").GetString());
        Assert.Equal(50, v1.GetProperty("circuit_breaker").GetProperty("max_requests").GetInt32());
        Assert.Equal(0, v1.GetProperty("circuit_breaker").GetProperty("in_flight").GetInt32());
        Assert.Equal(JsonValueKind.Null, v1.GetProperty("tls").ValueKind);
        Assert.Equal(JsonValueKind.Null, v1.GetProperty("outlier_detection").ValueKind);
        var endpoint = Assert.Single(v1.GetProperty("endpoints").EnumerateArray());
        Assert.Equal(backends[0].Address, endpoint.GetProperty("address").GetString());
        Assert.Equal("HEALTHY", endpoint.GetProperty("health").GetString());
        Assert.True(endpoint.GetProperty("usable").GetBoolean());
        Assert.False(endpoint.GetProperty("ejected").GetBoolean());
        Assert.Equal(0, endpoint.GetProperty("priority").GetInt32());
        Assert.Equal(1, endpoint.GetProperty("weight").GetInt32());
        Assert.Equal("least_request", Cluster(root, "v2").GetProperty("lb_policy").GetString());
    }

    [Fact]
    public async Task GetJson_TlsCluster_SummarisesTlsWithoutKeyMaterial()
    {
        using var tls = new TlsKit();
        await using var host = await MeshHost.StartAsync($$"""
            {
              "Mesh": {
                "Tls": { "CertificateProviders": { "mesh": {
                  "CertificateFile": {{JsonSerializer.Serialize(tls.ChainFile)}},
                  "PrivateKeyFile": {{JsonSerializer.Serialize(tls.KeyFile)}},
                  "CaCertificateFile": {{JsonSerializer.Serialize(tls.RootFile)}} } } },
                "Services": {
                  "payments": {
                    "Endpoints": [ "127.0.0.1:1" ],
                    "Tls": { "CertificateProvider": "mesh", "RootCertificateProvider": "mesh",
                             "SubjectAltNames": [ { "Type": "Uri", "Exact": "spiffe://cluster.local/ns/shop/sa/payments" } ] }
                  }
                }
              }
            }
            """);
        var status = host.Services.GetRequiredService<MeshStatus>();

        var json = Encoding.UTF8.GetString(await status.GetJsonAsync());
        using var dump = JsonDocument.Parse(json);

        var summary = Cluster(dump.RootElement, "payments").GetProperty("tls");
        Assert.Equal("mtls", summary.GetProperty("mode").GetString());
        Assert.Equal("mesh", summary.GetProperty("identity_provider").GetString());
        Assert.Equal("mesh", summary.GetProperty("roots_provider").GetString());
        Assert.Equal("URI exact 'spiffe://cluster.local/ns/shop/sa/payments'", Assert.Single(summary.GetProperty("subject_alt_names").EnumerateArray()).GetString());
        Assert.DoesNotContain("PRIVATE KEY", json, StringComparison.Ordinal);
        Assert.DoesNotContain(tls.KeyFile, json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetJson_EndpointRuntimeState_ShowsInFlightEjectionAndOutlierCounters()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var backends = await Backends.StartAsync(3);
        backends[1].Fault = EchoFault.Unavailable;
        backends[2].Fault = EchoFault.Slow;
        backends[2].SlowDelay = TimeSpan.FromMinutes(5);
        await using var host = await MeshHost.StartAsync(
            MeshJson.WithServices($$"""
                {{MeshJson.Service("catalog", backends.EndpointsJson(0, 1), extra: """
                    "OutlierDetection": { "Interval": "10s", "BaseEjectionTime": "30s", "MaxEjectionPercent": 50,
                                          "FailurePercentage": { "Threshold": 50, "MinimumHosts": 2, "RequestVolume": 5 } }
                    """)}},
                {{MeshJson.Service("slow", backends.EndpointsJson(2))}}
                """),
            services => services.AddSingleton<TimeProvider>(time));
        var status = host.Services.GetRequiredService<MeshStatus>();
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Ten requests to each endpoint of catalog: the failing one's 503s are counted for outlier detection.
        for (var i = 0; i < 20; i++)
        {
            await http.GetAsync("http://catalog/whoami");
        }

        var failing = Endpoint(await DumpAsync(status), "catalog", backends[1].Address);
        Assert.Equal(10, failing.GetProperty("interval_failures").GetInt64());
        Assert.Equal(0, failing.GetProperty("interval_successes").GetInt64());
        Assert.Equal(10, failing.GetProperty("requests_started").GetInt64());
        Assert.Equal(10, Endpoint(await DumpAsync(status), "catalog", backends[0].Address).GetProperty("interval_successes").GetInt64());

        // The interval passes: the failing endpoint is ejected for the base ejection time.
        time.Advance(TimeSpan.FromSeconds(10));
        var runtime = host.Services.GetRequiredService<MeshRuntime>();
        await Wait.UntilAsync(() => runtime.Current.Clusters["catalog"].AllEndpoints.Any(e => e.IsEjected), "the failing endpoint to be ejected");

        var root = (await DumpAsync(status)).RootElement;
        var ejected = Endpoint(root, "catalog", backends[1].Address);
        Assert.True(ejected.GetProperty("ejected").GetBoolean());
        Assert.False(ejected.GetProperty("usable").GetBoolean());
        Assert.Equal("2030-01-02T03:04:15.000Z", ejected.GetProperty("ejected_at").GetString());
        Assert.Equal("2030-01-02T03:04:45.000Z", ejected.GetProperty("ejected_until").GetString());
        Assert.Equal(1, ejected.GetProperty("ejection_multiplier").GetInt32());
        Assert.Equal(0, ejected.GetProperty("interval_failures").GetInt64());
        Assert.False(Endpoint(root, "catalog", backends[0].Address).GetProperty("ejected").GetBoolean());
        var outlier = Cluster(root, "catalog").GetProperty("outlier_detection");
        Assert.Equal(1, outlier.GetProperty("ejected_endpoints").GetInt32());
        Assert.Equal(10, outlier.GetProperty("interval_seconds").GetDouble());
        Assert.True(outlier.GetProperty("failure_percentage").GetBoolean());
        Assert.False(outlier.GetProperty("success_rate").GetBoolean());

        // A request that hangs is in flight on its endpoint and its cluster's circuit breaker.
        using var cancel = new CancellationTokenSource();
        var hanging = http.GetAsync("http://slow/whoami", cancel.Token);
        await Wait.UntilAsync(async () => Endpoint(await DumpAsync(status), "slow", backends[2].Address).GetProperty("in_flight").GetInt32() == 1, "the slow request to be in flight");
        Assert.Equal(1, Cluster((await DumpAsync(status)).RootElement, "slow").GetProperty("circuit_breaker").GetProperty("in_flight").GetInt32());

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging);
        await Wait.UntilAsync(async () => Endpoint(await DumpAsync(status), "slow", backends[2].Address).GetProperty("in_flight").GetInt32() == 0, "the cancelled request to end");
    }

    [Fact]
    public async Task GetJson_XdsMesh_ShowsEveryResourceAndANackWithItsErrorAndTheLastGoodVersion()
    {
        await using var world = await XdsWorld.StartAsync(backends: 2);
        await using var mesh = await MeshHost.StartAsync(XdsMesh.AppSettings(world.Bootstrap));
        var good = world.SetService("catalog", "catalog-cluster", 0, 1);
        await CallAsync(mesh.Services, "catalog");
        await world.WaitForAcksAsync(good);

        var bad = world.RejectCluster("catalog-cluster");
        await world.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        var status = mesh.Services.GetRequiredService<MeshStatus>();
        var root = (await DumpAsync(status)).RootElement;

        var controlPlane = root.GetProperty("control_plane");
        Assert.Equal(world.Server.ServerUri, controlPlane.GetProperty("server").GetString());
        Assert.True(controlPlane.GetProperty("connected").GetBoolean());
        Assert.Equal("mesh-test", controlPlane.GetProperty("node").GetProperty("id").GetString());

        var resources = root.GetProperty("xds_resources").EnumerateArray().ToArray();
        Assert.Equal(
            ["LDS catalog", "RDS catalog-routes", "CDS catalog-cluster", "EDS catalog-cluster"],
            resources.Select(r => $"{r.GetProperty("type").GetString()} {r.GetProperty("name").GetString()}"));
        foreach (var resource in resources.Where(r => r.GetProperty("type").GetString() != "CDS"))
        {
            Assert.Equal("ACKED", resource.GetProperty("status").GetString());
            Assert.Equal(good[resource.GetProperty("type_url").GetString()!], resource.GetProperty("version").GetString());
            Assert.Equal(JsonValueKind.Null, resource.GetProperty("error").ValueKind);
            Assert.NotEqual(JsonValueKind.Null, resource.GetProperty("last_updated").ValueKind);
        }

        var nacked = resources.Single(r => r.GetProperty("type").GetString() == "CDS");
        Assert.Equal("NACKED", nacked.GetProperty("status").GetString());
        Assert.Equal(good[TestingTypeUrls.Cluster], nacked.GetProperty("version").GetString());
        var error = nacked.GetProperty("error");
        Assert.Equal(bad, error.GetProperty("rejected_version").GetString());
        Assert.Contains("catalog-cluster", error.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Contains("STATIC", error.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, error.GetProperty("last_update_attempt").ValueKind);

        // The last good configuration stays in force.
        var service = Service(root, "catalog");
        Assert.Equal("xds", service.GetProperty("source").GetString());
        Assert.Equal("catalog-cluster", service.GetProperty("routes")[0].GetProperty("clusters")[0].GetProperty("name").GetString());
        var cluster = Cluster(root, "catalog-cluster");
        Assert.Equal("xds", cluster.GetProperty("source").GetString());
        Assert.Equal(JsonValueKind.Null, cluster.GetProperty("error").ValueKind);
        Assert.Equal(
            [world.Backends[0].Address, world.Backends[1].Address],
            cluster.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("address").GetString()));
    }

    [Fact]
    public async Task GetJson_AppsettingsBesideXds_NamesTheSourceOfEachServiceAndCluster()
    {
        await using var world = await XdsWorld.StartAsync(backends: 2);
        await using var mesh = await MeshHost.StartAsync(XdsMesh.AppSettings(
            world.Bootstrap,
            $$""" "Services": { {{MeshJson.Service("local", world.Backends.EndpointsJson(1))}} } """));
        world.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh.Services, "catalog");

        var root = (await DumpAsync(mesh.Services.GetRequiredService<MeshStatus>())).RootElement;

        Assert.Equal("appsettings+xds", root.GetProperty("mesh").GetProperty("source").GetString());
        Assert.Equal("appsettings", Service(root, "local").GetProperty("source").GetString());
        Assert.Equal("xds", Service(root, "catalog").GetProperty("source").GetString());
        Assert.Equal("appsettings", Cluster(root, "local").GetProperty("source").GetString());
        Assert.Equal("xds", Cluster(root, "catalog-cluster").GetProperty("source").GetString());
    }

    internal static async Task<JsonDocument> DumpAsync(MeshStatus status) => JsonDocument.Parse(await status.GetJsonAsync());

    internal static JsonElement Service(JsonElement root, string name) =>
        root.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    internal static JsonElement Cluster(JsonElement root, string name) =>
        root.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static JsonElement Endpoint(JsonDocument dump, string cluster, string address) => Endpoint(dump.RootElement, cluster, address);

    private static JsonElement Endpoint(JsonElement root, string cluster, string address) =>
        Cluster(root, cluster).GetProperty("endpoints").EnumerateArray().Single(e => e.GetProperty("address").GetString() == address);

    /// <summary>One gRPC call to <paramref name="target"/>, which makes the mesh look it up over xDS.</summary>
    internal static async Task CallAsync(IServiceProvider services, string target)
    {
        using var channel = MeshGrpc.CreateChannel($"xds:///{target}", services);
        await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(15));
    }
}

/// <summary>
/// A real xDS control plane and echo backends, with the resources it serves kept as sent, so that tests can
/// compare what the client reports with what the server sent.
/// </summary>
internal sealed class XdsWorld : IAsyncDisposable
{
    private readonly Dictionary<(string TypeUrl, string Name), Any> _sent = [];

    private XdsWorld(XdsTestServer server, Backends backends)
    {
        Server = server;
        Backends = backends;
        Bootstrap = server.CreateBootstrapJson("mesh-test");
    }

    public XdsTestServer Server { get; }

    public Backends Backends { get; }

    public string Bootstrap { get; }

    public static async Task<XdsWorld> StartAsync(int backends) =>
        new(await XdsTestServer.StartAsync(), await Mesh.Client.Tests.TestInfrastructure.Backends.StartAsync(backends));

    /// <summary>The resource as the server last sent it.</summary>
    public Any Sent(string typeUrl, string name) => _sent[(typeUrl, name)];

    /// <summary>Serves <paramref name="target"/> as Istio does: Listener, RDS routes, EDS cluster (HTTP/2), endpoints.</summary>
    public IReadOnlyDictionary<string, string> SetService(string target, string cluster, params int[] backendIndexes)
    {
        var resources = new (string TypeUrl, string Name, Any Resource)[]
        {
            (TestingTypeUrls.Listener, target, XdsResources.Listener(target, target + "-routes")),
            (TestingTypeUrls.RouteConfiguration, target + "-routes", XdsResources.RouteConfiguration(target + "-routes", target, cluster)),
            (TestingTypeUrls.Cluster, cluster, XdsResources.Cluster(cluster, http2: true)),
            (TestingTypeUrls.ClusterLoadAssignment, cluster, XdsResources.ClusterLoadAssignment(cluster, [.. backendIndexes.Select(i => Backends[i].Address)])),
        };
        foreach (var (typeUrl, name, resource) in resources)
        {
            _sent[(typeUrl, name)] = resource;
        }

        return Server.Update(set =>
        {
            foreach (var (_, _, resource) in resources)
            {
                set.Set(resource);
            }
        });
    }

    /// <summary>Replaces a cluster with a STATIC one, which a gRPC xDS client rejects. Returns the rejected version.</summary>
    public string RejectCluster(string name) =>
        Server.SetResource(TestingTypeUrls.Cluster, name, Any.Pack(new Envoy.Config.Cluster.V3.Cluster
        {
            Name = name,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Static,
        }));

    public async Task WaitForAcksAsync(IReadOnlyDictionary<string, string> versions)
    {
        foreach (var (typeUrl, version) in versions)
        {
            await Server.WaitForAckAsync(typeUrl, version);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Backends.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>
/// An ASP.NET Core application on Kestrel, 127.0.0.1, with <c>AddMesh()</c> and <c>MapMeshStatus()</c>: the page
/// and JSON on an HTTP/1.1 port (what a browser speaks in cleartext), gRPC (CSDS) on an HTTP/2 port.
/// </summary>
internal sealed class MeshStatusWebApp : IAsyncDisposable
{
    private MeshStatusWebApp(WebApplication app, ListenOptions http, ListenOptions grpc)
    {
        App = app;
        HttpAddress = new Uri($"http://127.0.0.1:{http.IPEndPoint!.Port}");
        GrpcAddress = new Uri($"http://127.0.0.1:{grpc.IPEndPoint!.Port}");
    }

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>The HTTP/1.1 port: the page and the JSON.</summary>
    public Uri HttpAddress { get; }

    /// <summary>The HTTP/2 (h2c) port: CSDS.</summary>
    public Uri GrpcAddress { get; }

    public static async Task<MeshStatusWebApp> StartAsync(string appSettingsJson, bool addGrpc = true, string pattern = "/mesh")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(appSettingsJson)));
        builder.Logging.ClearProviders();
        ListenOptions? http = null;
        ListenOptions? grpc = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                http = o;
            });
            kestrel.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                grpc = o;
            });
        });
        builder.Services.AddMesh();
        if (addGrpc)
        {
            builder.Services.AddMeshClientStatus();
        }

        var app = builder.Build();
        app.MapMeshStatus(pattern);
        await app.StartAsync();
        return new MeshStatusWebApp(app, http!, grpc!);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
