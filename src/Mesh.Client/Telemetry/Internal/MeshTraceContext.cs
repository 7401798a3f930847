using System.Diagnostics;
using Mesh.Client.Grpc.Internal;
using Microsoft.Extensions.Http;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// How the mesh's spans reach the wire: the mesh writes the trace context of the span that carries a request
/// into it itself, in place of HttpClient's diagnostics handler, and its span is the current activity only when
/// HttpClient's or grpc-dotnet's own instrumentation is recorded.
/// </summary>
/// <remarks>
/// <para>
/// Below any current activity, HttpClient's diagnostics handler (inside <see cref="SocketsHttpHandler"/>) starts
/// an activity of its own for every request, even when nobody records it, and sends that activity's id as the
/// parent: the server's span then points at a span no trace backend ever receives. grpc-dotnet likewise starts
/// an unrecorded <c>GrpcOut</c> activity for every call under a current activity. Neither is needed when
/// nobody records them, so then (<see cref="SpanStaysCurrent"/> false) the mesh starts its span without leaving
/// it current, writes its context into each attempt's request with the propagator HttpClient would use
/// (<see cref="DistributedContextPropagator.Current"/>), and keeps any other current activity from HttpClient's
/// and grpc-dotnet's code while they send a request that already carries the mesh's context. The request path
/// then makes one activity per call, the mesh's, and its execution context stays as the caller left it.
/// </para>
/// <para>
/// When someone records HttpClient's (or grpc-dotnet's) own spans, the mesh span is the current activity while
/// they run, so that their spans are its children, and HttpClient propagates as it always does.
/// </para>
/// </remarks>
internal static class MeshTraceContext
{
    // Same names as HttpClient's and grpc-dotnet's own sources: a listener that takes their spans takes these too.
    private static readonly ActivitySource HttpClientSource = new("System.Net.Http");
    private static readonly ActivitySource GrpcClientSource = new("Grpc.Net.Client");

    // HttpClient's switch for its diagnostics handler; when off, nobody propagates, and neither does the mesh.
    private static readonly bool PropagationEnabled = ReadPropagationSwitch();

    private static readonly DistributedContextPropagator W3C = DistributedContextPropagator.CreateW3CPropagator();

    private static DiagnosticListener? s_httpClientListener;
    private static DiagnosticListener? s_grpcClientListener;

    // The request the mesh just wrote its context into, on this thread, while its handlers run synchronously
    // down to the innermost one (which then keeps other activities from HttpClient). Cleared as the send returns.
    [ThreadStatic]
    private static HttpRequestMessage? t_written;

    static MeshTraceContext() => DiagnosticListener.AllListeners.Subscribe(new ListenerWatch());

    /// <summary>Whether HttpClient's own request telemetry (its activity source or diagnostic listener) is recorded.</summary>
    public static bool HttpClientObserved => HttpClientSource.HasListeners() || s_httpClientListener?.IsEnabled() == true;

    /// <summary>
    /// Whether a mesh span should stay the current activity while HttpClient (<paramref name="grpc"/> false) or
    /// grpc-dotnet and HttpClient (<paramref name="grpc"/> true) send its requests: when their own spans are
    /// recorded, so that they are its children. Otherwise the mesh propagates the span itself.
    /// </summary>
    public static bool SpanStaysCurrent(bool grpc) =>
        !PropagationEnabled || HttpClientObserved || (grpc && (GrpcClientSource.HasListeners() || s_grpcClientListener?.IsEnabled() == true));

