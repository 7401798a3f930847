using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
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
/// What the two end-to-end telemetry modes (<see cref="TelemetryOverhead"/>, <see cref="TelemetryPaired"/>)
/// measure: three Kestrel echo backends (h2c) in this process, a mesh service <c>catalog</c> over them (round
/// robin, retries on), and the calls (HttpClient <c>GET</c> over HTTP/2, gRPC unary); and what "telemetry on" is.
/// </summary>
/// <remarks>
/// Environment variables choose what "on" is and split its cost (bench/README.md, "Telemetry", has figures):
/// <c>MESH_BENCH_TELEMETRY</c> — <c>both</c> (default: the OpenTelemetry SDK with <c>AddMeshInstrumentation()</c>,
/// every span sampled and batch-exported to a no-op exporter, every metric aggregated), <c>traces</c>,
/// <c>metrics</c>, <c>listener</c> (a bare ActivityListener on the mesh's source that samples nothing, or
/// everything with <c>LISTENERSAMPLE=1</c>: the mesh's own instrumentation without the SDK),
/// <c>othersource</c> (the SDK listening to another source only), <c>none</c> (nothing: checks that the method
/// is unbiased), and three yardsticks with the mesh's own telemetry off: <c>floor</c> (the SDK and one span per call
/// that the bench starts around it, not current during it and so not propagated: what the SDK alone asks per
/// span), <c>sdkfloor</c> (that span and as many histogram measurements per call as the mesh records, with the
/// same buckets and tags, from a meter of the bench's: what the SDK alone asks of a call traced and measured) and
/// <c>dotnet</c> (the SDK recording .NET's own HttpClient and grpc-dotnet spans, which HttpClient
/// propagates: the price of tracing these calls without the mesh); <c>SAMPLEOFF=1</c> — the SDK's AlwaysOff sampler; <c>SAMPLERATIO=0.01</c> — a parent-based
/// ratio sampler; <c>SIMPLE=1</c> — the SDK's simple (synchronous) span processor; <c>NOPROP=1</c> — no trace
/// headers on the wire; <c>AMBIENT=1</c> — every call under an application activity in both halves, as in a
/// service whose requests are already traced (recorded for the share of traces <c>SAMPLERATIO</c> gives, else not); <c>CASE=http</c> / <c>CASE=grpc</c> — one case only.
/// </remarks>
internal sealed class TelemetryRig : IAsyncDisposable
{
    private static readonly string Part = Environment.GetEnvironmentVariable("MESH_BENCH_TELEMETRY") ?? "both";

    private const string FloorSource = "bench.floor";

    // LISTENERSAMPLE=1: the bare listener asks for every span, recorded (the cost of the spans themselves, without the SDK).
    private static readonly ActivitySamplingResult ListenerSampling = Environment.GetEnvironmentVariable("LISTENERSAMPLE") == "1" ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None;

    private readonly List<EchoBackend> _backends;
    private readonly IHost _host;

    private TelemetryRig(List<EchoBackend> backends, IHost host, (string Name, Func<Task> Call)[] cases)
    {
        _backends = backends;
        _host = host;
        Cases = cases;
    }

    /// <summary>The calls measured, each with its name; <c>CASE</c> narrows them.</summary>
    public (string Name, Func<Task> Call)[] Cases { get; }

    /// <summary>One line that says what "on" is.</summary>
    public static string Description =>
        Part switch
        {
            "both" => "OpenTelemetry SDK with AddMeshInstrumentation(), traces and metrics",
            "traces" => "OpenTelemetry SDK with AddMeshInstrumentation(), traces only",
            "metrics" => "OpenTelemetry SDK with AddMeshInstrumentation(), metrics only",
            "listener" => ListenerSampling == ActivitySamplingResult.None ? "a bare ActivityListener on the mesh's source that samples nothing" : "a bare ActivityListener that records every mesh span",
            "othersource" => "OpenTelemetry SDK listening to another source only",
            "floor" => "OpenTelemetry SDK and one span per call started by the bench, not propagated (the mesh's own telemetry off)",
            "sdkfloor" => "OpenTelemetry SDK, one span per call and the call's histogram measurements, recorded by the bench (the mesh's own telemetry off)",
            "dotnet" => "OpenTelemetry SDK recording HttpClient's and grpc-dotnet's own spans (the mesh's own telemetry off)",
            _ => "nothing (both halves the same)",
        }
        + (Part is "both" or "traces" or "floor" or "sdkfloor" or "dotnet" ? (Environment.GetEnvironmentVariable("SAMPLEOFF") == "1" ? "; AlwaysOff sampler"
            : Environment.GetEnvironmentVariable("SAMPLERATIO") is { } ratio ? $"; parent-based {ratio} ratio sampler" : "; every span sampled")
            + (Environment.GetEnvironmentVariable("SIMPLE") == "1" ? ", simple processor" : ", batch processor") + " (no-op exporter)" : string.Empty)
        + (Environment.GetEnvironmentVariable("NOPROP") == "1" ? "; no trace headers on the wire" : string.Empty)
        + (Environment.GetEnvironmentVariable("AMBIENT") == "1" ? "; every call under an application activity" : string.Empty);

