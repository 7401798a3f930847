using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>Per-call and per-attempt instruments: gRPC's names (gRFC A66) and their HttpClient counterparts.</summary>
internal sealed partial class MeshMetrics
{
    public Counter<long> GrpcAttemptStarted { get; private set; } = null!;

    public Histogram<double> GrpcAttemptDuration { get; private set; } = null!;

    public Histogram<long> GrpcAttemptSentSize { get; private set; } = null!;

    public Histogram<long> GrpcAttemptReceivedSize { get; private set; } = null!;

    public Histogram<double> GrpcCallDuration { get; private set; } = null!;

    public Counter<long> HttpAttemptStarted { get; private set; } = null!;

    public Histogram<double> HttpAttemptDuration { get; private set; } = null!;

    public Histogram<double> HttpCallDuration { get; private set; } = null!;

    partial void CreateCallInstruments()
    {
        GrpcAttemptStarted = Meter.CreateCounter<long>("grpc.client.attempt.started", "{attempt}", "Number of client call attempts started.");
        GrpcAttemptDuration = Meter.CreateHistogram("grpc.client.attempt.duration", "s", "Time taken to complete a client call attempt.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        GrpcAttemptSentSize = Meter.CreateHistogram("grpc.client.attempt.sent_total_compressed_message_size", "By",
            "Compressed message bytes sent per client call attempt.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        GrpcAttemptReceivedSize = Meter.CreateHistogram("grpc.client.attempt.rcvd_total_compressed_message_size", "By",
            "Compressed message bytes received per call attempt.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        GrpcCallDuration = Meter.CreateHistogram("grpc.client.call.duration", "s", "Time taken by gRPC to complete an RPC from the application's perspective.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

        HttpAttemptStarted = Meter.CreateCounter<long>("mesh.http.client.attempt.started", "{attempt}", "HttpClient request attempts the mesh started (retries and hedges included).");
        HttpAttemptDuration = Meter.CreateHistogram("mesh.http.client.attempt.duration", "s", "Time from an HttpClient attempt's pick to its response headers or failure.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        HttpCallDuration = Meter.CreateHistogram("mesh.http.client.call.duration", "s", "Time an HttpClient request to a mesh service took, all attempts included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
    }

    /// <summary>Seconds from <paramref name="start"/> to <paramref name="end"/> (<see cref="Stopwatch"/> timestamps).</summary>
    public static double Seconds(long start, long end) => Stopwatch.GetElapsedTime(start, end).TotalSeconds;
}
