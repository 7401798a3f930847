using System.Diagnostics;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// One HttpClient request to a mesh service, as traces and metrics see it: a span for the logical call
/// (all attempts) and the call's duration. Made only when someone listens (see <see cref="IsObserved"/>),
/// so that an application without telemetry pays nothing for it.
/// </summary>
internal sealed class HttpCallTelemetry : IDisposable
{
    private readonly MeshMetrics _metrics;
    private readonly string _method;
    private readonly string _service;
    private readonly long _start;
    private readonly bool _timed;
    private readonly bool _attemptsObserved;
    private string? _route;
    private int _attempts;
    private HttpAttemptTelemetry? _first;

    private HttpCallTelemetry(MeshMetrics metrics, HttpRequestMessage request, Routing.Internal.ServiceRouteTable service)
    {
        _metrics = metrics;
        _method = request.Method.Method;
        _service = service.Name;
        Names = HttpSpanNames.For(service, request.Method);
        SpanIsCurrent = MeshTraceContext.SpanStaysCurrent(grpc: false);
        Activity = MeshTraceContext.StartSpan(Names.Call, SpanIsCurrent, metrics.HttpCallDuration.Enabled, out _start, out var wire);
        Wire = wire;
        _timed = _start != 0;

        // A call with neither a span nor attempt metrics needs no attempt telemetry (its span alone says what it carries).
        _attemptsObserved = Activity is not null || metrics.HttpAttemptStarted.Enabled || metrics.HttpAttemptDuration.Enabled;
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.AddTag("mesh.service", _service);
            activity.AddTag("http.request.method", _method);
        }
    }

    public Activity? Activity { get; }

    /// <summary>What the call's first attempt carries to the wire when the mesh writes it (see <see cref="MeshTraceContext.StartSpan"/>).</summary>
    public WireContext Wire { get; }

    /// <summary>
    /// Whether the call's spans are the current activity while the request is sent (HttpClient's own spans are
    /// recorded); otherwise the mesh handler writes their context into each attempt's request itself.
    /// </summary>
    public bool SpanIsCurrent { get; }

    public (string Call, string Attempt) Names { get; }

    public MeshMetrics Metrics => _metrics;

    public string Service => _service;

    public string Method => _method;

    public string? Route => _route;

    /// <summary>Whether a call should be observed: a listener on the mesh's spans or call and attempt metrics.</summary>
    public static bool IsObserved(MeshMetrics metrics) =>
        MeshMetrics.ActivitySource.HasListeners() || metrics.HttpCallDuration.Enabled || metrics.HttpAttemptStarted.Enabled || metrics.HttpAttemptDuration.Enabled;

    public static HttpCallTelemetry Start(MeshMetrics metrics, HttpRequestMessage request, Routing.Internal.ServiceRouteTable service) => new(metrics, request, service);

    public void SetRoute(string? route)
    {
        _route = route;
        if (route is not null && Activity is { IsAllDataRequested: true } activity)
        {
            activity.AddTag("mesh.route", route);
        }
    }

    public HttpAttemptTelemetry? StartAttempt(int number)
    {
        if (!_attemptsObserved)
        {
            return null;
        }

        var count = Interlocked.Increment(ref _attempts);
        var attempt = new HttpAttemptTelemetry(this, number, AttemptSpan.BeginsWithSpan(count, Activity, _first, Names.Attempt));
        if (count == 1)
        {
            _first = attempt;
        }

        return attempt;
    }

    /// <summary>Ends the call with a failure; returns false, for use in an exception filter that records without catching.</summary>
    public bool Fail(Exception failure)
    {
        Complete(null, failure);
        return false;
    }

    /// <summary>Ends the call with its final response or failure.</summary>
    public void Complete(HttpResponseMessage? response, Exception? failure)
    {
        var recordDuration = _timed && _metrics.HttpCallDuration.Enabled;
        if (Activity is null && !recordDuration)
        {
            return;
        }

        var end = Stopwatch.GetTimestamp();
        var status = response is null ? 0 : (int)response.StatusCode;
        var errorType = ErrorType(response, failure);
        Activity?.SetEndTime(SpanClock.At(end));
        if (Activity is { IsAllDataRequested: true } activity)
        {
            var attempts = Volatile.Read(ref _attempts);
            activity.AddTag("mesh.attempts", Boxed.Int(attempts));
            if (attempts == 1)
            {
                // The only attempt has no span of its own: its endpoint goes on the call span.
                _first?.DescribeEndpoint(activity);
            }

            if (response is not null)
            {
                activity.AddTag("http.response.status_code", Boxed.Int(status));
            }

            if (errorType is not null)
            {
                activity.AddTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
            }
        }

        if (recordDuration)
        {
            var tags = new TagList
            {
                { "http.request.method", _method },
                { "mesh.service", _service },
                { "mesh.route", _route },
            };
            if (response is not null)
            {
                tags.Add("http.response.status_code", Boxed.Int(status));
            }

            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _metrics.HttpCallDuration.Record(MeshMetrics.Seconds(_start, end), tags);
        }
    }

    public void Dispose() => Activity?.Dispose();

    /// <summary>OpenTelemetry's <c>error.type</c>: the exception's type, or the status code of a 5xx answer.</summary>
    internal static string? ErrorType(HttpResponseMessage? response, Exception? failure) =>
        failure is not null ? failure.GetType().FullName
        : response is not null && (int)response.StatusCode >= 500 ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : null;
}

