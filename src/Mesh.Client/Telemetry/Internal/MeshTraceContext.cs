using System.Diagnostics;
using Microsoft.Extensions.Http;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// Puts the trace context of the mesh's attempt span on the wire, in place of HttpClient's diagnostics handler.
/// </summary>
/// <remarks>
/// Below a mesh span, HttpClient's diagnostics handler (inside <see cref="SocketsHttpHandler"/>) starts an
/// activity of its own for every request, even when nobody records it, and sends that activity's id as the
/// parent: the server's span then points at a span no trace backend ever receives, and every request pays
/// for one more <see cref="Activity"/>. So when the current activity is a mesh span and nobody listens to
/// HttpClient's own request telemetry, the mesh writes the span's context into the request with the same
/// propagator HttpClient would use (<see cref="DistributedContextPropagator.Current"/>) and hides the span
/// from the handler below, which then passes the request through untouched. When someone does listen
/// (OpenTelemetry's HttpClient instrumentation, say), HttpClient's activity is a recorded child of the
/// attempt span, and HttpClient propagates as it always does.
/// </remarks>
internal static class MeshTraceContext
{
    // Same name as HttpClient's own source: a listener that takes HttpClient's spans takes this one's too.
    private static readonly ActivitySource HttpClientSource = new("System.Net.Http");

    // HttpClient's switch for its diagnostics handler; when off, nobody propagates, and neither does the mesh.
    private static readonly bool PropagationEnabled = ReadPropagationSwitch();

    private static DiagnosticListener? s_httpClientListener;

    static MeshTraceContext() => DiagnosticListener.AllListeners.Subscribe(new HttpClientListenerWatch());

    /// <summary>
    /// When the current activity is a mesh span that the mesh should propagate itself: writes its context into
    /// <paramref name="request"/>, clears the current activity for the handlers below, and returns the activity
    /// it hid (to hand to <see cref="Restore"/> as soon as the send has started); otherwise returns <see langword="null"/>.
    /// </summary>
    public static Activity? TakeOver(HttpRequestMessage request)
    {
        var current = Activity.Current;
        if (current is null || !PropagationEnabled)
        {
            return null;
        }

        // Activities made without a source nobody listens to are invisible to every trace backend: grpc-dotnet
        // starts one per call ("Grpc.Net.Client.GrpcOut") whenever there is a current activity. Their parent is
        // the one that counts.
        var span = current;
        while (span is not null && span.Source.Name.Length == 0 && !span.Source.HasListeners())
        {
            span = span.Parent;
        }

        if (span is null || !ReferenceEquals(span.Source, MeshMetrics.ActivitySource)
            || HttpClientSource.HasListeners() || s_httpClientListener?.IsEnabled() == true)
        {
            return null;
        }

        DistributedContextPropagator.Current.Inject(span, request, SetHeader);
        Activity.Current = null;
        return current;
    }

    /// <summary>Makes <paramref name="hidden"/> (the current activity <see cref="TakeOver"/> hid) current again.</summary>
    public static void Restore(Activity? hidden)
    {
        if (hidden is not null)
        {
            Activity.Current = hidden;
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

    /// <summary>Finds HttpClient's diagnostic listener once it exists, to ask whether anyone subscribes to it.</summary>
    private sealed class HttpClientListenerWatch : IObserver<DiagnosticListener>
    {
        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == "HttpHandlerDiagnosticListener")
            {
                Volatile.Write(ref s_httpClientListener, value);
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
/// Innermost handler of every client from the client factory, just above the primary handler: the place where
/// <see cref="MeshTraceContext"/> writes the mesh span's context, after all other handlers have run under it.
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
