using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// The mesh's instruments, all on one <see cref="Meter"/> named <see cref="MeshTelemetry.Name"/> made by the
/// application's <see cref="IMeterFactory"/>. Units are seconds and bytes. Each area adds its instruments
/// in its own part of this class.
/// </summary>
internal sealed partial class MeshMetrics : IDisposable
{
    /// <summary>Histogram bucket boundaries for durations in seconds (as gRPC's OpenTelemetry plugin, gRFC A66).</summary>
    internal static readonly double[] LatencyBuckets =
        [0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100];

    /// <summary>Histogram bucket boundaries for message sizes in bytes (gRFC A66).</summary>
    internal static readonly long[] SizeBuckets =
        [0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824, 4294967296];

    public MeshMetrics(IMeterFactory? meterFactory)
    {
        Meter = meterFactory?.Create(MeshTelemetry.Name) ?? new Meter(MeshTelemetry.Name);
        CreateCallInstruments();
        CreateBalancingInstruments();
        CreateXdsInstruments();
    }

    /// <summary>A meter nobody listens to, for code paths built without dependency injection.</summary>
    public static MeshMetrics Unobserved { get; } = new(null);

    public Meter Meter { get; }

    /// <summary>The source of the mesh's spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(MeshTelemetry.Name, typeof(MeshMetrics).Assembly.GetName().Version?.ToString(3));

    public void Dispose() => Meter.Dispose();

    partial void CreateCallInstruments();

    partial void CreateBalancingInstruments();

    partial void CreateXdsInstruments();
}
