using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Client.Grpc.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// One gRPC call through the mesh's interceptor, as traces and metrics see it: the call span
/// (<c>Sent.package.Service.Method</c>, as gRFC A72 names it) and <c>grpc.client.call.duration</c>; and its
/// attempts (<c>Attempt.…</c> spans, <c>grpc.client.attempt.*</c> metrics, gRFC A66). Made only when someone
/// listens.
/// </summary>
internal sealed class GrpcCallTelemetry : IDisposable
{
    private readonly MeshMetrics _metrics;
    private readonly long _start;
    private readonly bool _timed;
    private readonly bool _attemptsObserved;
    private int _attempts;
    private int _completed;
    private GrpcAttemptTelemetry? _first;

    private GrpcCallTelemetry(MeshMetrics metrics, GrpcMethodTelemetry method, string target, string? route, bool spanStaysCurrent)
    {
        _metrics = metrics;
        MethodTelemetry = method;
        Target = target;
        Route = route;
        SpanIsCurrent = spanStaysCurrent || MeshTraceContext.SpanStaysCurrent(grpc: true);
        Activity = MeshTraceContext.StartSpan(SentName, SpanIsCurrent, metrics.GrpcCallDuration.Enabled, out _start, out var wire);
        Wire = wire;
        _timed = _start != 0;

        // A call with neither a span nor attempt metrics needs no attempt telemetry (its span alone says what it carries).
        _attemptsObserved = Activity is not null || metrics.GrpcAttemptStarted.Enabled || metrics.GrpcAttemptDuration.Enabled
            || metrics.GrpcAttemptSentSize.Enabled || metrics.GrpcAttemptReceivedSize.Enabled || metrics.Retries.Enabled;
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.AddTag("rpc.system", "grpc");
            activity.AddTag("rpc.method", Method);
            activity.AddTag("grpc.target", target);
            if (route is not null)
            {
                activity.AddTag("mesh.route", route);
            }
        }
    }

    public Activity? Activity { get; }

    /// <summary>What the call's first attempt carries to the wire when the mesh writes it (see <see cref="MeshTraceContext.StartSpan"/>).</summary>
    public WireContext Wire { get; }

    /// <summary>
    /// Whether the call's spans are the current activity while the channel sends the call (grpc-dotnet's or
    /// HttpClient's own spans are recorded); otherwise each attempt carries its span to the mesh's innermost
    /// handler, which writes its context into the request (see <see cref="MeshTraceContext"/>).
    /// </summary>
    public bool SpanIsCurrent { get; }

    public MeshMetrics Metrics => _metrics;

    /// <summary>What the call's method has for telemetry: names and the count of attempts.</summary>
    public GrpcMethodTelemetry MethodTelemetry { get; }

    /// <summary><c>package.Service/Method</c>, A66's <c>grpc.method</c>.</summary>
    public string Method => MethodTelemetry.Method;

    /// <summary>The channel's target, <c>xds:///name</c>.</summary>
    public string Target { get; }

    public string? Route { get; }

    internal string SentName => MethodTelemetry.SentName;

    internal string AttemptName => MethodTelemetry.AttemptName;

    public static bool IsObserved(MeshMetrics metrics) =>
        MeshMetrics.ActivitySource.HasListeners() || metrics.GrpcCallDuration.Enabled || metrics.GrpcAttemptStarted.Enabled || metrics.GrpcAttemptDuration.Enabled;

    /// <summary>The telemetry of an observed call (see <see cref="IsObserved"/>); <paramref name="spanStaysCurrent"/>: the channel needs its spans current to propagate them.</summary>
    public static GrpcCallTelemetry Start(MeshMetrics metrics, GrpcMethodTelemetry method, string target, string? route, bool spanStaysCurrent) =>
        new(metrics, method, target, route, spanStaysCurrent);

    public GrpcAttemptTelemetry? StartAttempt(object? request)
    {
        if (!_attemptsObserved)
        {
            return null;
        }

        var number = Interlocked.Increment(ref _attempts);
        var attempt = new GrpcAttemptTelemetry(this, number, request, AttemptSpan.BeginsWithSpan(number, Activity, _first, AttemptName));
        if (number == 1)
        {
            _first = attempt;
        }

        return attempt;
    }

    /// <summary>Ends the call with its final status (once; later calls are ignored).</summary>
    public void Complete(StatusCode code, string? detail)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        var recordDuration = _timed && _metrics.GrpcCallDuration.Enabled;
        if (Activity is null && !recordDuration)
        {
            return;
        }

        var end = Stopwatch.GetTimestamp();
        if (Activity is { } activity)
        {
            activity.SetEndTime(SpanClock.At(end));
            if (activity.IsAllDataRequested)
            {
                var attempts = Volatile.Read(ref _attempts);
                activity.AddTag("rpc.grpc.status_code", Boxed.Int((int)code));
                activity.AddTag("mesh.attempts", Boxed.Int(attempts));
                if (attempts == 1)
                {
                    // The only attempt has no span of its own: its endpoint goes on the call span.
                    _first?.DescribeEndpoint(activity);
                }
            }

            if (code != StatusCode.OK)
            {
                activity.SetStatus(ActivityStatusCode.Error, detail);
            }

            activity.Dispose();
        }

        if (recordDuration)
        {
            _metrics.GrpcCallDuration.Record(MeshMetrics.Seconds(_start, end), new("grpc.method", Method), new("grpc.target", Target), new("grpc.status", StatusName(code)));
        }
    }

    public void Complete(Exception failure) => Complete(failure is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown, failure.Message);

    public void Dispose() => Complete(StatusCode.Cancelled, "The call was disposed before it completed.");

    /// <summary>A66's <c>grpc.status</c>: the code's name in upper snake case.</summary>
    internal static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The serialized size of a protobuf message, or -1 for other message types.</summary>
    internal static long SizeOf(object? message) => message is IMessage protobuf ? protobuf.CalculateSize() : -1;
}