    /// <summary>
    /// Starts a call's span, <paramref name="name"/> on the mesh's source, and says in <paramref name="wire"/> what
    /// the call's requests carry; <paramref name="start"/> is the call's start (a <see cref="Stopwatch"/>
    /// timestamp), taken when a span starts or when <paramref name="timed"/> (the call's metrics need it), else 0.
    /// </summary>
    /// <remarks>
    /// When the span should stay current (<see cref="SpanStaysCurrent"/>) it is started as any activity is, and
    /// HttpClient propagates it (<paramref name="wire"/> is empty). Otherwise the current activity is left as it was,
    /// and when the samplers want the span recorded it is started and carried to the wire by the mesh. When they
    /// only ask for the trace to be propagated (a trace not sampled: <see cref="ActivitySamplingResult.PropagationData"/>),
    /// or want no span at all, none is started, since nobody would ever see it: the requests carry the caller's
    /// current activity's context, as they would without the mesh, or, for a call with none, the unsampled trace the
    /// samplers began (with the W3C propagator; any other propagator gets an unrecorded span started to propagate).
    /// </remarks>
    public static Activity? StartSpan(string name, bool staysCurrent, bool timed, out long start, out WireContext wire)
    {
        wire = default;
        var previous = Activity.Current;

        // Created, not started: the samplers have decided, and nothing else has happened yet.
        var span = MeshMetrics.ActivitySource.CreateActivity(name, ActivityKind.Internal);
        if (span is null || (!staysCurrent && !span.IsAllDataRequested))
        {
            start = timed ? Stopwatch.GetTimestamp() : 0;
            if (staysCurrent)
            {
                return null;
            }

            if (previous is not null)
            {
                // No span (nobody listens to the mesh's, or its samplers dropped it: the OpenTelemetry SDK asks for
                // none under a local parent), or one only to propagate: the caller's context goes on the wire, as
                // HttpClient would send it, without the activity HttpClient would start to carry it.
                wire = new WireContext(previous, null);
                return null;
            }

            if (span is null)
            {
                return null;
            }

            if (ReferenceEquals(DistributedContextPropagator.Current, W3C))
            {
                wire = new WireContext(null, TraceParent(span.TraceId), span.TraceStateString);
                return null;
            }
        }

        start = Stopwatch.GetTimestamp();
        span.SetStartTime(SpanClock.At(start));
        span.Start();
        if (!staysCurrent)
        {
            Activity.Current = previous;
            wire = new WireContext(span, null);
        }

        return span;
    }

    /// <summary>The W3C <c>traceparent</c> of a new, unsampled span of <paramref name="traceId"/> (of a new trace if it is empty).</summary>
    private static string TraceParent(ActivityTraceId traceId)
    {
        // An ActivityTraceId holds its hex form: this makes no string.
        var trace = (traceId == default ? ActivityTraceId.CreateRandom() : traceId).ToHexString();
        return string.Create(55, trace, static (text, trace) =>
        {
            "00-".CopyTo(text);
            trace.CopyTo(text[3..]);
            text[35] = '-';

            // An identifier, not a decision: the shared generator is enough (an all-zero span id is invalid).
            ulong spanId;
            do
            {
                spanId = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
            }
            while (spanId == 0);

            for (var i = 51; i >= 36; i--, spanId >>= 4)
            {
                text[i] = "0123456789abcdef"[(int)(spanId & 0xF)];
            }

            "-00".CopyTo(text[52..]);
        });
    }

    /// <summary>
    /// Writes <paramref name="wire"/> into an HttpClient request of the mesh's, and marks the request for the
    /// innermost handler; call <see cref="Sent"/> once the send has returned its task.
    /// </summary>
    public static void Write(in WireContext wire, HttpRequestMessage request)
    {
        Inject(wire, request);
        t_written = request;
    }

    /// <summary>Clears the mark <see cref="Write"/> left.</summary>
    public static void Sent() => t_written = null;

    /// <summary>
    /// In the innermost handler, before HttpClient's own: puts a gRPC attempt's span on the wire, or, when the
    /// current activity is a mesh span that the mesh should propagate itself, that span; and hides the current
    /// activity from HttpClient when the request carries the mesh's context. Returns the activity it hid (to hand
    /// to <see cref="Restore"/> as soon as the send has started), or <see langword="null"/>.
    /// </summary>
    public static Activity? TakeOver(HttpRequestMessage request)
    {
        if (MeshCallContext.Current is { } attempt)
        {
            // A gRPC attempt of the mesh's interceptor, whose later calls may now leave their spans to this handler.
            attempt.Interceptor?.OnTraceHandler();
            if (!attempt.Wire.IsEmpty)
            {
                // Its span is not current (see SpanStaysCurrent): its context travels with the attempt.
                Inject(attempt.Wire, request);
                return Hide();
            }
        }

        if (ReferenceEquals(t_written, request))
        {
            // An HttpClient request the mesh handler already wrote its context into.
            t_written = null;
            return Hide();
        }

        var current = Activity.Current;
        if (current is null || !PropagationEnabled)
        {
            return null;
        }

        // A mesh span that stayed current (someone recorded HttpClient's or gRPC's spans when the call began).
        // Activities made without a source nobody listens to are invisible to every trace backend: grpc-dotnet
        // starts one per call ("Grpc.Net.Client.GrpcOut") whenever there is a current activity. Their parent is
        // the one that counts.
        var span = current;
        while (span is not null && span.Source.Name.Length == 0 && !span.Source.HasListeners())
        {
            span = span.Parent;
        }

        if (span is null || !ReferenceEquals(span.Source, MeshMetrics.ActivitySource) || HttpClientObserved)
        {
            return null;
        }

        Inject(new WireContext(span, null), request);
        return Hide();
    }

