using Grpc.Core;
using Grpc.Core.Interceptors;
using Mesh.Client.Grpc.Internal.Calls;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// The per-call half of the gRPC front door: matches the call's route, then applies the route's
/// timeouts (gRFC A31), fault injection (A33) and retries (A44, keeping gRPC's commit rule: no retry once
/// response headers have arrived), and records each attempt's outcome for outlier detection (A50).
/// Retries cover unary and server-streaming calls; client- and bidirectional-streaming calls get
/// timeouts and faults only. The call shapes live in <c>Calls/</c>; faults, retry classification, backoff and
/// outlier recording are the request core's (<c>Resilience/Internal</c>), shared with the HttpClient door.
/// </summary>
internal sealed partial class MeshGrpcInterceptor : Interceptor
{
    private readonly string _targetUri;

    // Each method's names and attempt count on this channel, found by the method object's identity.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IMethod, GrpcMethodTelemetry> _methods = new(ReferenceEqualityComparer.Instance);

    // Whether this channel's requests have been seen passing the mesh's innermost handler (MeshTraceContextHandler),
    // which puts the spans of attempts on the wire; until then (a channel with a transport of its own) the spans stay
    // current and HttpClient propagates them.
    private volatile bool _traceHandlerSeen;

    public MeshGrpcInterceptor(MeshRuntime runtime, string target, ILogger<MeshGrpcInterceptor> logger)
    {
        Runtime = runtime;
        Target = target;
        Logger = logger;
        _targetUri = target.StartsWith("xds://", StringComparison.Ordinal) ? target : "xds:///" + target;
    }

    public MeshRuntime Runtime { get; }

    /// <summary>The channel's target as the application gave it.</summary>
    public string Target { get; }

    public ILogger Logger { get; }

    /// <summary>Starts a call's telemetry when anyone listens.</summary>
    public GrpcCallTelemetry? StartTelemetry(IMethod method, GrpcCallPlan plan)
    {
        var metrics = Runtime.Metrics;
        if (!GrpcCallTelemetry.IsObserved(metrics))
        {
            return null;
        }

        var names = _methods.GetOrAdd(method, static (m, owner) => new GrpcMethodTelemetry(m, owner.Runtime.Metrics, owner._targetUri), this);
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

        var call = new RetryingUnaryCall<TRequest, TResponse>(plan, request, context, continuation);
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
        var call = new RetryingUnaryCall<TRequest, TResponse>(plan, request, context,
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

        var call = new RetryingServerStreamingCall<TRequest, TResponse>(plan, request, context, continuation);
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
            call.RequestStream, ObservedCall.ObserveAsync(call.ResponseAsync, telemetry, observed, attempt), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
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
        GrpcCallPlan plan,
        ClientInterceptorContext<TRequest, TResponse> context,
        Func<ClientInterceptorContext<TRequest, TResponse>, TCall> start,
        out GrpcCallTelemetry? telemetry,
        out GrpcAttemptTelemetry? observed,
        out MeshCallAttempt attempt)
        where TRequest : class
        where TResponse : class
    {
        // Streams the caller writes to cannot be replayed: timeouts and faults only.
        using (plan.ThrowIfAborted())
        {
            attempt = plan.NewAttempt();
            telemetry = StartTelemetry(context.Method, plan);
            var previous = System.Diagnostics.Activity.Current;
            observed = telemetry?.StartAttempt(null);
            var ambient = AmbientAttempt.Enter(attempt, telemetry, observed, previous);
            try
            {
                return start(plan.Apply(context));
            }
            finally
            {
                AmbientAttempt.Leave(ambient);
                AmbientAttempt.RestoreActivity(telemetry);
            }
        }
    }

    /// <summary>The call's route and policies, or <see langword="null"/> when the target has no configuration yet (the resolver then decides).</summary>
    private GrpcCallPlan? Plan(IMethod method, CallOptions options)
    {
        var table = Runtime.Current;
        if (!table.Services.TryGetValue(Target, out var service))
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
        return new GrpcCallPlan(this, service, index, route.Config, options);
    }
}
