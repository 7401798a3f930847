// The gRPC sample: greeter servers, an xDS control plane and a gRPC client, all in this process on 127.0.0.1.
// The client's code names only xds:///greeter. The control plane tells it where greeter is and how to
// balance, then changes that while the client runs: first an endpoint change, then a weighted split.
using Mesh.Client.Testing;
using Mesh.Samples.GrpcXds;

// The servers: three instances of v1 and a canary of v2, each on a port the system picks.
GreeterServer[] servers =
[
    await GreeterServer.StartAsync("greeter-1", "v1"),
    await GreeterServer.StartAsync("greeter-2", "v1"),
    await GreeterServer.StartAsync("greeter-3", "v1"),
    await GreeterServer.StartAsync("greeter-canary", "v2"),
];
var (greeter1, greeter2, greeter3, canary) = (servers[0], servers[1], servers[2], servers[3]);

// The control plane. In a cluster this is istiod or another xDS server; here Mesh.Client.Testing runs one
// in process. It serves what a gRPC client asks for xds:///greeter: the Listener "greeter", its
// RouteConfiguration, the Cluster the route names and that cluster's endpoints (ClusterLoadAssignment).
await using var controlPlane = await XdsTestServer.StartAsync();
controlPlane.Update(mesh => mesh
    .Set(XdsResources.Listener("greeter", "greeter-routes"))
    .Set(XdsResources.RouteConfiguration("greeter-routes", "greeter", "greeter-v1"))
    .Set(XdsResources.Cluster("greeter-v1", lbPolicy: "round_robin"))
    .Set(XdsResources.ClusterLoadAssignment("greeter-v1", greeter1.Address, greeter2.Address)));

// The client: AddMesh() and a gRPC client for xds:///greeter. The bootstrap says where the control plane is;
// in a pod, Istio's agent writes it and sets GRPC_XDS_BOOTSTRAP, and this line is not needed.
var builder = Host.CreateApplicationBuilder(args);
builder.Configuration["Mesh:Xds:Bootstrap"] = controlPlane.CreateBootstrapJson(nodeId: "greeter-client");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddMesh();
builder.Services.AddGrpcClient<Greeter.GreeterClient>(o => o.Address = new Uri("xds:///greeter"));
using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<Greeter.GreeterClient>();

Console.WriteLine("Greeter servers (gRPC, HTTP/2 on 127.0.0.1, ports picked by the system):");
foreach (var server in servers)
{
    Console.WriteLine($"  {server.Instance.Name,-15} {server.Instance.Version}  {server.Address}");
}

Console.WriteLine($"xDS control plane: {controlPlane.ServerUri} (ADS). The client's bootstrap points there; its code says only xds:///greeter.");
Console.WriteLine();

Console.WriteLine("1. Listener greeter -> RouteConfiguration greeter-routes -> Cluster greeter-v1 (round_robin) -> greeter-1, greeter-2");
await PrintSpreadAsync(100);

Console.WriteLine("2. Endpoint change: ClusterLoadAssignment greeter-v1 -> greeter-2, greeter-3 (greeter-1 taken out)");
var eds = controlPlane.SetResource(XdsResources.ClusterLoadAssignment("greeter-v1", greeter2.Address, greeter3.Address));
await PushedAsync(XdsTypeUrls.ClusterLoadAssignment, eds, greeter3);
await PrintSpreadAsync(100);

Console.WriteLine("3. Weighted split: route greeter-v1 75, greeter-v2 25 (new Cluster greeter-v2 -> greeter-canary)");
var versions = controlPlane.Update(mesh => mesh
    .Set(XdsResources.Cluster("greeter-v2", lbPolicy: "round_robin"))
    .Set(XdsResources.ClusterLoadAssignment("greeter-v2", canary.Address))
    .Set(XdsResources.RouteConfiguration("greeter-routes", "greeter", ("greeter-v1", 75), ("greeter-v2", 25))));
await PushedAsync(XdsTypeUrls.RouteConfiguration, versions[XdsTypeUrls.RouteConfiguration], canary);
await PrintSpreadAsync(200);

var requests = controlPlane.Clients.SelectMany(c => c.Requests).ToArray();
Console.WriteLine($"Control plane: {controlPlane.Clients.Count} ADS stream(s) from node '{controlPlane.Clients[0].NodeId}', " +
    $"{requests.Count(r => r.Kind == XdsRequestKind.Ack)} ACKs, {requests.Count(r => r.Kind == XdsRequestKind.Nack)} NACKs.");

await host.StopAsync();
foreach (var server in servers)
{
    await server.DisposeAsync();
}

// Makes `calls` calls and prints how many each server answered.
async Task PrintSpreadAsync(int calls)
{
    var answered = servers.ToDictionary(s => s.Instance.Name, _ => 0);
    for (var i = 0; i < calls; i++)
    {
        var reply = await client.SayHelloAsync(new HelloRequest { Name = "mesh" });
        answered[reply.Server]++;
    }

    Console.WriteLine($"   {calls} calls: {string.Join(", ", answered.Select(a => $"{a.Key} {a.Value}"))}");
    Console.WriteLine();
}

// Waits until the client ACKs the pushed version, then calls until one reaches the server the change brought
// in. The ACK says the client accepted the resource; round robin sends calls only to connected servers, so
// the newcomer gets calls once its connection is up, and a weighted split picks it one call in four.
async Task PushedAsync(string typeUrl, string version, GreeterServer newcomer)
{
    await controlPlane.WaitForAckAsync(typeUrl, version);
    var before = 0;
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
    while ((await client.SayHelloAsync(new HelloRequest { Name = "mesh" }, cancellationToken: timeout.Token)).Server != newcomer.Instance.Name)
    {
        before++;
    }

    Console.WriteLine($"   version {version} pushed and ACKed; call {before + 1} after the ACK was the first to reach {newcomer.Instance.Name}");
}
