using System.Diagnostics;
using System.Globalization;
using Mesh.Client.Grpc;
using Mesh.Samples.Echo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--telemetry [slices] [workers]</c>: end-to-end throughput of mesh calls with the mesh's telemetry
/// collected by the OpenTelemetry SDK (every span sampled and batch-exported, every metric aggregated)
/// against the same calls with nobody listening, in one process, on real Kestrel backends on loopback.
/// Slices alternate off / on with the clients and connections kept warm; the ratio on / off is taken per
/// adjacent pair of slices and the median reported (issue goal: at least 0.95).
/// </summary>
/// <remarks>
/// Environment variables split the cost (bench/README.md, "Telemetry", has the figures):
/// <c>MESH_BENCH_TELEMETRY</c> — what "on" is: <c>both</c> (default), <c>traces</c>, <c>metrics</c>,
/// <c>listener</c> (a bare ActivityListener on the mesh's source that samples nothing: the mesh's own
/// instrumentation path without the SDK), <c>othersource</c> (the SDK listening to another source only),
/// <c>none</c> (nothing: checks that the method itself is unbiased); <c>SAMPLEOFF=1</c> — the SDK's
/// AlwaysOff sampler; <c>NOPROP=1</c> — no trace headers on the wire; <c>AMBIENT=1</c> — every call under
/// an application activity in both halves, as in a service whose requests are already traced;
/// <c>PERSLICE</c> — calls per slice (default 5,000).
/// </remarks>
internal static class TelemetryOverhead
{
    // LISTENERSAMPLE=1: the bare listener asks for every span, recorded (the cost of the spans themselves, without the SDK).
    private static readonly ActivitySamplingResult ListenerSampling = Environment.GetEnvironmentVariable("LISTENERSAMPLE") == "1" ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None;

    private static readonly int PerSlice = int.Parse(Environment.GetEnvironmentVariable("PERSLICE") ?? "5000", CultureInfo.InvariantCulture);

    public static int Run(string[] args)
    {
        var slices = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var workers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        return RunAsync(slices, workers).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int slices, int workers)
    {
        var backends = new List<EchoBackend>();
        for (var i = 0; i < 3; i++)
        {
            backends.Add(await EchoBackend.StartAsync($"backend-{i}"));
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Services:catalog:Protocol"] = "Http2",
            ["Mesh:Services:catalog:Endpoints:0"] = backends[0].Address,
            ["Mesh:Services:catalog:Endpoints:1"] = backends[1].Address,
            ["Mesh:Services:catalog:Endpoints:2"] = backends[2].Address,
            ["Mesh:Services:catalog:Retry:RetryOn"] = "5xx,unavailable",
            ["Mesh:Services:catalog:Retry:NumRetries"] = "2",
        });
        builder.Services.AddMesh();
        builder.Services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///catalog"));
        using var host = builder.Build();
        await host.StartAsync();
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        var grpc = host.Services.GetRequiredService<Echo.EchoClient>();
        var cases = new (string Name, Func<Task> Call)[]
        {
            ("HttpClient GET (HTTP/2)", async () => (await http.GetAsync("http://catalog/whoami")).Dispose()),
            ("gRPC unary", async () => await grpc.HelloAsync(new HelloRequest { Name = "bench" })),
        };
        if (Environment.GetEnvironmentVariable("AMBIENT") == "1")
        {
            var ambientListener = new ActivityListener { ShouldListenTo = s => s.Name == "bench.request", Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData };
            ActivitySource.AddActivityListener(ambientListener);
            var ambient = new ActivitySource("bench.request");
            cases = [.. cases.Select(c => (c.Name, (Func<Task>)(async () =>
            {
                using var request = ambient.StartActivity("request");
                await c.Call();
            })))];
        }

        if (Environment.GetEnvironmentVariable("NOPROP") == "1")
        {
            DistributedContextPropagator.Current = DistributedContextPropagator.CreateNoOutputPropagator();
        }