    /// <summary>Makes <paramref name="hidden"/> (the current activity <see cref="TakeOver"/> hid) current again.</summary>
    public static void Restore(Activity? hidden)
    {
        if (hidden is not null)
        {
            Activity.Current = hidden;
        }
    }

    // HttpClient's diagnostics handler would start an activity nobody records under any current one, and its
    // headers would not be sent (the request has the mesh's): keep it from seeing one, unless HttpClient's own
    // spans are recorded after all.
    private static Activity? Hide()
    {
        var current = Activity.Current;
        if (current is null || HttpClientObserved)
        {
            return null;
        }

        Activity.Current = null;
        return current;
    }

    private static void Inject(in WireContext wire, HttpRequestMessage request)
    {
        if (wire.Span is { } span)
        {
            DistributedContextPropagator.Current.Inject(span, request, SetHeader);
            return;
        }

        SetHeader(request, "traceparent", wire.TraceParent!);
        if (wire.TraceState is { Length: > 0 } state)
        {
            SetHeader(request, "tracestate", state);
        }
    }

    // Each attempt has its own span: a retry replaces what an earlier attempt of the same request wrote.
    private static void SetHeader(object? carrier, string name, string value)
    {
        var headers = ((HttpRequestMessage)carrier!).Headers;
        headers.Remove(name);
        headers.TryAddWithoutValidation(name, value);
    }

    private static bool ReadPropagationSwitch()
    {
        if (AppContext.TryGetSwitch("System.Net.Http.EnableActivityPropagation", out var enabled))
        {
            return enabled;
        }

        var variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_HTTP_ENABLEACTIVITYPROPAGATION");
        return !(string.Equals(variable, "false", StringComparison.OrdinalIgnoreCase) || variable == "0");
    }

    /// <summary>Finds HttpClient's and grpc-dotnet's diagnostic listeners once they exist, to ask whether anyone subscribes to them.</summary>
    private sealed class ListenerWatch : IObserver<DiagnosticListener>
    {
        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == "HttpHandlerDiagnosticListener")
            {
                Volatile.Write(ref s_httpClientListener, value);
            }
            else if (value.Name == "Grpc.Net.Client")
            {
                Volatile.Write(ref s_grpcClientListener, value);
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}

/// <summary>
/// The trace context a mesh call's requests carry when the mesh writes it itself: a span's (the call's, an
/// attempt's, or, for a call whose span the samplers did not want, the caller's current activity's), or, for such a
/// call without a current activity, a <c>traceparent</c> (and <c>tracestate</c>) of the unsampled trace.
/// </summary>
internal readonly record struct WireContext(Activity? Span, string? TraceParent, string? TraceState = null)
{
    /// <summary>Nothing to write (HttpClient propagates, or nobody).</summary>
    public bool IsEmpty => Span is null && TraceParent is null;
}

/// <summary>
/// Innermost handler of every client from the client factory, of the mesh's gRPC channels and of its TLS
/// transport, just above the primary handler: where <see cref="MeshTraceContext"/> puts gRPC attempts' spans on
/// the wire and keeps activities nobody records from HttpClient, after all other handlers have run.
/// </summary>
internal sealed class MeshTraceContextHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var hidden = MeshTraceContext.TakeOver(request);
        try
        {
            return base.SendAsync(request, cancellationToken);
        }
        finally
        {
            MeshTraceContext.Restore(hidden);
        }
    }
}

/// <summary>Wraps each factory client's primary handler in a <see cref="MeshTraceContextHandler"/>, after all configuration has run.</summary>
internal sealed class MeshTraceContextFilter : IHttpMessageHandlerBuilderFilter
{
    public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
    {
        next(builder);
        builder.PrimaryHandler = new MeshTraceContextHandler(builder.PrimaryHandler);
    };
}
