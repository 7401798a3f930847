// Mesh.Client with OpenTelemetry.Extensions.Hosting: the mesh's spans and metrics go to an OTLP
// collector (OTEL_EXPORTER_OTLP_ENDPOINT, by default http://localhost:4317 — Jaeger, Tempo, the
// OpenTelemetry Collector). The sample starts two echo backends, one of which fails, sends requests that
// the mesh retries, and prints the span tree it exported, so it shows something without a collector too.
using System.Diagnostics;
using Mesh.Samples.Echo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

await using var failing = await EchoBackend.StartAsync("backend-a");
await using var healthy = await EchoBackend.StartAsync("backend-b");
failing.Fault = EchoFault.Unavailable;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Mesh:Services:catalog:Protocol"] = "Http2",
    ["Mesh:Services:catalog:Endpoints:0"] = failing.Address,
    ["Mesh:Services:catalog:Endpoints:1"] = healthy.Address,
    ["Mesh:Services:catalog:Retry:RetryOn"] = "5xx,unavailable",
    ["Mesh:Services:catalog:Retry:NumRetries"] = "2",
});
builder.Services.AddMesh();
builder.Services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///catalog"));

// The one part that is about telemetry: the mesh's spans and metrics, exported over OTLP.
var exported = new List<Activity>();
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("mesh-otel-sample"))
    .WithTracing(tracing => tracing
        .AddSource("sample")
        .AddMeshInstrumentation()
        .AddOtlpExporter()
        .AddInMemoryExporter(exported))
    .WithMetrics(metrics => metrics
        .AddMeshInstrumentation()
        .AddOtlpExporter());

using var host = builder.Build();
await host.StartAsync();

var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
var grpc = host.Services.GetRequiredService<Echo.EchoClient>();
using var source = new ActivitySource("sample");
using (source.StartActivity("checkout"))
{
    for (var i = 0; i < 3; i++)
    {
        await http.GetStringAsync("http://catalog/whoami");
        await grpc.HelloAsync(new HelloRequest { Name = "otel" });
    }
}

host.Services.GetRequiredService<TracerProvider>().ForceFlush();
host.Services.GetRequiredService<MeterProvider>().ForceFlush();
Console.WriteLine($"Exported over OTLP to {Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "http://localhost:4317"} (traces and metrics); the spans:");
Print(exported.Where(a => !exported.Any(p => p.SpanId == a.ParentSpanId)).ToList(), exported, 1);
await host.StopAsync();
return 0;

static void Print(List<Activity> level, List<Activity> all, int depth)
{
    foreach (var span in level.OrderBy(a => a.StartTimeUtc))
    {
        var tags = string.Join(", ", span.TagObjects
            .Where(t => t.Key is "mesh.attempt" or "server.port" or "http.response.status_code" or "rpc.grpc.status_code" or "mesh.cluster")
            .Select(t => $"{t.Key}={t.Value}"));
        Console.WriteLine($"{new string(' ', depth * 2)}{span.DisplayName}  {span.Duration.TotalMilliseconds:F1} ms  {tags}");
        Print(all.Where(a => a.ParentSpanId == span.SpanId).ToList(), all, depth + 1);
    }
}
