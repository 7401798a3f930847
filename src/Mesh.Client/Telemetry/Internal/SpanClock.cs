using System.Diagnostics;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// Wall-clock times for spans from the <see cref="Stopwatch"/> timestamps the mesh already takes for its
/// duration metrics, so that a call reads the clock once per event for both (an <see cref="Activity"/> left to
/// itself reads the wall clock again as it starts and as it stops).
/// </summary>
/// <remarks>
/// A timestamp becomes a wall-clock time through an anchor, a pair of readings of both clocks, taken again once
/// it is more than 100 ms old, so that a change of the wall clock (NTP slewing it, at most half a millisecond per
/// second) shows in span times within a tenth of a second, and by at most some tens of microseconds before.
/// </remarks>
internal static class SpanClock
{
    private static readonly long MaxAnchorAge = Stopwatch.Frequency / 10;
    private static readonly double TicksPerTimestamp = (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency;

    private static Anchor s_anchor = Anchor.Now();

    /// <summary>The wall-clock time (UTC) of a <see cref="Stopwatch"/> timestamp taken recently.</summary>
    public static DateTime At(long timestamp)
    {
        var anchor = Volatile.Read(ref s_anchor);
        if (timestamp - anchor.Timestamp > MaxAnchorAge)
        {
            anchor = Anchor.Now();
            Volatile.Write(ref s_anchor, anchor);
        }

        return new DateTime(anchor.UtcTicks + (long)((timestamp - anchor.Timestamp) * TicksPerTimestamp), DateTimeKind.Utc);
    }

    private sealed record Anchor(long UtcTicks, long Timestamp)
    {
        public static Anchor Now() => new(DateTime.UtcNow.Ticks, Stopwatch.GetTimestamp());
    }
}
