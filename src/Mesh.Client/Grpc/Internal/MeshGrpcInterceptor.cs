using Grpc.Core;
using Grpc.Core.Interceptors;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// The per-call half of the gRPC front door: matches the call's route, then applies the route's
/// timeouts (gRFC A31), fault injection (A33) and retries (A44, keeping gRPC's commit rule: no retry once
/// response headers have arrived), and records each attempt's outcome for outlier detection (A50).
/// Retries cover unary and server-streaming calls; client- and bidirectional-streaming calls get
/// timeouts and faults only.
/// </summary>
internal sealed partial class MeshGrpcInterceptor : Interceptor
{
    /// <summary>gRPC caps attempts at five, whatever a policy asks (gRFC A6, A44).</summary>
    public const int MaxAttempts = 5;

    private readonly MeshRuntime _runtime;
    private readonly string _target;
    private readonly ILogger _logger;

    private readonly string _targetUri;

    public MeshGrpcInterceptor(MeshRuntime runtime, string target, ILogger<MeshGrpcInterceptor> logger)
    {
        _runtime = runtime;
        _target = target;
        _logger = logger;
        _targetUri = target.StartsWith("xds://", StringComparison.Ordinal) ? target : "xds:///" + target;
    }

    // Whether this channel's requests have been seen passing the mesh's innermost handler (MeshTraceContextHandler),
    // which puts the spans of attempts on the wire; until then (a channel with a transport of its own) the spans stay
    // current and HttpClient propagates them.
    private volatile bool _traceHandlerSeen;

    // Each method's names and attempt count on this channel, found by the method object's identity.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IMethod, GrpcMethodTelemetry> _methods = new(ReferenceEqualityComparer.Instance);

    private GrpcCallTelemetry? StartTelemetry(IMethod method, CallPlan plan)
    {
        var metrics = _runtime.Metrics;
        if (!GrpcCallTelemetry.IsObserved(metrics))
        {
            return null;
        }

        var names = _methods.GetOrAdd(method, static (m, owner) => new GrpcMethodTelemetry(m, owner._runtime.Metrics, owner._targetUri), this);
        return GrpcCallTelemetry.Start(metrics, names, _targetUri, plan.Route.Name, spanStaysCurrent: !_traceHandlerSeen);
    }

