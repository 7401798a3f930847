// The Mesh.Client demo: four real Kestrel backends on 127.0.0.1 that serve only mutual TLS, and a client
// whose mesh comes only from appsettings.json — or, with --xds, from an in-process xDS control plane
// (Mesh.Client.Testing) serving the same mesh as Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment resources. For each policy it sends HttpClient requests and gRPC calls and prints,
// per endpoint, how many each backend answered and the SPIFFE identity the endpoint proved.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Grpc;
using Mesh.Client.Http;
using Mesh.Client.Testing;
using Mesh.Samples.Echo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var stopwatch = Stopwatch.StartNew();
int[] ports = [47101, 47102, 47103, 47104];
var backends = new List<EchoBackend>();

// What Istio's CA and node agent do in a cluster, done here at start: a root CA, the client workload's
// certificate written where the mesh reads it (cert-chain.pem, key.pem, root-cert.pem), and one
// certificate per backend with its SPIFFE ID. Backends a-c are "catalog", backend d is "catalog-v2".
const string ClientId = "spiffe://cluster.local/ns/demo/sa/frontend";
using var ca = new TestCertificateAuthority("Mesh Demo Root CA");
var credentials = Directory.CreateTempSubdirectory("mesh-demo-credentials-").FullName;
var (chainFile, keyFile, rootFile) = ca.WriteIstioFiles(credentials, ca.Issue(ClientId));
try
{
    for (var i = 0; i < ports.Length; i++)
    {
        var certificate = ca.Issue($"spiffe://cluster.local/ns/demo/sa/{(i < 3 ? "catalog" : "catalog-v2")}", ["localhost"]);
        backends.Add(await EchoBackend.StartAsync($"backend-{(char)('a' + i)}", ports[i], tls: new EchoTls
        {
            ServerCertificate = () => certificate,
            ClientRoots = [ca.Certificate],
            RequiredClientId = ClientId,
        }));
    }
}
catch (IOException ex)
{
    Console.Error.WriteLine($"Could not start the demo backends on 127.0.0.1 ports {string.Join(", ", ports)}: {ex.Message}");
    return 1;
}

var useXds = args.Contains("--xds");
XdsTestServer? controlPlane = null;
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [.. args.Where(a => a != "--xds")], ContentRootPath = AppContext.BaseDirectory });
if (useXds)
{
    // The same mesh, served by a control plane instead of appsettings.json. The client's only settings
    // are the bootstrap and which HttpClient hosts to ask the control plane about.
    controlPlane = await XdsTestServer.StartAsync();
    ServeDemoMesh(controlPlane, ports);
    builder.Configuration.Sources.Clear();

    // Istio's bootstrap names the certificate provider instance "default" over the agent's files.
    var bootstrap = JsonNode.Parse(controlPlane.CreateBootstrapJson("mesh-demo"))!.AsObject();
    bootstrap["certificate_providers"] = new JsonObject
    {
        ["default"] = new JsonObject
        {
            ["plugin_name"] = "file_watcher",
            ["config"] = new JsonObject { ["certificate_file"] = chainFile, ["private_key_file"] = keyFile, ["ca_certificate_file"] = rootFile, ["refresh_interval"] = "60s" },
        },
    };
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Mesh:Xds:Bootstrap"] = bootstrap.ToJsonString(),
        ["Mesh:Xds:HttpHosts:0"] = "catalog*",
        ["Mesh:Xds:HttpHosts:1"] = "shop",
    });
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
}
else
{
    // appsettings.json names the files where Istio's agent writes them in a pod; here they are in a temporary directory.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Mesh:Tls:CertificateProviders:default:CertificateFile"] = chainFile,
        ["Mesh:Tls:CertificateProviders:default:PrivateKeyFile"] = keyFile,
        ["Mesh:Tls:CertificateProviders:default:CaCertificateFile"] = rootFile,
    });
}

builder.Services.AddMesh();
builder.Services.AddHttpClient("demo");
using var host = builder.Build();
await host.StartAsync();

var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("demo");
var channels = new Dictionary<string, GrpcChannel>();
Echo.EchoClient Grpc(string service)
{
    if (!channels.TryGetValue(service, out var channel))
    {
        channel = MeshGrpc.CreateChannel($"xds:///{service}", host.Services);
        channels[service] = channel;
    }

    return new Echo.EchoClient(channel);
}

var byAddress = backends.ToDictionary(b => b.Name, b => b.Address);
var identities = new Dictionary<string, string>();
Console.WriteLine(useXds
    ? $"Mesh.Client demo: 4 Kestrel backends on 127.0.0.1, mesh configured by an xDS control plane at {controlPlane!.ServerUri} (ADS, state of the world)."
    : "Mesh.Client demo: 4 Kestrel backends on 127.0.0.1, mesh configured by appsettings.json only.");
Console.WriteLine($"Every backend serves mutual TLS only: it requires a client certificate for {ClientId} from the demo's CA.");
Console.WriteLine($"The client's workload certificate: {Path.Combine(credentials, "cert-chain.pem")}; the mesh checks each endpoint's SPIFFE ID.");
Console.WriteLine();

