using Grpc.Core;
using Grpc.Core.Interceptors;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Grpc.Internal.Calls;

/// <summary>
/// A call's route, effective deadline and policies, and the gRPC door's use of the shared request core: the fault
/// step (<see cref="FaultStep"/>), which outcomes retry (<see cref="RetryClassifier"/>), the backoff
/// (<see cref="RetryBackoff"/>) and outlier recording (<see cref="OutcomeRecorder"/>).
/// </summary>
internal sealed class GrpcCallPlan
{
    /// <summary>gRPC caps attempts at five, whatever a policy asks (gRFC A6, A44).</summary>
    public const int MaxAttempts = 5;

    public GrpcCallPlan(MeshGrpcInterceptor owner, ServiceRouteTable service, int routeIndex, MeshRoute route, CallOptions options)
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
            var capped = owner.Runtime.Time.GetUtcNow().UtcDateTime + max;
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

    /// <summary>The call's faults (decided once per call, before any attempt); the caller disposes the decision.</summary>
    public FaultDecision DecideFaults() => FaultStep.Decide(Owner.Runtime.Faults, Route.Fault, new GrpcRequestView(Options.Headers));

    /// <summary>Waits out <paramref name="fault"/>'s delay, then fails the call if the fault aborts it.</summary>
    public async ValueTask ApplyFaultsAsync(FaultDecision fault, CancellationToken cancellationToken)
    {
        await FaultStep.DelayAsync(fault, Owner.Runtime.Time, cancellationToken).ConfigureAwait(false);
        if (FaultStep.AbortException(fault) is { } aborted)
        {
            throw aborted;
        }
    }

    /// <summary>
    /// The faults of a call whose request stream cannot be replayed (client and duplex streaming): an abort without
    /// a delay fails the call at once; such calls are not delayed.
    /// </summary>
    public FaultDecision ThrowIfAborted()
    {
        var fault = DecideFaults();
        if (fault.HasFault && fault.Delay is null && FaultStep.AbortException(fault) is { } aborted)
        {
            fault.Dispose();
            throw aborted;
        }

        return fault;
    }

    /// <summary>Whether a failed attempt may be retried: a retryable status, nothing committed, no drop, time and attempts left.</summary>
    public bool ShouldRetry(RpcException failure, MeshCallAttempt attempt, int attemptNumber) =>
        Route.Retry is { } retry &&
        attemptNumber + 1 < Attempts &&
        !Options.CancellationToken.IsCancellationRequested &&
        (Options.Deadline is not { } deadline || deadline > Owner.Runtime.Time.GetUtcNow().UtcDateTime) &&
        RetryClassifier.IsRetryable(retry, Outcome(attempt, failure.StatusCode));

    /// <summary>The wait before retry number <paramref name="retryNumber"/>: the backoff rule both doors use.</summary>
    public TimeSpan Backoff(int retryNumber) => RetryBackoff.Delay(Route.Retry!, retryNumber, Owner.Runtime.Random);

    /// <summary>Records the attempt's outcome on its endpoint for outlier detection.</summary>
    public static void Record(MeshCallAttempt attempt, StatusCode code) => OutcomeRecorder.Record(attempt.Endpoint, Outcome(attempt, code));

    /// <summary>Logs a retry and waits out its backoff.</summary>
    public Task BackOffAsync(string method, int attemptNumber, StatusCode status, CancellationToken cancellationToken)
    {
        MeshGrpcInterceptor.Log.Retrying(Owner.Logger, Owner.Target, method, attemptNumber + 1, status);
        return Task.Delay(Backoff(attemptNumber + 1), Owner.Runtime.Time, cancellationToken);
    }

    private static AttemptOutcome Outcome(MeshCallAttempt attempt, StatusCode code) => AttemptOutcome.Grpc((int)code, attempt.Dropped, attempt.Committed);
}
