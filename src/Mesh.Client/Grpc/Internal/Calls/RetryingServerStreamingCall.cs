using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Grpc.Internal.Calls;

/// <summary>
/// A server-streaming call with the route's faults and retries: an attempt is retried only until the first
/// message or response headers arrive.
/// </summary>
internal sealed class RetryingServerStreamingCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly GrpcCallPlan _plan;
    private readonly TRequest _request;
    private readonly ClientInterceptorContext<TRequest, TResponse> _context;
    private readonly Interceptor.AsyncServerStreamingCallContinuation<TRequest, TResponse> _continuation;
    private readonly TaskCompletionSource<AsyncServerStreamingCall<TResponse>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly GrpcCallTelemetry? _telemetry;
    private AsyncServerStreamingCall<TResponse>? _current;
    private MeshCallAttempt? _attempt;
    private int _attemptNumber;
    private bool _received;
    private bool _faultChecked;
    private GrpcAttemptTelemetry? _observed;

    public RetryingServerStreamingCall(GrpcCallPlan plan, TRequest request, ClientInterceptorContext<TRequest, TResponse> context, Interceptor.AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        _plan = plan;
        _request = request;
        _context = context;
        _continuation = continuation;
        _telemetry = plan.Owner.StartTelemetry(context.Method, plan);
        StartAttempt();
        if (_telemetry?.Activity is { } span)
        {
            Activity.Current = span.Parent;
        }
    }

    public TResponse Current => _current!.ResponseStream.Current;

    public async Task<Metadata> ResponseHeadersAsync() => await (await _started.Task.ConfigureAwait(false)).ResponseHeadersAsync.ConfigureAwait(false);

    public Status GetStatus() => _current?.GetStatus() ?? throw new InvalidOperationException("The call has not completed.");

    public Metadata GetTrailers() => _current?.GetTrailers() ?? [];

    public void Dispose()
    {
        _current?.Dispose();
        _observed?.Complete(_attempt, StatusCode.Cancelled, "The call was disposed before it completed.");
        _telemetry?.Dispose();
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        try
        {
            var moved = await MoveNextCore(cancellationToken).ConfigureAwait(false);
            if (moved)
            {
                _observed?.Received(Current);
            }
            else
            {
                _telemetry?.Complete(StatusCode.OK, null);
            }

            return moved;
        }
        catch (Exception ex) when (_telemetry is not null)
        {
            _telemetry.Complete(ex);
            throw;
        }
    }

    private async Task<bool> MoveNextCore(CancellationToken cancellationToken)
    {
        if (!_faultChecked)
        {
            _faultChecked = true;
            using var fault = _plan.DecideFaults();
            await _plan.ApplyFaultsAsync(fault, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            try
            {
                var moved = await _current!.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
                _received = true;
                if (!moved)
                {
                    GrpcCallPlan.Record(_attempt!, StatusCode.OK);
                    _observed?.Complete(_attempt, StatusCode.OK, null);
                }

                return moved;
            }
            catch (RpcException ex)
            {
                GrpcCallPlan.Record(_attempt!, ex.StatusCode);
                _observed?.Complete(_attempt, ex.StatusCode, ex.Status.Detail);
                if (_received || !_plan.ShouldRetry(ex, _attempt!, _attemptNumber))
                {
                    throw;
                }

                await _plan.BackOffAsync(_context.Method.FullName, _attemptNumber, ex.StatusCode, cancellationToken).ConfigureAwait(false);
                _attemptNumber++;
                _current?.Dispose();
                StartAttempt();
            }
        }
    }

    private void StartAttempt()
    {
        _attempt = _plan.NewAttempt();
        var previous = Activity.Current;
        _observed = _telemetry?.StartAttempt(_request);
        var ambient = AmbientAttempt.Enter(_attempt, _telemetry, _observed, previous);
        try
        {
            _current = _continuation(_request, _plan.Apply(_context));
        }
        finally
        {
            AmbientAttempt.Leave(ambient);
        }

        _started.TrySetResult(_current);
    }
}
