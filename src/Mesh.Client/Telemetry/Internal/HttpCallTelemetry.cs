using System.Diagnostics;
using Mesh.Client.Balancing.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// One HttpClient request to a mesh service, as traces and metrics see it: a span for the logical call
/// (all attempts) and the call's duration. Made only when someone listens (see <see cref="IsObserved"/>),
/// so that an application without telemetry pays nothing for it.
/// </summary>
internal sealed class HttpCallTelemetry : IDisposable
{
    // Span names per method and service, made once: "GET catalog", "Attempt GET catalog".
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Method, string Service), (string Call, string Attempt)> SpanNames = new();

    private readonly MeshMetrics _metrics;
    private readonly string _method;
    private readonly string _service;
    private readonly long _start;
    private string? _route;
    private int _attempts;

    private HttpCallTelemetry(MeshMetrics metrics, HttpRequestMessage request, string service)
    {
        _metrics = metrics;
        _method = request.Method.Method;
        _service = service;
        _start = Stopwatch.GetTimestamp();
        Names = SpanNames.GetOrAdd((_method, service), static key => ($"{key.Method} {key.Service}", $"Attempt {key.Method} {key.Service}"));
        Activity = MeshMetrics.ActivitySource.StartActivity(Names.Call, ActivityKind.Internal);
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("mesh.service", service);
            activity.SetTag("http.request.method", _method);
            activity.SetTag("mesh.front_door", "http");
        }
    }

    public Activity? Activity { get; }

    public (string Call, string Attempt) Names { get; }

    public MeshMetrics Metrics => _metrics;

    public string Service => _service;

    public string Method => _method;

    public string? Route => _route;

    /// <summary>Whether a call should be observed: a listener on the mesh's spans or call and attempt metrics.</summary>
    public static bool IsObserved(MeshMetrics metrics) =>
        MeshMetrics.ActivitySource.HasListeners() || metrics.HttpCallDuration.Enabled || metrics.HttpAttemptStarted.Enabled || metrics.HttpAttemptDuration.Enabled;

    public static HttpCallTelemetry Start(MeshMetrics metrics, HttpRequestMessage request, string service) => new(metrics, request, service);

    public void SetRoute(string? route)
    {
        _route = route;
        Activity?.SetTag("mesh.route", route);
    }

    public HttpAttemptTelemetry StartAttempt(int number)
    {
        Interlocked.Increment(ref _attempts);
        return new HttpAttemptTelemetry(this, number);
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
        var status = response is null ? 0 : (int)response.StatusCode;
        var errorType = ErrorType(response, failure);
        if (Activity is { } activity)
        {
            activity.SetTag("mesh.attempts", Boxed.Int(Volatile.Read(ref _attempts)));
            if (response is not null)
            {
                activity.SetTag("http.response.status_code", Boxed.Int(status));
            }

            if (errorType is not null)
            {
                activity.SetTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
            }
        }

        if (_metrics.HttpCallDuration.Enabled)
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

            _metrics.HttpCallDuration.Record(MeshMetrics.Elapsed(_start), tags);
        }
    }

    public void Dispose() => Activity?.Dispose();

    /// <summary>OpenTelemetry's <c>error.type</c>: the exception's type, or the status code of a 5xx answer.</summary>
    internal static string? ErrorType(HttpResponseMessage? response, Exception? failure) =>
        failure is not null ? failure.GetType().FullName
        : response is not null && (int)response.StatusCode >= 500 ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : null;
}

/// <summary>One attempt of an observed HttpClient call: a child span with the endpoint it went to, and attempt metrics.</summary>
internal sealed class HttpAttemptTelemetry : IDisposable
{
    private readonly HttpCallTelemetry _call;
    private readonly int _number;
    private readonly long _start;
    private string? _cluster;
    private EndpointState? _endpoint;

    public HttpAttemptTelemetry(HttpCallTelemetry call, int number)
    {
        _call = call;
        _number = number;
        _start = Stopwatch.GetTimestamp();
        Activity = MeshMetrics.ActivitySource.StartActivity(call.Names.Attempt, ActivityKind.Internal);
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("mesh.service", call.Service);
            activity.SetTag("mesh.route", call.Route);
            activity.SetTag("mesh.attempt", Boxed.Int(number));
        }
    }

    public Activity? Activity { get; }

    public void SetEndpoint(string cluster, EndpointState endpoint)
    {
        _cluster = cluster;
        _endpoint = endpoint;
        if (_call.Metrics.HttpAttemptStarted.Enabled)
        {
            _call.Metrics.HttpAttemptStarted.Add(1, new("mesh.service", _call.Service), new("mesh.cluster", cluster));
        }

        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("mesh.cluster", cluster);
            activity.SetTag("server.address", endpoint.Endpoint.Host);
            activity.SetTag("server.port", endpoint.BoxedPort);
            activity.SetTag("grpc.lb.locality", endpoint.LocalityLabel);
        }
    }

    public void SetPeerIdentity(string identity) => Activity?.SetTag("mesh.peer.identity", identity);

    /// <summary>Ends the attempt with a failure; returns false, for use in an exception filter that records without catching.</summary>
    public bool Fail(Exception failure)
    {
        Complete(null, failure);
        return false;
    }

    public void Complete(HttpResponseMessage? response, Exception? failure)
    {
        var errorType = HttpCallTelemetry.ErrorType(response, failure);
        if (Activity is { } activity)
        {
            if (response is not null)
            {
                activity.SetTag("http.response.status_code", Boxed.Int((int)response.StatusCode));
            }

            if (errorType is not null)
            {
                activity.SetTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
            }
        }

        if (_call.Metrics.HttpAttemptDuration.Enabled)
        {
            var tags = new TagList
            {
                { "mesh.service", _call.Service },
                { "mesh.cluster", _cluster },
                { "grpc.lb.locality", _endpoint?.LocalityLabel },
            };
            if (response is not null)
            {
                tags.Add("http.response.status_code", Boxed.Int((int)response.StatusCode));
            }

            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _call.Metrics.HttpAttemptDuration.Record(MeshMetrics.Elapsed(_start), tags);
        }
    }

    public void Dispose() => Activity?.Dispose();
}