/// <summary>
/// One attempt of an observed HttpClient call: attempt metrics, and a child span with the endpoint it went to
/// when the call has more than one attempt (see <see cref="AttemptSpan"/>).
/// </summary>
internal sealed class HttpAttemptTelemetry : AttemptSpan
{
    private readonly HttpCallTelemetry _call;
    private int _status;
    private string? _errorType;
    private string? _errorMessage;

    public HttpAttemptTelemetry(HttpCallTelemetry call, int number, bool span)
        : base(number, timed: call.Activity is not null || call.Metrics.HttpAttemptDuration.Enabled)
    {
        _call = call;
        if (span)
        {
            StartSpan(call.Names.Attempt, call.Activity!, call.SpanIsCurrent);
        }
    }

    public void SetEndpoint(EndpointState endpoint, ClusterRuntime cluster)
    {
        Endpoint = endpoint;
        if (_call.Metrics.HttpAttemptStarted.Enabled)
        {
            _call.Metrics.HttpAttempts(_call.Service, cluster.Name).Increment();
        }
    }

    public void SetPeerIdentity(string identity) => PeerIdentity = identity;

    /// <summary>Ends the attempt with a failure; returns false, for use in an exception filter that records without catching.</summary>
    public bool Fail(Exception failure)
    {
        Complete(null, failure);
        return false;
    }

    public void Complete(HttpResponseMessage? response, Exception? failure)
    {
        var errorType = HttpCallTelemetry.ErrorType(response, failure);
        _status = response is null ? 0 : (int)response.StatusCode;
        _errorType = errorType;
        _errorMessage = failure?.Message;
        End();
        if (Timed && _call.Metrics.HttpAttemptDuration.Enabled)
        {
            var tags = new TagList
            {
                { "mesh.service", _call.Service },
                { "mesh.cluster", Endpoint?.ClusterName },
                { "grpc.lb.locality", Endpoint?.LocalityLabel },
            };
            if (response is not null)
            {
                tags.Add("http.response.status_code", Boxed.Int(_status));
            }

            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _call.Metrics.HttpAttemptDuration.Record(MeshMetrics.Seconds(Start, EndTimestamp), tags);
        }
    }

    protected override void DescribeOutcome(Activity activity)
    {
        if (activity.IsAllDataRequested && _status != 0)
        {
            activity.AddTag("http.response.status_code", Boxed.Int(_status));
        }

        if (_errorType is not null)
        {
            if (activity.IsAllDataRequested)
            {
                activity.AddTag("error.type", _errorType);
            }

            activity.SetStatus(ActivityStatusCode.Error, _errorMessage);
        }
    }
}
