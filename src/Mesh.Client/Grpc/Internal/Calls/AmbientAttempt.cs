using System.Diagnostics;
using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Grpc.Internal.Calls;

/// <summary>
/// Makes a call attempt the ambient one while the channel starts it (the picker and the transport handler read
/// it from <see cref="MeshCallContext"/>), with the span that carries it, and puts back what was current afterwards.
/// </summary>
internal static class AmbientAttempt
{
    /// <summary>
    /// Makes <paramref name="attempt"/> the ambient attempt while the channel starts it, with the span that carries
    /// it: the current activity, when the call's spans stay current (grpc-dotnet's or HttpClient's own spans are
    /// recorded); otherwise handed to the mesh's innermost handler with the attempt, and any current activity kept
    /// from grpc-dotnet, which would start an activity of its own under it for nobody. Returns what
    /// <see cref="Leave"/> puts back (<paramref name="previous"/>: the current activity before the attempt began).
    /// </summary>
    public static AmbientActivity Enter(MeshCallAttempt attempt, GrpcCallTelemetry? telemetry, GrpcAttemptTelemetry? observed, Activity? previous)
    {
        MeshCallContext.Current = attempt;
        if (telemetry is null)
        {
            return default;
        }

        if (telemetry.SpanIsCurrent)
        {
            var span = observed?.Activity ?? telemetry.Activity;
            if (span is null)
            {
                return default;
            }

            if (!ReferenceEquals(Activity.Current, span))
            {
                Activity.Current = span;
            }

            return new AmbientActivity(true, previous);
        }

        attempt.Wire = observed?.Activity is { } attemptSpan ? new WireContext(attemptSpan, null) : telemetry.Wire;
        if (attempt.Wire.IsEmpty || previous is null)
        {
            return default;
        }

        Activity.Current = null;
        return new AmbientActivity(true, previous);
    }

    /// <summary>Ends what <see cref="Enter"/> began, once the channel has started the attempt.</summary>
    public static void Leave(AmbientActivity ambient)
    {
        MeshCallContext.Current = null;
        if (ambient.Changed)
        {
            Activity.Current = ambient.Previous;
        }
    }

    /// <summary>Puts back the caller's current activity after a call was started under the mesh's spans.</summary>
    public static void RestoreActivity(GrpcCallTelemetry? telemetry)
    {
        if (telemetry?.Activity is { } activity)
        {
            Activity.Current = activity.Parent;
        }
    }
}

/// <summary>The current activity to put back after an attempt was started, if <see cref="Changed"/>.</summary>
internal readonly record struct AmbientActivity(bool Changed, Activity? Previous);
