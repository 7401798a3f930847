using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// Records an attempt's outcome on its endpoint for outlier detection (gRFC A50, Envoy's success rate and
/// consecutive 5xx), the same way for both front doors: an error of the endpoint or the network, a 5xx or a
/// non-OK gRPC status is a failure; a refusal by the mesh or a cancellation is neither success nor failure.
/// </summary>
internal static class OutcomeRecorder
{
    public static void Record(EndpointState? endpoint, in AttemptOutcome outcome)
    {
        if (endpoint is null)
        {
            return;
        }

        if (outcome.IsEndpointFailure)
        {
            endpoint.RecordFailure();
        }
        else if (outcome.IsEndpointSuccess)
        {
            endpoint.RecordSuccess();
        }
    }
}