    /// <summary>Called from the mesh's innermost handler for a request of this channel's calls.</summary>
    public void OnTraceHandler()
    {
        if (!_traceHandlerSeen)
        {
            _traceHandlerSeen = true;
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (Plan(context.Method, context.Options) is not { } plan)
        {
            return continuation(request, context);
        }

        var call = new RetryingUnaryCall<TRequest, TResponse>(this, plan, request, context, continuation);
        return new AsyncUnaryCall<TResponse>(call.ResponseAsync, call.ResponseHeadersAsync(), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (Plan(context.Method, context.Options) is not { } plan)
        {
            return continuation(request, context);
        }

        // Blocking calls get the same policies by running the asynchronous path to completion.
        var call = new RetryingUnaryCall<TRequest, TResponse>(this, plan, request, context,
            (r, c) =>
            {
                var response = continuation(r, c);
                return new AsyncUnaryCall<TResponse>(Task.FromResult(response), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
            });
        return call.ResponseAsync.GetAwaiter().GetResult();
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        if (Plan(context.Method, context.Options) is not { } plan)
        {
            return continuation(request, context);
        }

        var call = new RetryingServerStreamingCall<TRequest, TResponse>(this, plan, request, context, continuation);
        return new AsyncServerStreamingCall<TResponse>(call, call.ResponseHeadersAsync(), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        if (Plan(context.Method, context.Options) is not { } plan)
        {
            return continuation(context);
        }

        var call = StartUnreplayable(plan, context, continuation.Invoke, out var telemetry, out var observed, out var attempt);
        if (telemetry is null)
        {
            return call;
        }

        return new AsyncClientStreamingCall<TRequest, TResponse>(
            call.RequestStream, ObserveAsync(call.ResponseAsync, telemetry, observed, attempt), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        if (Plan(context.Method, context.Options) is not { } plan)
        {
            return continuation(context);
        }

        var call = StartUnreplayable(plan, context, continuation.Invoke, out var telemetry, out var observed, out var attempt);
        if (telemetry is null)
        {
            return call;
        }

        var reader = new ObservedReader<TResponse>(call.ResponseStream, telemetry, observed, attempt);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, reader, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, () =>
        {
            call.Dispose();
            reader.Complete(StatusCode.Cancelled, "The call was disposed before it completed.");
        });
    }

    /// <summary>
    /// Starts the one attempt of a call whose request stream cannot be replayed (client and duplex streaming):
    /// an injected abort fails it at once, the attempt is the ambient one while the channel starts it, and its
    /// telemetry begins.
    /// </summary>
    private TCall StartUnreplayable<TRequest, TResponse, TCall>(
        CallPlan plan,
        ClientInterceptorContext<TRequest, TResponse> context,
        Func<ClientInterceptorContext<TRequest, TResponse>, TCall> start,
        out GrpcCallTelemetry? telemetry,
        out GrpcAttemptTelemetry? observed,
        out MeshCallAttempt attempt)
        where TRequest : class
        where TResponse : class
    {
        // Streams the caller writes to cannot be replayed: timeouts and faults only.
        ThrowIfAborted(plan, out var fault);
        using (fault)
        {
            attempt = plan.NewAttempt();
            telemetry = StartTelemetry(context.Method, plan);
            var previous = System.Diagnostics.Activity.Current;
            observed = telemetry?.StartAttempt(null);
            var ambient = EnterAttempt(attempt, telemetry, observed, previous);
            try
            {
                return start(plan.Apply(context));
            }
            finally
            {
                LeaveAttempt(ambient);
                RestoreActivity(telemetry);
            }
        }
    }

    /// <summary>The call's route and policies, or <see langword="null"/> when the target has no configuration yet (the resolver then decides).</summary>
    private CallPlan? Plan(IMethod method, CallOptions options)
    {
        var table = _runtime.Current;
        if (!table.Services.TryGetValue(_target, out var service))
        {
            return null;
        }

        var view = new GrpcRequestView(options.Headers);
        var index = service.MatchIndex(method.FullName, view);
        if (index < 0)
        {
            // The picker fails the call with the same "no route" error.
            return null;
        }

        var route = service.Routes[index];
        return new CallPlan(this, service, index, route.Config, options);
    }

    private void ThrowIfAborted(CallPlan plan, out Resilience.Internal.FaultDecision fault)
    {
        fault = plan.Route.Fault is { } policy ? _runtime.Faults.Decide(policy, new GrpcRequestView(plan.Options.Headers)) : default;
        if (fault.HasFault && fault.Delay is null && fault.AbortGrpcStatus is { } code)
        {
            fault.Dispose();
            throw FaultException(code);
        }
    }

    /// <summary>
    /// Makes <paramref name="attempt"/> the ambient attempt while the channel starts it, with the span that carries
    /// it: the current activity, when the call's spans stay current (grpc-dotnet's or HttpClient's own spans are
    /// recorded); otherwise handed to the mesh's innermost handler with the attempt, and any current activity kept
    /// from grpc-dotnet, which would start an activity of its own under it for nobody. Returns what
    /// <see cref="LeaveAttempt"/> puts back (<paramref name="previous"/>: the current activity before the attempt began).
    /// </summary>
    private static AmbientActivity EnterAttempt(MeshCallAttempt attempt, GrpcCallTelemetry? telemetry, GrpcAttemptTelemetry? observed, System.Diagnostics.Activity? previous)
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

            if (!ReferenceEquals(System.Diagnostics.Activity.Current, span))
            {
                System.Diagnostics.Activity.Current = span;
            }

            return new AmbientActivity(true, previous);
        }

        attempt.Wire = observed?.Activity is { } attemptSpan ? new WireContext(attemptSpan, null) : telemetry.Wire;
        if (attempt.Wire.IsEmpty || previous is null)
        {
            return default;
        }

        System.Diagnostics.Activity.Current = null;
        return new AmbientActivity(true, previous);
    }

    /// <summary>Ends what <see cref="EnterAttempt"/> began, once the channel has started the attempt.</summary>
    private static void LeaveAttempt(AmbientActivity ambient)
    {
        MeshCallContext.Current = null;
        if (ambient.Changed)
        {
            System.Diagnostics.Activity.Current = ambient.Previous;
        }
    }

    /// <summary>Puts back the caller's current activity after a call was started under the mesh's spans.</summary>
    private static void RestoreActivity(GrpcCallTelemetry? telemetry)
    {
        if (telemetry?.Activity is { } activity)
        {
            System.Diagnostics.Activity.Current = activity.Parent;
        }
    }

    /// <summary>The current activity to put back after an attempt was started, if <see cref="Changed"/>.</summary>
    private readonly record struct AmbientActivity(bool Changed, System.Diagnostics.Activity? Previous);

    private static async Task<TResponse> ObserveAsync<TResponse>(Task<TResponse> response, GrpcCallTelemetry telemetry, GrpcAttemptTelemetry? attempt, MeshCallAttempt meshAttempt)
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

    /// <summary>A response stream that ends its call's telemetry when it ends.</summary>
    private sealed class ObservedReader<T>(IAsyncStreamReader<T> inner, GrpcCallTelemetry telemetry, GrpcAttemptTelemetry? attempt, MeshCallAttempt meshAttempt) : IAsyncStreamReader<T>
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

    private static RpcException FaultException(int code) =>
        new(new Status((StatusCode)code, "Fault injected by the mesh (fault filter abort)."));

    private static bool IsRetryable(RetryPolicy policy, StatusCode code) => code switch
    {
        StatusCode.Cancelled => (policy.RetryOn & RetryOn.Cancelled) != 0,
        StatusCode.DeadlineExceeded => (policy.RetryOn & RetryOn.DeadlineExceeded) != 0,
        StatusCode.Internal => (policy.RetryOn & RetryOn.Internal) != 0,
        StatusCode.ResourceExhausted => (policy.RetryOn & RetryOn.ResourceExhausted) != 0,
        StatusCode.Unavailable => (policy.RetryOn & RetryOn.Unavailable) != 0,
        _ => false,
    };

    /// <summary>A call's route, effective deadline and policies.</summary>
    private sealed class CallPlan
    {
        public CallPlan(MeshGrpcInterceptor owner, ServiceRouteTable service, int routeIndex, MeshRoute route, CallOptions options)
        {
            Owner = owner;
            Service = service;
            RouteIndex = routeIndex;
            Route = route;

            // gRFC A31: the route's limit (grpc_timeout_header_max if set, else max_stream_duration) caps the
            // caller's deadline.
            var limit = route.GrpcTimeoutHeaderMax ?? route.MaxStreamDuration;
            if (limit is { Ticks: > 0 } max)
            {
                var capped = owner._runtime.Time.GetUtcNow().UtcDateTime + max;
                if (options.Deadline is not { } deadline || deadline > capped)
                {
                    options = options.WithDeadline(capped);
                }
            }

            Options = options;
        }

        public MeshGrpcInterceptor Owner { get; }

        public ServiceRouteTable Service { get; }

        public int RouteIndex { get; }

        public MeshRoute Route { get; }

        public CallOptions Options { get; }

        public int Attempts => Route.Retry is { } retry ? Math.Clamp(retry.NumRetries + 1, 1, MaxAttempts) : 1;

        public MeshCallAttempt NewAttempt() => new() { Service = Service, RouteIndex = RouteIndex, Interceptor = Owner };

        public ClientInterceptorContext<TRequest, TResponse> Apply<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class
            where TResponse : class => new(context.Method, context.Host, Options);

        /// <summary>Whether a failed attempt may be retried: a retryable status, nothing committed, no drop, time and attempts left.</summary>
        public bool ShouldRetry(RpcException failure, MeshCallAttempt attempt, int attemptNumber) =>
            Route.Retry is { } retry &&
            attemptNumber + 1 < Attempts &&
            !attempt.Committed &&
            !attempt.Dropped &&
            !Options.CancellationToken.IsCancellationRequested &&
            (Options.Deadline is not { } deadline || deadline > Owner._runtime.Time.GetUtcNow().UtcDateTime) &&
            IsRetryable(retry, failure.StatusCode);

        /// <summary>gRFC A44/A6 backoff: a random time up to base × 2^(n−1), capped at the maximum.</summary>
        public TimeSpan Backoff(int retryNumber)
        {
            var retry = Route.Retry!;
            var ceiling = retry.BaseInterval.TotalMilliseconds * Math.Pow(2, retryNumber - 1);
            ceiling = Math.Min(ceiling, retry.EffectiveMaxInterval.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(Owner._runtime.Random.NextDouble() * ceiling);
        }

        public static void Record(MeshCallAttempt attempt, StatusCode code)
        {
            if (attempt.Endpoint is not { } endpoint || attempt.Dropped)
            {
                return;
            }

            if (code == StatusCode.OK)
            {
                endpoint.RecordSuccess();
            }
            else
            {
                endpoint.RecordFailure();
            }
        }
    }

    /// <summary>A unary call with the route's faults and retries; headers, status and trailers are the last attempt's.</summary>
    private sealed class RetryingUnaryCall<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        private readonly CallPlan _plan;
        private readonly TRequest _request;
        private readonly ClientInterceptorContext<TRequest, TResponse> _context;
        private readonly AsyncUnaryCallContinuation<TRequest, TResponse> _continuation;
        private AsyncUnaryCall<TResponse>? _current;

        public RetryingUnaryCall(MeshGrpcInterceptor owner, CallPlan plan, TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            _plan = plan;
            _request = request;
            _context = context;
            _continuation = continuation;
            ResponseAsync = RunAsync(owner);
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

        private async Task<TResponse> RunAsync(MeshGrpcInterceptor owner)
        {
            var telemetry = owner.StartTelemetry(_context.Method, _plan);
            if (telemetry is null)
            {
                return await RunAsync(owner, null).ConfigureAwait(false);
            }

            try
            {
                var response = await RunAsync(owner, telemetry).ConfigureAwait(false);
                telemetry.Complete(StatusCode.OK, null);
                return response;
            }
            catch (Exception ex)
            {
                telemetry.Complete(ex);
                throw;
            }
        }

        private async Task<TResponse> RunAsync(MeshGrpcInterceptor owner, GrpcCallTelemetry? telemetry)
        {
            using var fault = _plan.Route.Fault is { } policy ? owner._runtime.Faults.Decide(policy, new GrpcRequestView(_plan.Options.Headers)) : default;
            if (fault.HasFault)
            {
                if (fault.Delay is { } delay)
                {
                    await Task.Delay(delay, owner._runtime.Time, _plan.Options.CancellationToken).ConfigureAwait(false);
                }

                if (fault.AbortGrpcStatus is { } code)
                {
                    throw FaultException(code);
                }
            }

            for (var attemptNumber = 0; ; attemptNumber++)
            {
                var attempt = _plan.NewAttempt();
                var previous = System.Diagnostics.Activity.Current;
                var observed = telemetry?.StartAttempt(_request);
                var ambient = EnterAttempt(attempt, telemetry, observed, previous);
                AsyncUnaryCall<TResponse> call;
                try
                {
                    call = _continuation(_request, _plan.Apply(_context));
                }
                finally
                {
                    LeaveAttempt(ambient);
                }

                var replaced = _current;
                _current = call;
                replaced?.Dispose();
                try
                {
                    var response = await call.ResponseAsync.ConfigureAwait(false);
                    CallPlan.Record(attempt, StatusCode.OK);
                    observed?.Received(response);
                    observed?.Complete(attempt, StatusCode.OK, null);
                    return response;
                }
                catch (RpcException ex)
                {
                    CallPlan.Record(attempt, ex.StatusCode);
                    observed?.Complete(attempt, ex.StatusCode, ex.Status.Detail);
                    if (!_plan.ShouldRetry(ex, attempt, attemptNumber))
                    {
                        throw;
                    }

                    Log.Retrying(owner._logger, owner._target, _context.Method.FullName, attemptNumber + 1, ex.StatusCode);
                    await Task.Delay(_plan.Backoff(attemptNumber + 1), owner._runtime.Time, _plan.Options.CancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// A server-streaming call with the route's faults and retries: an attempt is retried only until the first
    /// message or response headers arrive.
    /// </summary>
    private sealed class RetryingServerStreamingCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>
        where TRequest : class
        where TResponse : class
    {
        private readonly MeshGrpcInterceptor _owner;
        private readonly CallPlan _plan;
        private readonly TRequest _request;
        private readonly ClientInterceptorContext<TRequest, TResponse> _context;
        private readonly AsyncServerStreamingCallContinuation<TRequest, TResponse> _continuation;
        private readonly TaskCompletionSource<AsyncServerStreamingCall<TResponse>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private AsyncServerStreamingCall<TResponse>? _current;
        private MeshCallAttempt? _attempt;
        private int _attemptNumber;
        private bool _received;
        private bool _faultChecked;
        private readonly GrpcCallTelemetry? _telemetry;
        private GrpcAttemptTelemetry? _observed;

        public RetryingServerStreamingCall(MeshGrpcInterceptor owner, CallPlan plan, TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            _owner = owner;
            _plan = plan;
            _request = request;
            _context = context;
            _continuation = continuation;
            _telemetry = owner.StartTelemetry(context.Method, plan);
            StartAttempt();
            if (_telemetry?.Activity is { } span)
            {
                System.Diagnostics.Activity.Current = span.Parent;
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
                using var fault = _plan.Route.Fault is { } policy ? _owner._runtime.Faults.Decide(policy, new GrpcRequestView(_plan.Options.Headers)) : default;
                if (fault.Delay is { } delay)
                {
                    await Task.Delay(delay, _owner._runtime.Time, cancellationToken).ConfigureAwait(false);
                }

                if (fault.AbortGrpcStatus is { } code)
                {
                    throw FaultException(code);
                }
            }

            while (true)
            {
                try
                {
                    var moved = await _current!.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
                    if (!_received)
                    {
                        _received = true;
                    }

                    if (!moved)
                    {
                        CallPlan.Record(_attempt!, StatusCode.OK);
                        _observed?.Complete(_attempt, StatusCode.OK, null);
                    }

                    return moved;
                }
                catch (RpcException ex)
                {
                    CallPlan.Record(_attempt!, ex.StatusCode);
                    _observed?.Complete(_attempt, ex.StatusCode, ex.Status.Detail);
                    if (_received || !_plan.ShouldRetry(ex, _attempt!, _attemptNumber))
                    {
                        throw;
                    }

                    Log.Retrying(_owner._logger, _owner._target, _context.Method.FullName, _attemptNumber + 1, ex.StatusCode);
                    await Task.Delay(_plan.Backoff(_attemptNumber + 1), _owner._runtime.Time, cancellationToken).ConfigureAwait(false);
                    _attemptNumber++;
                    _current?.Dispose();
                    StartAttempt();
                }
            }
        }

        private void StartAttempt()
        {
            _attempt = _plan.NewAttempt();
            var previous = System.Diagnostics.Activity.Current;
            _observed = _telemetry?.StartAttempt(_request);
            var ambient = EnterAttempt(_attempt, _telemetry, _observed, previous);
            try
            {
                _current = _continuation(_request, _plan.Apply(_context));
            }
            finally
            {
                LeaveAttempt(ambient);
            }

            _started.TrySetResult(_current);
        }
    }
}
