// A user's console app: the mesh comes from appsettings.json (AddMesh), one HttpClient and one gRPC client call
// the mesh service "echo". It exits 0 only when every endpoint listed in appsettings.json answered through both
// front doors; 1 when one did not; 2 when anything failed (a missing assembly, a bad configuration, a failed call).
using System.Reflection;
using Mesh.Client.Configuration;
using Mesh.Samples.Echo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

try
{
    return await RunAsync(args);
}
catch (Exception e)
{
    Console.WriteLine("consumer FAILED: " + e);
    return 2;
}

static async Task<int> RunAsync(string[] args)
{
    var builder = Host.CreateApplicationBuilder(args);
    builder.Services.AddMesh();
    builder.Services.AddHttpClient("echo", c => c.BaseAddress = new Uri("http://echo"));
    builder.Services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///echo"));

    using var host = builder.Build();
    await host.StartAsync();

    var mesh = typeof(MeshOptions).Assembly;
    Console.WriteLine($"Mesh.Client {mesh.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion} from {mesh.Location}");

    var endpoints = builder.Configuration.GetSection("Mesh:Services:echo:Endpoints").GetChildren().Count();
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("echo");
    var grpc = host.Services.GetRequiredService<Echo.EchoClient>();

    var httpSpread = await SpreadAsync(endpoints, async ct => (await http.GetStringAsync("/whoami", ct)).Split(' ')[0], deadline.Token);
    Console.WriteLine("HttpClient http://echo/whoami: " + Describe(httpSpread));
    var grpcSpread = await SpreadAsync(endpoints, async ct => (await grpc.HelloAsync(new HelloRequest { Name = "consumer" }, cancellationToken: ct)).Backend, deadline.Token);
    Console.WriteLine("gRPC xds:///echo Hello: " + Describe(grpcSpread));

    await host.StopAsync();
    if (endpoints >= 2 && httpSpread.Count == endpoints && grpcSpread.Count == endpoints)
    {
        Console.WriteLine($"spread ok: all {endpoints} endpoints answered through both front doors");
        return 0;
    }

    Console.WriteLine($"spread FAILED: {endpoints} endpoints configured, {httpSpread.Count} answered HttpClient, {grpcSpread.Count} answered gRPC");
    return 1;
}

// Calls until every endpoint has answered and each door made at least 5 calls per endpoint, at most 200 calls:
// gRPC round robin spreads over the subchannels already connected, so its first calls may all land on one.
static async Task<SortedDictionary<string, int>> SpreadAsync(int endpoints, Func<CancellationToken, Task<string>> call, CancellationToken cancellationToken)
{
    var answered = new SortedDictionary<string, int>(StringComparer.Ordinal);
    for (var calls = 0; calls < 200 && (answered.Count < endpoints || calls < 5 * endpoints); calls++)
    {
        var backend = await call(cancellationToken);
        answered[backend] = answered.GetValueOrDefault(backend) + 1;
    }

    return answered;
}

static string Describe(SortedDictionary<string, int> spread) =>
    string.Join(", ", spread.Select(p => $"{p.Key} {p.Value}"));