/// <summary>
/// One attempt of an observed gRPC call: A66's attempt metrics, and a child span when the call has more than
/// one attempt (see <see cref="AttemptSpan"/>).
/// </summary>
internal sealed class GrpcAttemptTelemetry : AttemptSpan
{
    private readonly GrpcCallTelemetry _call;
    private readonly long _sent;
    private long _received;
    private int _completed;
    private StatusCode _code;
    private string? _detail;

    public GrpcAttemptTelemetry(GrpcCallTelemetry call, int number, object? request, bool span)
        : base(number, timed: call.Activity is not null || call.Metrics.GrpcAttemptDuration.Enabled)
    {
        _call = call;
        _sent = call.Metrics.GrpcAttemptSentSize.Enabled ? GrpcCallTelemetry.SizeOf(request) : -1;
        if (span)
        {
            StartSpan(call.AttemptName, call.Activity!, call.SpanIsCurrent);
        }

        if (call.Metrics.GrpcAttemptStarted.Enabled)
        {
            call.MethodTelemetry.Attempts.Increment();
        }

        if (number > 1 && call.Metrics.Retries.Enabled)
        {
            call.Metrics.Retries.Add(1, new("mesh.service", call.Target), new("mesh.front_door", "grpc"));
        }
    }

    /// <summary>Counts a message received (its serialized size, when it is a protobuf message).</summary>
    public void Received(object? message)
    {
        if (!_call.Metrics.GrpcAttemptReceivedSize.Enabled)
        {
            return;
        }

        var size = GrpcCallTelemetry.SizeOf(message);
        if (size >= 0)
        {
            Interlocked.Add(ref _received, size);
        }
    }

    /// <summary>Ends the attempt with the endpoint the picker chose (if any) and its status.</summary>
    public void Complete(MeshCallAttempt? attempt, StatusCode code, string? detail)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        var endpoint = attempt?.Endpoint;
        Endpoint = endpoint;
        PeerIdentity = endpoint is null ? null : attempt?.PeerIdentity;
        _code = code;
        _detail = detail;
        End();

        var metrics = _call.Metrics;
        var status = GrpcCallTelemetry.StatusName(code);
        if (Timed && metrics.GrpcAttemptDuration.Enabled)
        {
            metrics.GrpcAttemptDuration.Record(MeshMetrics.Seconds(Start, EndTimestamp), new("grpc.method", _call.Method), new("grpc.target", _call.Target), new("grpc.status", status), new("grpc.lb.locality", endpoint?.LocalityLabel));
        }

        if (_sent >= 0 && metrics.GrpcAttemptSentSize.Enabled)
        {
            metrics.GrpcAttemptSentSize.Record(_sent, new("grpc.method", _call.Method), new("grpc.target", _call.Target), new("grpc.status", status));
        }

        if (metrics.GrpcAttemptReceivedSize.Enabled)
        {
            metrics.GrpcAttemptReceivedSize.Record(Interlocked.Read(ref _received), new("grpc.method", _call.Method), new("grpc.target", _call.Target), new("grpc.status", status));
        }
    }

    protected override void DescribeOutcome(Activity activity)
    {
        if (activity.IsAllDataRequested)
        {
            activity.AddTag("rpc.grpc.status_code", Boxed.Int((int)_code));
        }

        if (_code != StatusCode.OK)
        {
            activity.SetStatus(ActivityStatusCode.Error, _detail);
        }
    }
}

/// <summary>
/// One method's telemetry on one channel, made once: A66's <c>grpc.method</c>, A72's span names, and the count of
/// its attempts (<c>grpc.client.attempt.started</c>).
/// </summary>
internal sealed class GrpcMethodTelemetry
{
    public GrpcMethodTelemetry(IMethod method, MeshMetrics metrics, string target)
    {
        Method = method.ServiceName + "/" + method.Name;
        SentName = "Sent." + method.ServiceName + "." + method.Name;
        AttemptName = "Attempt." + method.ServiceName + "." + method.Name;
        Attempts = metrics.GrpcAttempts(Method, target);
    }

    public string Method { get; }

    public string SentName { get; }

    public string AttemptName { get; }

    public AttemptCount Attempts { get; }
}
