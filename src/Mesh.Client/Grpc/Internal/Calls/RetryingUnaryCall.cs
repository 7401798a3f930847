using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Grpc.Internal.Calls;

/// <summary>A unary call with the route's faults and retries; headers, status and trailers are the last attempt's.</summary>
internal sealed class RetryingUnaryCall<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly GrpcCallPlan _plan;
    private readonly TRequest _request;
    private readonly ClientInterceptorContext<TRequest, TResponse> _context;
    private readonly Interceptor.AsyncUnaryCallContinuation<TRequest, TResponse> _continuation;
    private AsyncUnaryCall<TResponse>? _current;

    public RetryingUnaryCall(GrpcCallPlan plan, TRequest request, ClientInterceptorContext<TRequest, TResponse> context, Interceptor.AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        _plan = plan;
        _request = request;
        _context = context;
        _continuation = continuation;
        ResponseAsync = RunAsync();
    }

    public Task<TResponse> ResponseAsync { get; }

    public async Task<Metadata> ResponseHeadersAsync()
    {
        try
        {
            await ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The failed attempt's headers are still the call's headers.
        }

        return _current is { } call ? await call.ResponseHeadersAsync.ConfigureAwait(false) : [];
    }

    public Status GetStatus() => _current?.GetStatus() ?? throw new InvalidOperationException("The call has not completed.");

    public Metadata GetTrailers() => _current?.GetTrailers() ?? [];

    public void Dispose() => _current?.Dispose();

    private async Task<TResponse> RunAsync()
    {
        var telemetry = _plan.Owner.StartTelemetry(_context.Method, _plan);
        if (telemetry is null)
        {
            return await RunAsync(null).ConfigureAwait(false);
        }

        try
        {
            var response = await RunAsync(telemetry).ConfigureAwait(false);
            telemetry.Complete(StatusCode.OK, null);
            return response;
        }
        catch (Exception ex)
        {
            telemetry.Complete(ex);
            throw;
        }
    }

    private async Task<TResponse> RunAsync(GrpcCallTelemetry? telemetry)
    {
        // The fault's active slot is held until the call ends.
        using var fault = _plan.DecideFaults();
        if (fault.HasFault)
        {
            await _plan.ApplyFaultsAsync(fault, _plan.Options.CancellationToken).ConfigureAwait(false);
        }

        for (var attemptNumber = 0; ; attemptNumber++)
        {
            var attempt = _plan.NewAttempt();
            var previous = Activity.Current;
            var observed = telemetry?.StartAttempt(_request);
            var call = Start(attempt, telemetry, observed, previous);
            try
            {
                var response = await call.ResponseAsync.ConfigureAwait(false);
                GrpcCallPlan.Record(attempt, StatusCode.OK);
                observed?.Received(response);
                observed?.Complete(attempt, StatusCode.OK, null);
                return response;
            }
            catch (RpcException ex)
            {
                GrpcCallPlan.Record(attempt, ex.StatusCode);
                observed?.Complete(attempt, ex.StatusCode, ex.Status.Detail);
                if (!_plan.ShouldRetry(ex, attempt, attemptNumber))
                {
                    throw;
                }

                await _plan.BackOffAsync(_context.Method.FullName, attemptNumber, ex.StatusCode, _plan.Options.CancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts one attempt as the ambient one (<paramref name="previous"/>: the current activity before its span began), and makes it the call's current attempt.</summary>
    private AsyncUnaryCall<TResponse> Start(MeshCallAttempt attempt, GrpcCallTelemetry? telemetry, GrpcAttemptTelemetry? observed, Activity? previous)
    {
        var ambient = AmbientAttempt.Enter(attempt, telemetry, observed, previous);
        AsyncUnaryCall<TResponse> call;
        try
        {
            call = _continuation(_request, _plan.Apply(_context));
        }
        finally
        {
            AmbientAttempt.Leave(ambient);
        }

        var replaced = _current;
        _current = call;
        replaced?.Dispose();
        return call;
    }
}