    /// <summary>Starts the backends and the mesh client, and makes the calls.</summary>
    public static async Task<TelemetryRig> StartAsync()
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
        var host = builder.Build();
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
            // The application's own span of each request: recorded for the share of traces SAMPLERATIO says (as a
            // parent-based ratio sampler would sample them at the service's edge), else created and not recorded.
            var ambientRatio = double.TryParse(Environment.GetEnvironmentVariable("SAMPLERATIO"), CultureInfo.InvariantCulture, out var r) ? r : 0;
            var ambientListener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == "bench.request",
                Sample = (ref ActivityCreationOptions<ActivityContext> options) => InRatio(options.TraceId, ambientRatio) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.AllData,
            };
            ActivitySource.AddActivityListener(ambientListener);
            var ambient = new ActivitySource("bench.request");
            cases = [.. cases.Select(c => (c.Name, (Func<Task>)(async () =>
            {
                using var request = ambient.StartActivity("request");
                await c.Call();
            })))];
        }

        if (Part is "floor" or "sdkfloor")
        {
            // Both halves start the span (and record the measurements); only the "on" half's SDK listens.
            var floor = new ActivitySource(FloorSource);
            var measurements = Part == "sdkfloor" ? new FloorMeasurements() : null;
            cases = [.. cases.Select(c =>
            {
                var record = measurements?.For(c.Name);
                return (c.Name, (Func<Task>)(async () =>
                {
                    var previous = Activity.Current;
                    var span = floor.StartActivity("call");
                    Activity.Current = previous;
                    var start = record is null ? 0 : Stopwatch.GetTimestamp();
                    try
                    {
                        await c.Call();
                    }
                    finally
                    {
                        span?.Stop();
                        record?.Invoke(Stopwatch.GetElapsedTime(start).TotalSeconds);
                    }
                }));
            })];
        }

        if (Environment.GetEnvironmentVariable("NOPROP") == "1")
        {
            DistributedContextPropagator.Current = DistributedContextPropagator.CreateNoOutputPropagator();
        }

        var only = Environment.GetEnvironmentVariable("CASE");
        cases = [.. cases.Where(c => only is null || c.Name.StartsWith(only, StringComparison.OrdinalIgnoreCase) || (only == "grpc" && c.Name.StartsWith("gRPC", StringComparison.Ordinal)))];
        if (cases.Length == 0)
        {
            throw new InvalidOperationException($"CASE={only} names no case: use http or grpc, or leave CASE unset for both.");
        }

        return new TelemetryRig(backends, host, cases);
    }

    /// <summary>Whether a trace falls in the first <paramref name="ratio"/> of trace ids (by its first eight bytes).</summary>
    private static bool InRatio(ActivityTraceId traceId, double ratio)
    {
        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        return Math.Abs((double)System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes)) < ratio * long.MaxValue;
    }

    /// <summary>Turns "on" on: freshly built providers (or listener), until the result is disposed.</summary>
    public static Collection StartCollecting() => new();

    /// <summary>Calls per second and the process's CPU time per call in microseconds (client and backends together) over <paramref name="count"/> calls.</summary>
    public static async Task<(double Rate, double CpuMicroseconds)> MeasureAsync(int count, int workers, Func<Task> call)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var (jitted, jitTime) = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
        var elapsed = await LoadDriver.DriveAsync(count, workers, call);
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (Environment.GetEnvironmentVariable("GCSTATS") == "1")
        {
            Console.WriteLine(FormattableString.Invariant(
                $"    {(GC.GetTotalAllocatedBytes() - allocated) / count,6:N0} B/call  GCs gen0 {GC.CollectionCount(0) - gen0}  gen1 {GC.CollectionCount(1) - gen1}  gen2 {GC.CollectionCount(2) - gen2}  {used.TotalMicroseconds / count:0.0} µs CPU/call  JIT {System.Runtime.JitInfo.GetCompiledMethodCount() - jitted} methods {(System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds:0.0} ms"));
        }

        return (count / elapsed.TotalSeconds, used.TotalMicroseconds / count);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }

    /// <summary>The "on" half's sampler: every span (default), none (<c>SAMPLEOFF=1</c>), or a share of traces (<c>SAMPLERATIO=0.01</c>, Istio's default 1 %; parent-based, as the SDK's default).</summary>
    private static Sampler Sampler() =>
        Environment.GetEnvironmentVariable("SAMPLEOFF") == "1" ? new AlwaysOffSampler()
        : double.TryParse(Environment.GetEnvironmentVariable("SAMPLERATIO"), CultureInfo.InvariantCulture, out var ratio) ? new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio))
        : new AlwaysOnSampler();

    /// <summary>Telemetry collected while this lives: the providers or listener <c>MESH_BENCH_TELEMETRY</c> names.</summary>
    internal sealed class Collection : IDisposable
    {
        private readonly CountingExporter _exporter = new();
        private readonly ActivityListener? _bare;
        private readonly TracerProvider? _tracer;
        private readonly MeterProvider? _meter;

        public Collection()
        {
            _bare = Part == "listener" ? new ActivityListener { ShouldListenTo = s => s.Name == "Mesh.Client", Sample = (ref ActivityCreationOptions<ActivityContext> _) => ListenerSampling } : null;
            if (_bare is not null)
            {
                ActivitySource.AddActivityListener(_bare);
            }

            _tracer = Part is "both" or "traces" or "othersource" or "floor" or "sdkfloor" or "dotnet"
                ? (Part switch
                {
                    "othersource" => Sdk.CreateTracerProviderBuilder().AddSource("other"),
                    "floor" or "sdkfloor" => Sdk.CreateTracerProviderBuilder().AddSource(FloorSource),
                    "dotnet" => Sdk.CreateTracerProviderBuilder().AddSource("System.Net.Http", "Grpc.Net.Client"),
                    _ => Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation(),
                }).SetSampler(Sampler())
                    .AddProcessor(Environment.GetEnvironmentVariable("SIMPLE") == "1" ? new SimpleActivityExportProcessor(_exporter) : new BatchActivityExportProcessor(_exporter)).Build()
                : null;
            _meter = Part is "both" or "metrics" or "sdkfloor"
                ? (Part == "sdkfloor" ? Sdk.CreateMeterProviderBuilder().AddMeter(FloorSource) : Sdk.CreateMeterProviderBuilder().AddMeshInstrumentation())
                    .AddReader(new PeriodicExportingMetricReader(new NoopMetricExporter(), 60_000)).Build()
                : null;
        }

        /// <summary>Spans exported so far (after <see cref="Flush"/>).</summary>
        public long Spans => Interlocked.Read(ref _exporter.Count);

        public void Flush() => _tracer?.ForceFlush();

        public void Dispose()
        {
            _tracer?.Dispose();
            _meter?.Dispose();
            _bare?.Dispose();
        }
    }

    /// <summary>
    /// The <c>sdkfloor</c> yardstick's measurements: as many histogram measurements per call as the mesh records
    /// (HttpClient 2, gRPC 4), with the same buckets and the same number of tags of the same kind, from the bench's
    /// own meter. With the bare span, this is what the SDK alone asks of a call traced and measured as the issue
    /// says, before anything of the mesh's own.
    /// </summary>
    private sealed class FloorMeasurements
    {
        private static readonly object Boxed200 = 200;

        private readonly Meter _meter = new(FloorSource);
        private readonly Histogram<double> _callDuration;
        private readonly Histogram<double> _attemptDuration;
        private readonly Histogram<long> _sent;
        private readonly Histogram<long> _received;

        public FloorMeasurements()
        {
            _callDuration = _meter.CreateHistogram("call.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.Internal.MeshMetrics.LatencyBuckets });
            _attemptDuration = _meter.CreateHistogram("attempt.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.Internal.MeshMetrics.LatencyBuckets });
            _sent = _meter.CreateHistogram("attempt.sent", "By", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = Telemetry.Internal.MeshMetrics.SizeBuckets });
            _received = _meter.CreateHistogram("attempt.received", "By", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = Telemetry.Internal.MeshMetrics.SizeBuckets });
        }

        /// <summary>What to record after a call of the case <paramref name="name"/>, given its duration in seconds.</summary>
        public Action<double> For(string name) =>
            name.StartsWith("gRPC", StringComparison.Ordinal)
                ? seconds =>
                {
                    _attemptDuration.Record(seconds, new("grpc.method", "echo.Echo/Hello"), new("grpc.target", "xds:///catalog"), new("grpc.status", "OK"), new("grpc.lb.locality", null));
                    _sent.Record(7, new("grpc.method", "echo.Echo/Hello"), new("grpc.target", "xds:///catalog"), new("grpc.status", "OK"));
                    _received.Record(14, new("grpc.method", "echo.Echo/Hello"), new("grpc.target", "xds:///catalog"), new("grpc.status", "OK"));
                    _callDuration.Record(seconds, new("grpc.method", "echo.Echo/Hello"), new("grpc.target", "xds:///catalog"), new("grpc.status", "OK"));
                }
        : seconds =>
        {
            _attemptDuration.Record(seconds, new TagList { { "mesh.service", "catalog" }, { "mesh.cluster", "catalog" }, { "grpc.lb.locality", null }, { "http.response.status_code", Boxed200 } });
            _callDuration.Record(seconds, new TagList { { "http.request.method", "GET" }, { "mesh.service", "catalog" }, { "mesh.route", "default" }, { "http.response.status_code", Boxed200 } });
        };
    }

    /// <summary>Counts the spans it is given, and keeps none.</summary>
    private sealed class CountingExporter : BaseExporter<Activity>
    {
        public long Count;

        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var _ in batch)
            {
                Interlocked.Increment(ref Count);
            }

            return ExportResult.Success;
        }
    }

    private sealed class NoopMetricExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
