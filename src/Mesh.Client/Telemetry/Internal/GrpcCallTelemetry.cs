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
    // Per method, made once: A66's grpc.method and A72's span names.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Method, string Sent, string Attempt)> Names = new(StringComparer.Ordinal);

    private readonly MeshMetrics _metrics;
    private readonly long _start;
    private int _attempts;
    private int _completed;

    private GrpcCallTelemetry(MeshMetrics metrics, IMethod method, string target, string? route)
    {
        _metrics = metrics;
        (Method, SentName, AttemptName) = Names.GetOrAdd(method.FullName, static (_, m) => (
            m.ServiceName + "/" + m.Name, "Sent." + m.ServiceName + "." + m.Name, "Attempt." + m.ServiceName + "." + m.Name), method);
        Target = target;
        Route = route;
        _start = Stopwatch.GetTimestamp();
        Activity = MeshMetrics.ActivitySource.StartActivity(SentName, ActivityKind.Internal);
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.method", Method);
            activity.SetTag("grpc.target", target);
            activity.SetTag("mesh.route", route);
            activity.SetTag("mesh.front_door", "grpc");
        }
    }

    public Activity? Activity { get; }

    public MeshMetrics Metrics => _metrics;

    /// <summary><c>package.Service/Method</c>, A66's <c>grpc.method</c>.</summary>
    public string Method { get; }

    /// <summary>The channel's target, <c>xds:///name</c>.</summary>
    public string Target { get; }

    public string? Route { get; }

    internal string SentName { get; }

    internal string AttemptName { get; }

    public static bool IsObserved(MeshMetrics metrics) =>
        MeshMetrics.ActivitySource.HasListeners() || metrics.GrpcCallDuration.Enabled || metrics.GrpcAttemptStarted.Enabled || metrics.GrpcAttemptDuration.Enabled;

    public static GrpcCallTelemetry? StartIfObserved(MeshMetrics metrics, IMethod method, string target, string? route) =>
        IsObserved(metrics) ? new GrpcCallTelemetry(metrics, method, target, route) : null;

    public GrpcAttemptTelemetry StartAttempt(object? request)
    {
        var number = Interlocked.Increment(ref _attempts);
        return new GrpcAttemptTelemetry(this, number, request);
    }

    /// <summary>Ends the call with its final status (once; later calls are ignored).</summary>
    public void Complete(StatusCode code, string? detail)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        if (Activity is { } activity)
        {
            activity.SetTag("rpc.grpc.status_code", Boxed.Int((int)code));
            activity.SetTag("mesh.attempts", Boxed.Int(Volatile.Read(ref _attempts)));
            if (code != StatusCode.OK)
            {
                activity.SetStatus(ActivityStatusCode.Error, detail);
            }

            activity.Dispose();
        }

        if (_metrics.GrpcCallDuration.Enabled)
        {
            _metrics.GrpcCallDuration.Record(MeshMetrics.Elapsed(_start), new("grpc.method", Method), new("grpc.target", Target), new("grpc.status", StatusName(code)));
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

/// <summary>One attempt of an observed gRPC call.</summary>
internal sealed class GrpcAttemptTelemetry
{
    private readonly GrpcCallTelemetry _call;
    private readonly long _start;
    private readonly long _sent;
    private long _received;
    private int _completed;

    public GrpcAttemptTelemetry(GrpcCallTelemetry call, int number, object? request)
    {
        _call = call;
        _start = Stopwatch.GetTimestamp();
        _sent = GrpcCallTelemetry.SizeOf(request);
        Activity = MeshMetrics.ActivitySource.StartActivity(call.AttemptName, ActivityKind.Internal);
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("rpc.method", call.Method);
            activity.SetTag("mesh.route", call.Route);
            activity.SetTag("mesh.attempt", Boxed.Int(number));
        }

        if (call.Metrics.GrpcAttemptStarted.Enabled)
        {
            call.Metrics.GrpcAttemptStarted.Add(1, new("grpc.method", call.Method), new("grpc.target", call.Target));
        }

        if (number > 1 && call.Metrics.Retries.Enabled)
        {
            call.Metrics.Retries.Add(1, new("mesh.service", call.Target), new("mesh.front_door", "grpc"));
        }
    }

    public Activity? Activity { get; }

    /// <summary>Counts a message received (its serialized size, when it is a protobuf message).</summary>
    public void Received(object? message)
    {
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
        if (Activity is { } activity)
        {
            if (endpoint is not null)
            {
                activity.SetTag("mesh.cluster", endpoint.ClusterName);
                activity.SetTag("server.address", endpoint.Endpoint.Host);
                activity.SetTag("server.port", endpoint.BoxedPort);
                activity.SetTag("grpc.lb.locality", endpoint.LocalityLabel);
                if (attempt?.PeerIdentity is { } peer)
                {
                    activity.SetTag("mesh.peer.identity", peer);
                }
            }

            activity.SetTag("rpc.grpc.status_code", Boxed.Int((int)code));
            if (code != StatusCode.OK)
            {
                activity.SetStatus(ActivityStatusCode.Error, detail);
            }

            activity.Dispose();
        }

        var metrics = _call.Metrics;
        var status = GrpcCallTelemetry.StatusName(code);
        var locality = endpoint?.LocalityLabel;
        if (metrics.GrpcAttemptDuration.Enabled)
        {
            metrics.GrpcAttemptDuration.Record(MeshMetrics.Elapsed(_start), new("grpc.method", _call.Method), new("grpc.target", _call.Target), new("grpc.status", status), new("grpc.lb.locality", locality));
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
}
