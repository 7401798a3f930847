using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Mesh.Client.Benchmarks;

/// <summary>Who collects the mesh's telemetry in <see cref="TelemetryBenchmarks"/>.</summary>
public enum TelemetryMode
{
    /// <summary>Nobody listens: the mesh makes no span and records no metric.</summary>
    Off,

    /// <summary>The OpenTelemetry SDK with <c>AddMeshInstrumentation()</c> for metrics only.</summary>
    Metrics,

    /// <summary>The SDK for traces only: every span sampled and batch-exported (to a no-op exporter).</summary>
    Traces,

    /// <summary>Both.</summary>
    Both,

    /// <summary>Both, with 1 % of traces sampled (Istio's default; a parent-based ratio sampler): most calls start no span.</summary>
    BothOnePercent,
}

/// <summary>
/// The client-side cost of the mesh's telemetry per HttpClient request, down to a primary handler that
/// answers at once (no network, no server in the figure): the same request with nobody listening, with the
/// OpenTelemetry SDK collecting the mesh's metrics, its spans, or both. The end-to-end ratio over real
/// sockets is the <c>--telemetry</c> mode.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(6)]
public class TelemetryBenchmarks
{
    private ServiceProvider _services = null!;
    private HttpClient _client = null!;
    private TracerProvider? _tracer;
    private MeterProvider? _meter;

    /// <summary>Who listens.</summary>
    [Params(TelemetryMode.Off, TelemetryMode.Metrics, TelemetryMode.Traces, TelemetryMode.Both, TelemetryMode.BothOnePercent)]
    public TelemetryMode Mode { get; set; }

    /// <summary>A mesh client to <c>catalog</c> (3 endpoints, round robin) over the mock handler, and the providers of <see cref="Mode"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _services = LoadDriver.MeshOverMock(new MockHandler());
        _client = _services.GetRequiredService<IHttpClientFactory>().CreateClient();
        if (Mode is TelemetryMode.Traces or TelemetryMode.Both or TelemetryMode.BothOnePercent)
        {
            _tracer = Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation()
                .SetSampler(Mode == TelemetryMode.BothOnePercent ? new ParentBasedSampler(new TraceIdRatioBasedSampler(0.01)) : new AlwaysOnSampler())
                .AddProcessor(new BatchActivityExportProcessor(new NoopSpanExporter())).Build();
        }

        if (Mode is TelemetryMode.Metrics or TelemetryMode.Both or TelemetryMode.BothOnePercent)
        {
            _meter = Sdk.CreateMeterProviderBuilder().AddMeshInstrumentation()
                .AddReader(new PeriodicExportingMetricReader(new NoopMetricExporter(), 60_000)).Build();
        }
    }

    /// <summary>Disposes the providers, the client and the container.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _tracer?.Dispose();
        _meter?.Dispose();
        _client.Dispose();
        _services.Dispose();
    }

    /// <summary>One GET to a mesh service.</summary>
    [Benchmark]
    public async Task Get()
    {
        using var response = await _client.GetAsync("http://catalog/items/42").ConfigureAwait(false);
    }

    private sealed class NoopSpanExporter : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch) => ExportResult.Success;
    }

    private sealed class NoopMetricExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
