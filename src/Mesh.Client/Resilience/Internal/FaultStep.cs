using System.Net;
using Grpc.Core;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// The fault step of both front doors (gRFC A33, Envoy's fault filter), run once per request before any attempt:
/// <see cref="Decide"/>, then <see cref="DelayAsync"/>, then the abort in the door's own shape
/// (<see cref="AbortResponse"/> for HttpClient, <see cref="AbortException"/> for gRPC). The caller disposes the
/// decision when the faults are over, which frees its active-fault slot.
/// </summary>
internal static class FaultStep
{
    /// <summary>The faults of one request; <see langword="default"/> (none) when the route has no fault policy.</summary>
    public static FaultDecision Decide<TRequest>(FaultInjector faults, FaultPolicy? policy, in TRequest request)
        where TRequest : struct, IRequestView => policy is null ? default : faults.Decide(policy, request);

    /// <summary>Waits out the decided delay; a completed task when there is none.</summary>
    public static Task DelayAsync(in FaultDecision fault, TimeProvider time, CancellationToken cancellationToken) =>
        fault.Delay is { } delay ? Task.Delay(delay, time, cancellationToken) : Task.CompletedTask;

    /// <summary>The response an aborted HttpClient request gets instead of being sent, or <see langword="null"/>.</summary>
    public static HttpResponseMessage? AbortResponse(in FaultDecision fault, HttpRequestMessage request) =>
        fault.AbortHttpStatus is { } status
            ? new HttpResponseMessage((HttpStatusCode)status)
            {
                RequestMessage = request,
                ReasonPhrase = MeshRequestMessages.FaultAbortReason,
                Content = new StringContent(MeshRequestMessages.FaultAbortBody),
            }
            : null;

    /// <summary>The failure an aborted gRPC call ends with instead of being sent, or <see langword="null"/>.</summary>
    public static RpcException? AbortException(in FaultDecision fault) =>
        fault.AbortGrpcStatus is { } code ? new RpcException(new Status((StatusCode)code, MeshRequestMessages.FaultAbortGrpc)) : null;
}