        Console.WriteLine($"Telemetry on / off: {slices} slices of {PerSlice:N0} calls per case, {workers} concurrent workers, 3 echo backends on 127.0.0.1.");
        Console.WriteLine("On = OpenTelemetry SDK with AddMeshInstrumentation(): all spans sampled and batch-exported (no-op exporter), all metrics aggregated.");
        Console.WriteLine();
        foreach (var (name, call) in cases)
        {
            // Warm up: connections, JIT, pools.
            await LoadDriver.DriveAsync(PerSlice, workers, call);
            var off = new List<double>();
            var on = new List<double>();
            var offCpu = new List<double>();
            var onCpu = new List<double>();
            long spans = 0;
            for (var slice = 0; slice < slices; slice++)
            {
                // Alternate which runs first, so that drift over time does not favour one side.
                var onFirst = slice % 2 == 1;
                for (var half = 0; half < 2; half++)
                {
                    var telemetry = (half == 0) == onFirst;
                    if (telemetry)
                    {
                        var exporter = new CountingExporter();
                        var part = Environment.GetEnvironmentVariable("MESH_BENCH_TELEMETRY") ?? "both";
                        using var bare = part == "listener" ? new ActivityListener { ShouldListenTo = s => s.Name == "Mesh.Client", Sample = (ref ActivityCreationOptions<ActivityContext> _) => ListenerSampling } : null;
                        if (bare is not null)
                        {
                            ActivitySource.AddActivityListener(bare);
                        }

                        using var tracer = part is "both" or "traces" or "othersource" ? (part == "othersource" ? Sdk.CreateTracerProviderBuilder().AddSource("other") : Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation()).SetSampler(Sampler())
                            .AddProcessor(Environment.GetEnvironmentVariable("SIMPLE") == "1" ? new SimpleActivityExportProcessor(exporter) : new BatchActivityExportProcessor(exporter)).Build() : null;
                        using var meter = part is "both" or "metrics" ? Sdk.CreateMeterProviderBuilder().AddMeshInstrumentation()
                            .AddReader(new PeriodicExportingMetricReader(new NoopMetricExporter(), 60_000)).Build() : null;
                        var (rate, cpu) = await MeasureAsync(workers, call);
                        on.Add(rate);
                        onCpu.Add(cpu);
                        tracer?.ForceFlush();
                        spans += exporter.Count;
                    }
                    else
                    {
                        var (rate, cpu) = await MeasureAsync(workers, call);
                        off.Add(rate);
                        offCpu.Add(cpu);
                    }
                }
            }

            var ratios = on.Zip(off, (a, b) => a / b).ToArray();
            var cpuRatios = offCpu.Zip(onCpu, (a, b) => a / b).ToArray();
            Console.WriteLine(FormattableString.Invariant(
                $"{name,-26} off {LoadDriver.Median(off),8:N0}/s   on {LoadDriver.Median(on),8:N0}/s   on/off median {LoadDriver.Median(ratios):0.00} (range {ratios.Min():0.00}–{ratios.Max():0.00})   spans exported per call {spans / (double)(slices * PerSlice):0.0}"));
            Console.WriteLine(FormattableString.Invariant(
                $"{"",-26} CPU per call off {LoadDriver.Median(offCpu):0.0} µs   on {LoadDriver.Median(onCpu):0.0} µs   off/on median {LoadDriver.Median(cpuRatios):0.00} (range {cpuRatios.Min():0.00}–{cpuRatios.Max():0.00})"));
        }

        await host.StopAsync();
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }

        return 0;
    }

    /// <summary>The "on" half's sampler: every span (default), none (<c>SAMPLEOFF=1</c>), or a share of traces (<c>SAMPLERATIO=0.01</c>, Istio's default 1 %; parent-based, as the SDK's default).</summary>
    private static Sampler Sampler() =>
        Environment.GetEnvironmentVariable("SAMPLEOFF") == "1" ? new AlwaysOffSampler()
        : double.TryParse(Environment.GetEnvironmentVariable("SAMPLERATIO"), CultureInfo.InvariantCulture, out var ratio) ? new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio))
        : new AlwaysOnSampler();

    /// <summary>One slice: calls per second, and the process's CPU time per call in microseconds (client and backends together).</summary>
    private static async Task<(double Rate, double CpuMicroseconds)> MeasureAsync(int workers, Func<Task> call)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var elapsed = await LoadDriver.DriveAsync(PerSlice, workers, call);
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (Environment.GetEnvironmentVariable("GCSTATS") == "1")
        {
            Console.WriteLine(FormattableString.Invariant(
                $"    {(GC.GetTotalAllocatedBytes() - allocated) / PerSlice,6:N0} B/call  GCs gen0 {GC.CollectionCount(0) - gen0}  gen1 {GC.CollectionCount(1) - gen1}  gen2 {GC.CollectionCount(2) - gen2}  {used.TotalMicroseconds / PerSlice:0.0} µs CPU/call"));
        }

        return (PerSlice / elapsed.TotalSeconds, used.TotalMicroseconds / PerSlice);
    }

    /// <summary>Counts the spans it is given, and keeps none.</summary>
    private sealed class CountingExporter : BaseExporter<Activity>
    {
        public long Count;

        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var _ in batch)
            {
                Count++;
            }

            return ExportResult.Success;
        }
    }

    private sealed class NoopMetricExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
