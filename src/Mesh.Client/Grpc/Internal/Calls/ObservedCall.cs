using Grpc.Core;
using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Grpc.Internal.Calls;

/// <summary>Ends the telemetry of a call that is not retried (client and duplex streaming) when its response arrives.</summary>
internal static class ObservedCall
{
    public static async Task<TResponse> ObserveAsync<TResponse>(Task<TResponse> response, GrpcCallTelemetry telemetry, GrpcAttemptTelemetry? attempt, MeshCallAttempt meshAttempt)
    {
        try
        {
            var result = await response.ConfigureAwait(false);
            attempt?.Received(result);
            attempt?.Complete(meshAttempt, StatusCode.OK, null);
            telemetry.Complete(StatusCode.OK, null);
            return result;
        }
        catch (RpcException ex)
        {
            attempt?.Complete(meshAttempt, ex.StatusCode, ex.Status.Detail);
            telemetry.Complete(ex);
            throw;
        }
    }
}

/// <summary>A response stream that ends its call's telemetry when it ends.</summary>
internal sealed class ObservedReader<T>(IAsyncStreamReader<T> inner, GrpcCallTelemetry telemetry, GrpcAttemptTelemetry? attempt, MeshCallAttempt meshAttempt) : IAsyncStreamReader<T>
{
    public T Current => inner.Current;

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        try
        {
            var moved = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
            if (moved)
            {
                attempt?.Received(inner.Current);
            }
            else
            {
                Complete(StatusCode.OK, null);
            }

            return moved;
        }
        catch (RpcException ex)
        {
            Complete(ex.StatusCode, ex.Status.Detail);
            throw;
        }
    }

    public void Complete(StatusCode code, string? detail)
    {
        attempt?.Complete(meshAttempt, code, detail);
        telemetry.Complete(code, detail);
    }
}