const int N = 300;
await Show("round_robin", "catalog", N, null);
await Show("weighted round_robin 1:3:6", "catalog-weighted", N, null);
await Show("least_request (choice_count 2)", "catalog-least", N, null);
await Show("priority failover (priority 0 draining/unhealthy)", "catalog-failover", N, null);
await Show("route: weighted split 80/20 catalog -> catalog-v2", "shop", N, null);
await Show("route: header x-beta: true -> catalog-v2", "shop", 50, ("x-beta", _ => "true"));
await Sticky();
if (controlPlane is not null)
{
    await LiveUpdate(controlPlane);
}

Console.WriteLine("mutual TLS, as each side verified the other:");
foreach (var backend in backends)
{
    Console.WriteLine($"  {backend.Address} {backend.Name}: proved {identities.GetValueOrDefault(backend.Name, "-")}; verified the client as {string.Join(", ", backend.ClientIdentities.Keys)} over {backend.ClientIdentities.Values.Sum()} TLS connection(s)");
}

Console.WriteLine();
if (controlPlane is not null)
{
    var requests = controlPlane.Clients.SelectMany(c => c.Requests).ToArray();
    Console.WriteLine($"Control plane: {controlPlane.Clients.Count} ADS stream(s) from node '{controlPlane.Clients[0].NodeId}', " +
        $"{requests.Count(r => r.Kind == XdsRequestKind.Ack)} ACKs, {requests.Count(r => r.Kind == XdsRequestKind.Nack)} NACKs.");
}

Console.WriteLine($"Done in {stopwatch.Elapsed.TotalSeconds:F1} s.");
foreach (var channel in channels.Values)
{
    channel.Dispose();
}

await host.StopAsync();
host.Dispose();
if (controlPlane is not null)
{
    await controlPlane.DisposeAsync();
}

foreach (var backend in backends)
{
    await backend.DisposeAsync();
}

Directory.Delete(credentials, recursive: true);
return 0;

async Task Show(string title, string service, int count, (string Name, Func<int, string> Value)? header)
{
    var httpCounts = new Dictionary<string, int>();
    var grpcCounts = new Dictionary<string, int>();
    for (var i = 0; i < count; i++)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{service}/whoami");
        var metadata = new Metadata();
        if (header is { } h)
        {
            request.Headers.Add(h.Name, h.Value(i));
            metadata.Add(h.Name, h.Value(i));
        }

        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStringAsync();
        Count(httpCounts, body.Split(' ')[0]);
        if (request.Options.TryGetValue(MeshRequestOptions.PeerIdentity, out var peer))
        {
            identities[body.Split(' ')[0]] = peer;
        }

        var reply = await Grpc(service).HelloAsync(new HelloRequest { Name = "demo" }, metadata);
        Count(grpcCounts, reply.Backend);
    }

    Console.WriteLine($"{title}  [{service}]  {count} HttpClient requests, {count} gRPC calls");
    Console.WriteLine($"  {"endpoint",-28}{"HttpClient",12}{"gRPC",8}   verified peer identity");
    foreach (var backend in backends)
    {
        var name = backend.Name;
        var h1 = httpCounts.GetValueOrDefault(name);
        var g1 = grpcCounts.GetValueOrDefault(name);
        var identity = h1 + g1 > 0 ? identities.GetValueOrDefault(name, "-") : "";
        Console.WriteLine($"  {byAddress[name] + " " + name,-28}{h1,12}{g1,8}   {identity}");
    }

    Console.WriteLine();
}

async Task Sticky()
{
    const int users = 8;
    const int perUser = 25;
    Console.WriteLine($"ring_hash stickiness  [catalog-sticky]  hash header x-user, {users} users x {perUser} requests each");
    Console.WriteLine($"  {"user",-10}{"HttpClient endpoints",-36}{"gRPC endpoints",-36}");
    var totals = new Dictionary<string, int>();
    var stuck = 0;
    for (var u = 0; u < users; u++)
    {
        var user = $"user-{u}";
        var httpSeen = new HashSet<string>();
        var grpcSeen = new HashSet<string>();
        for (var i = 0; i < perUser; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://catalog-sticky/whoami");
            request.Headers.Add("x-user", user);
            using var response = await http.SendAsync(request);
            var backend = (await response.Content.ReadAsStringAsync()).Split(' ')[0];
            httpSeen.Add(backend);
            Count(totals, backend);
            var reply = await Grpc("catalog-sticky").HelloAsync(new HelloRequest(), new Metadata { { "x-user", user } });
            grpcSeen.Add(reply.Backend);
        }

        stuck += httpSeen.Count == 1 && grpcSeen.Count == 1 && httpSeen.SetEquals(grpcSeen) ? 1 : 0;
        Console.WriteLine($"  {user,-10}{string.Join(",", httpSeen.Select(b => byAddress[b])),-36}{string.Join(",", grpcSeen.Select(b => byAddress[b])),-36}");
    }

    Console.WriteLine($"  {stuck} of {users} users stayed on one endpoint, the same for HttpClient and gRPC");
    Console.WriteLine($"  HttpClient requests per endpoint: {string.Join(", ", backends.Select(b => $"{b.Address}={totals.GetValueOrDefault(b.Name)}"))}");
    Console.WriteLine();
}

