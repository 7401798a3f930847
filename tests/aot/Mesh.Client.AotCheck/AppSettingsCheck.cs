using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using Mesh.Client.Grpc;
using Mesh.Client.Http;
using Mesh.Client.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.ServiceDiscovery;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Mesh.Client.AotCheck;

/// <summary>
/// The mesh configured by an appsettings.json file only: <c>AddMesh()</c>, an HttpClient and a gRPC client over
/// <c>xds:///</c>, mutual TLS from file_watcher certificate files, OpenTelemetry spans and metrics, the health
/// check, the config dump, the dashboard, and a live reload of the file.
/// </summary>
internal static class AppSettingsCheck
{
    private const string ServerId = "spiffe://cluster.local/ns/aot/sa/secure";
    private const string ClientId = "spiffe://cluster.local/ns/aot/sa/client";

    public static async Task RunAsync(CheckLog log)
    {
        var directory = Directory.CreateTempSubdirectory("mesh-aot-check-").FullName;
        try
        {
            await RunAsync(log, directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task RunAsync(CheckLog log, string directory)
    {
        using var ca = new TestCertificateAuthority("Mesh AOT check CA");
        using var serverCertificate = ca.Issue(ServerId, ["localhost"], ipAddresses: [IPAddress.Loopback]);
        using var clientCertificate = ca.Issue(ClientId);
        var files = ca.WriteIstioFiles(Path.Combine(directory, "credentials"), clientCertificate);

        await using var a = await Backend.StartAsync("backend-a");
        await using var b = await Backend.StartAsync("backend-b");
        await using var c = await Backend.StartAsync("backend-c");
        await using var secure = await Backend.StartAsync("backend-secure", serverCertificate, ca.Certificate);
        var settings = Path.Combine(directory, "appsettings.json");
        File.WriteAllText(settings, AppSettings(files, secure.Address, a.Address, b.Address, c.Address));

        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = directory, Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddMesh();
        builder.Services.AddMeshClientStatus();
        builder.Services.AddHealthChecks().AddMeshHealthCheck();
        // gRPC clients get names of their own: a gRPC client sharing an HttpClient's name would share its handler.
        builder.Services.AddHttpClient("catalog", h => h.BaseAddress = new Uri("http://catalog"));
        builder.Services.AddHttpClient("secure", h => h.BaseAddress = new Uri("http://secure"));
        builder.Services.AddGrpcClient<Probe.ProbeClient>("catalog-grpc", o => o.Address = new Uri("xds:///catalog"));
        builder.Services.AddGrpcClient<Probe.ProbeClient>("secure-grpc", o => o.Address = new Uri("xds:///secure"));
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddMeshInstrumentation().AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddMeshInstrumentation().AddInMemoryExporter(metrics));
        await using var app = builder.Build();
        app.MapMeshStatus("/mesh");
        app.MapHealthChecks("/healthz");
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        using var admin = new HttpClient { BaseAddress = new Uri(addresses[0]) };

        var http = app.Services.GetRequiredService<IHttpClientFactory>();
        var grpc = app.Services.GetRequiredService<global::Grpc.Net.ClientFactory.GrpcClientFactory>();

        await log.RunAsync("appsettings: HttpClient round_robin", async () =>
        {
            var client = http.CreateClient("catalog");
            var answers = new Dictionary<string, int>();
            for (var i = 0; i < 30; i++)
            {
                var body = await client.GetStringAsync("/whoami");
                var backend = body.Split(' ')[0];
                answers[backend] = answers.GetValueOrDefault(backend) + 1;
            }

            var spread = Describe(answers);
            Expect.That(answers.Count == 3 && answers.Values.All(n => n == 10), "expected 10 requests on each of 3 backends, got " + spread);
            return spread;
        });

        await log.RunAsync("appsettings: gRPC xds:///catalog", async () =>
        {
            var client = grpc.CreateClient<Probe.ProbeClient>("catalog-grpc");
            var answers = new Dictionary<string, int>();
            await Expect.EventuallyAsync(async () =>
            {
                var reply = await client.WhoAsync(new WhoRequest { Name = "aot" });
                Expect.That(reply.Authority == "catalog", $"the call arrived with :authority '{reply.Authority}', not 'catalog'");
                answers[reply.Backend] = answers.GetValueOrDefault(reply.Backend) + 1;
                return answers.Count == 3;
            }, "gRPC calls on all 3 backends");
            return Describe(answers);
        });

        await log.RunAsync("appsettings: ServiceEndpointResolver (Microsoft.Extensions.ServiceDiscovery)", async () =>
        {
            var resolver = app.Services.GetRequiredService<ServiceEndpointResolver>();
            var source = await resolver.GetEndpointsAsync("http://catalog", CancellationToken.None);
            var endpoints = source.Endpoints.Select(e => e.EndPoint.ToString()!).Order(StringComparer.Ordinal).ToList();
            string[] expected = [.. new[] { a.Address, b.Address, c.Address }.Order(StringComparer.Ordinal)];
            Expect.That(endpoints.SequenceEqual(expected), $"resolved {string.Join(", ", endpoints)}, expected {string.Join(", ", expected)}");
            return string.Join(", ", endpoints);
        });

        await log.RunAsync("appsettings: mutual TLS, HttpClient", async () =>
        {
            using var response = await http.CreateClient("secure").GetAsync("/whoami");
            var body = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
            Expect.That(body == $"backend-secure {ClientId}", $"the backend answered '{body}', expected it to have verified {ClientId}");
            Expect.That(
                response.RequestMessage!.Options.TryGetValue(MeshRequestOptions.PeerIdentity, out var peer) && peer == ServerId,
                $"the mesh reports peer identity '{peer}', expected {ServerId}");
            return $"server proved {peer}; backend verified {ClientId}";
        });

        await log.RunAsync("appsettings: mutual TLS, gRPC", async () =>
        {
            var reply = await grpc.CreateClient<Probe.ProbeClient>("secure-grpc").WhoAsync(new WhoRequest { Name = "aot" });
            Expect.That(reply.Peer == ClientId, $"the backend verified '{reply.Peer}', expected {ClientId}");
            return $"{reply.Backend} verified {reply.Peer}";
        });

        await log.RunAsync("appsettings: unknown gRPC target fails with the mesh's reason", async () =>
        {
            using var channel = MeshGrpc.CreateChannel("xds:///nowhere", app.Services);
            try
            {
                await new Probe.ProbeClient(channel).WhoAsync(new WhoRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            }
            catch (RpcException ex) when (ex.StatusCode == global::Grpc.Core.StatusCode.Unavailable && ex.Status.Detail.Contains("no mesh service named 'nowhere'", StringComparison.Ordinal))
            {
                return ex.Status.Detail;
            }

            throw new InvalidOperationException("the call to xds:///nowhere did not fail with UNAVAILABLE naming the service");
        });

        await log.RunAsync("appsettings: OpenTelemetry spans and metrics", () =>
        {
            app.Services.GetRequiredService<TracerProvider>().ForceFlush();
            app.Services.GetRequiredService<MeterProvider>().ForceFlush();
            var names = spans.Select(s => s.DisplayName).ToHashSet();
            Expect.That(names.Contains("GET catalog") && names.Contains("Sent.mesh.aotcheck.Probe.Who"), "spans: " + string.Join(", ", names));
            var instruments = metrics.Select(m => m.Name).ToHashSet();
            string[] wanted = ["mesh.http.client.call.duration", "grpc.client.call.duration", "mesh.lb.picks"];
            Expect.That(wanted.All(instruments.Contains), "metrics: " + string.Join(", ", instruments));
            return Task.FromResult($"{spans.Count} spans ({string.Join(", ", names.Order())}), metrics include {string.Join(", ", wanted)}");
        });

        await log.RunAsync("appsettings: health check", async () =>
        {
            var health = await admin.GetStringAsync("/healthz");
            Expect.That(health == "Healthy", "GET /healthz answered " + health);
            return health;
        });

        await log.RunAsync("appsettings: config dump (MeshStatus JSON)", async () =>
        {
            using var dump = JsonDocument.Parse(await admin.GetByteArrayAsync("/mesh/config_dump"));
            var root = dump.RootElement;
            Expect.That(root.GetProperty("mesh").GetProperty("source").GetString() == "appsettings", "mesh.source is not appsettings");
            Expect.That(root.GetProperty("control_plane").ValueKind == JsonValueKind.Null, "control_plane is not null without xDS");
            var clusters = root.GetProperty("clusters").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
            var catalog = clusters["catalog"].GetProperty("endpoints").EnumerateArray().ToList();
            Expect.That(catalog.Count == 3 && catalog.All(e => e.GetProperty("requests_started").GetInt64() >= 10), "catalog's endpoints: " + clusters["catalog"]);
            Expect.That(clusters["secure"].GetProperty("tls").GetProperty("mode").GetString() == "mtls", "secure's tls: " + clusters["secure"]);
            return $"{clusters.Count} clusters; catalog endpoints started {string.Join("/", catalog.Select(e => e.GetProperty("requests_started").GetInt64()))} requests; secure tls mtls";
        });

        await log.RunAsync("appsettings: dashboard page", async () =>
        {
            using var response = await admin.GetAsync("/mesh");
            var page = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
            Expect.That(response.Content.Headers.ContentType?.MediaType == "text/html" && page.Contains("<html", StringComparison.OrdinalIgnoreCase), "GET /mesh is not an HTML page");
            return $"{page.Length} characters of HTML";
        });

        await log.RunAsync("appsettings: live reload", async () =>
        {
            File.WriteAllText(settings, AppSettings(files, secure.Address, a.Address, b.Address));
            var client = http.CreateClient("catalog");
            var before = c.Requests;
            await Expect.EventuallyAsync(async () =>
            {
                // After the reload takes effect, ten requests in a row stay off backend-c.
                var start = c.Requests;
                for (var i = 0; i < 10; i++)
                {
                    await client.GetStringAsync("/whoami");
                }

                return c.Requests == start;
            }, "the reloaded file (without backend-c) to take effect");
            return $"backend-c left the mesh after {c.Requests - before} more requests";
        });

        await app.StopAsync();
    }

    private static string Describe(Dictionary<string, int> answers) =>
        string.Join(", ", answers.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    private static string AppSettings((string CertificateChain, string Key, string Root) files, string secure, params string[] catalog) => $$"""
        {
          "Mesh": {
            "Tls": {
              "CertificateProviders": {
                "default": {
                  "CertificateFile": {{Json(files.CertificateChain)}},
                  "PrivateKeyFile": {{Json(files.Key)}},
                  "CaCertificateFile": {{Json(files.Root)}}
                }
              }
            },
            "Services": {
              "catalog": {
                "Protocol": "Http2",
                "LoadBalancing": "round_robin",
                "Retry": { "RetryOn": "5xx,reset,connect-failure,unavailable", "NumRetries": 1 },
                "Endpoints": [ {{string.Join(", ", catalog.Select(Json))}} ]
              },
              "secure": {
                "Endpoints": [ {{Json(secure)}} ],
                "Tls": {
                  "CertificateProvider": "default",
                  "RootCertificateProvider": "default",
                  "SubjectAltNames": [ {{Json(ServerId)}} ]
                }
              }
            }
          }
        }
        """;

    private static string Json(string value) => "\"" + JsonEncodedText.Encode(value) + "\"";
}
