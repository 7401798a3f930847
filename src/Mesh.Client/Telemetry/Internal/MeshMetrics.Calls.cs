using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>Per-call and per-attempt instruments: gRPC's names (gRFC A66) and their HttpClient counterparts.</summary>
internal sealed partial class MeshMetrics
{
    // Attempts started, counted by the mesh and read when collected (see AttemptCount).
    private readonly ConcurrentDictionary<(string Method, string Target), AttemptCount> _grpcAttempts = new();
    private readonly ConcurrentDictionary<(string Service, string Cluster), AttemptCount> _httpAttempts = new();

    public ObservableCounter<long> GrpcAttemptStarted { get; private set; } = null!;

    public Histogram<double> GrpcAttemptDuration { get; private set; } = null!;

    public Histogram<long> GrpcAttemptSentSize { get; private set; } = null!;

    public Histogram<long> GrpcAttemptReceivedSize { get; private set; } = null!;

    public Histogram<double> GrpcCallDuration { get; private set; } = null!;

    public ObservableCounter<long> HttpAttemptStarted { get; private set; } = null!;

    public Histogram<double> HttpAttemptDuration { get; private set; } = null!;

    public Histogram<double> HttpCallDuration { get; private set; } = null!;

    partial void CreateCallInstruments()
    {
        GrpcAttemptStarted = Meter.CreateObservableCounter("grpc.client.attempt.started", () => Read(_grpcAttempts), "{attempt}", "Number of client call attempts started.");
        GrpcAttemptDuration = Meter.CreateHistogram("grpc.client.attempt.duration", "s", "Time taken to complete a client call attempt.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        GrpcAttemptSentSize = Meter.CreateHistogram("grpc.client.attempt.sent_total_compressed_message_size", "By",
            "Compressed message bytes sent per client call attempt.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        GrpcAttemptReceivedSize = Meter.CreateHistogram("grpc.client.attempt.rcvd_total_compressed_message_size", "By",
            "Compressed message bytes received per call attempt.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        GrpcCallDuration = Meter.CreateHistogram("grpc.client.call.duration", "s", "Time taken by gRPC to complete an RPC from the application's perspective.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

        HttpAttemptStarted = Meter.CreateObservableCounter("mesh.http.client.attempt.started", () => Read(_httpAttempts), "{attempt}", "HttpClient request attempts the mesh started (retries and hedges included).");
        HttpAttemptDuration = Meter.CreateHistogram("mesh.http.client.attempt.duration", "s", "Time from an HttpClient attempt's pick to its response headers or failure.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        HttpCallDuration = Meter.CreateHistogram("mesh.http.client.call.duration", "s", "Time an HttpClient request to a mesh service took, all attempts included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
    }

    /// <summary>The count of gRPC attempts of <paramref name="method"/> (<c>grpc.method</c>) on <paramref name="target"/>.</summary>
    public AttemptCount GrpcAttempts(string method, string target) =>
        _grpcAttempts.GetOrAdd((method, target), static key => new([new("grpc.method", key.Method), new("grpc.target", key.Target)]));

    /// <summary>The count of HttpClient attempts to <paramref name="service"/> sent to <paramref name="cluster"/>.</summary>
    public AttemptCount HttpAttempts(string service, string cluster) =>
        _httpAttempts.GetOrAdd((service, cluster), static key => new([new("mesh.service", key.Service), new("mesh.cluster", key.Cluster)]));

    private static IEnumerable<Measurement<long>> Read<TKey>(ConcurrentDictionary<TKey, AttemptCount> counts)
        where TKey : notnull
    {
        foreach (var count in counts.Values)
        {
            yield return count.Read();
        }
    }

    /// <summary>Seconds from <paramref name="start"/> to <paramref name="end"/> (<see cref="Stopwatch"/> timestamps).</summary>
    public static double Seconds(long start, long end) => Stopwatch.GetElapsedTime(start, end).TotalSeconds;
}

/// <summary>
/// Attempts started with one set of tags, counted by the mesh and read by an observable counter when collected: an
/// attempt costs one atomic increment of a count its call finds without a lookup, not a measurement for the SDK to
/// aggregate by its tags.
/// </summary>
internal sealed class AttemptCount(KeyValuePair<string, object?>[] tags)
{
    private long _count;

    public void Increment() => Interlocked.Increment(ref _count);

    public Measurement<long> Read() => new(Volatile.Read(ref _count), tags);
}