async Task LiveUpdate(XdsTestServer server)
{
    // A control plane moves traffic while the client runs: catalog's endpoints become backend-c only.
    // (Not backend-d: it proves catalog-v2's identity, and catalog's TLS settings would reject it.)
    var version = server.SetResource(XdsResources.ClusterLoadAssignment("catalog", $"127.0.0.1:{ports[2]}"));
    await server.WaitForAckAsync(XdsTypeUrls.ClusterLoadAssignment, version);
    var counts = new Dictionary<string, int>();
    for (var i = 0; i < 30; i++)
    {
        Count(counts, (await http.GetStringAsync("http://catalog/whoami")).Split(' ')[0]);
        Count(counts, (await Grpc("catalog").HelloAsync(new HelloRequest())).Backend);
    }

    Console.WriteLine($"live EDS update (version {version}, ACKed): catalog -> 127.0.0.1:{ports[2]} only; next 30 HttpClient + 30 gRPC: " +
        string.Join(", ", counts.Select(c => $"{byAddress[c.Key]}={c.Value}")));
    Console.WriteLine();
}

static void ServeDemoMesh(XdsTestServer server, int[] ports)
{
    string A(int i) => $"127.0.0.1:{ports[i]}";
    server.Update(set =>
    {
        void Service(string name, params XdsRoute[] routes)
        {
            set.Set(XdsResources.Listener(name, name + "-routes"));
            set.Set(XdsResources.RouteConfiguration(name + "-routes", name, routes));
        }

        Service("catalog", new XdsRoute { Cluster = "catalog" });
        Service("catalog-weighted", new XdsRoute { Cluster = "catalog-weighted" });
        Service("catalog-least", new XdsRoute { Cluster = "catalog-least" });
        Service("catalog-failover", new XdsRoute { Cluster = "catalog-failover" });
        Service("catalog-sticky", new XdsRoute { Cluster = "catalog-sticky", HashHeader = "x-user" });
        Service(
            "shop",
            new XdsRoute { Name = "beta-testers", Headers = new Dictionary<string, string> { ["x-beta"] = "true" }, Cluster = "catalog-v2" },
            new XdsRoute { Name = "canary", WeightedClusters = [("catalog", 80), ("catalog-v2", 20)] });

        // Istio's UpstreamTlsContext: identity and roots from provider "default", the endpoints' SPIFFE IDs.
        var catalog = XdsResources.IstioUpstreamTls("spiffe://cluster.local/ns/demo/sa/catalog");
        var v2 = XdsResources.IstioUpstreamTls("spiffe://cluster.local/ns/demo/sa/catalog-v2");
        var either = XdsResources.IstioUpstreamTls("spiffe://cluster.local/ns/demo/sa/catalog", "spiffe://cluster.local/ns/demo/sa/catalog-v2");
        set.Set(XdsResources.Cluster("catalog", http2: true, upstreamTls: catalog));
        set.Set(XdsResources.Cluster("catalog-weighted", http2: true, upstreamTls: catalog));
        set.Set(XdsResources.Cluster("catalog-least", lbPolicy: "least_request", http2: true, upstreamTls: catalog));
        set.Set(XdsResources.Cluster("catalog-failover", http2: true, upstreamTls: either));
        set.Set(XdsResources.Cluster("catalog-sticky", lbPolicy: "ring_hash", http2: true, upstreamTls: catalog));
        set.Set(XdsResources.Cluster("catalog-v2", http2: true, upstreamTls: v2));

        set.Set(XdsResources.ClusterLoadAssignment("catalog", A(0), A(1), A(2)));
        set.Set(XdsResources.ClusterLoadAssignment("catalog-weighted", new XdsLocality("zone-a",
            new XdsEndpoint(A(0)) { Weight = 1 }, new XdsEndpoint(A(1)) { Weight = 3 }, new XdsEndpoint(A(2)) { Weight = 6 })));
        set.Set(XdsResources.ClusterLoadAssignment("catalog-least", A(0), A(1), A(2)));
        set.Set(XdsResources.ClusterLoadAssignment("catalog-sticky", A(0), A(1), A(2)));
        set.Set(XdsResources.ClusterLoadAssignment(
            "catalog-failover",
            new XdsLocality("zone-a", new XdsEndpoint(A(0)) { Health = XdsHealthStatus.Draining }, new XdsEndpoint(A(1)) { Health = XdsHealthStatus.Unhealthy }),
            new XdsLocality("zone-b", new XdsEndpoint(A(2)), new XdsEndpoint(A(3))) { Priority = 1 }));
        set.Set(XdsResources.ClusterLoadAssignment("catalog-v2", A(3)));
    });
}

static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
