using System.Diagnostics;
using Mesh.Client.Grpc;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>
/// Spans and metrics of calls retried once, through the OpenTelemetry SDK with its in-memory exporter,
/// against real backends of which one fails (503 / UNAVAILABLE) and one answers.
/// </summary>
public sealed class CallTelemetryTests
{
    private static string Json(string service, Backends backends, string retryOn) => MeshJson.WithServices($$"""
        "{{service}}": {
          "Protocol": "Http2",
          "Endpoints": {{backends.EndpointsJson(0, 1)}},
          "Retry": { "RetryOn": "{{retryOn}}", "NumRetries": 2 }
        }
        """);

    /// <summary>Runs <paramref name="call"/> under a parent activity of its own trace and returns the spans of that trace.</summary>
    private static async Task<(List<Activity> Spans, ActivityTraceId TraceId)> TraceAsync(Func<Task> call, params string[] moreSources)
    {
        var spans = new SpanSink();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(["test", .. moreSources]).AddMeshInstrumentation().AddInMemoryExporter(spans).Build();
        using var source = new ActivitySource("test");
        ActivityTraceId traceId;
        using (var parent = source.StartActivity("test")!)
        {
            parent.AddBaggage("tenant", "acme");
            traceId = parent.TraceId;
            await call();
        }

        tracer!.ForceFlush();
        return ([.. spans.Snapshot().Where(s => s.TraceId == traceId)], traceId);
    }

    private static List<Metric> Collect(MeterProvider provider, List<Metric> exported)
    {
        provider.ForceFlush();
        return exported;
    }

    private static long Sum(IEnumerable<Metric> metrics, string name, Func<ReadOnlyTagCollection, bool> where)
    {
        long sum = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (where(point.Tags))
                {
                    sum += metric.MetricType switch
                    {
                        MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong(),
                        MetricType.Histogram => point.GetHistogramCount(),
                        _ => 0,
                    };
                }
            }
        }

        return sum;
    }

    /// <summary>
    /// A call of one attempt has no attempt span, and the endpoint it reached is on the call span; the retried
    /// call's first attempt got its span when the retry began, backdated to its own start and end.
    /// </summary>
    private static void AssertAttemptSpans(List<Activity> spans, List<Activity> calls, Activity retried, List<Activity> attempts, int goodPort, string cluster)
    {
        foreach (var single in calls.Where(c => (int)c.GetTagItem("mesh.attempts")! == 1))
        {
            Assert.DoesNotContain(spans, s => s.ParentSpanId == single.SpanId);
            Assert.Equal(cluster, single.GetTagItem("mesh.cluster"));
            Assert.Equal(goodPort, single.GetTagItem("server.port"));
            Assert.Equal("127.0.0.1", single.GetTagItem("server.address"));
        }

        var slack = TimeSpan.FromMilliseconds(1);
        Assert.Equal(1, attempts[0].GetTagItem("mesh.attempt"));
        Assert.Same(retried, attempts[0].Parent);
        Assert.Equal(2, attempts[1].GetTagItem("mesh.attempt"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.InRange(attempts[0].StartTimeUtc, retried.StartTimeUtc - slack, attempts[1].StartTimeUtc);
        Assert.InRange(attempts[0].StartTimeUtc + attempts[0].Duration, attempts[0].StartTimeUtc, attempts[1].StartTimeUtc + slack);
        Assert.Equal(cluster, attempts[0].GetTagItem("mesh.cluster"));
        Assert.NotEqual(goodPort, attempts[0].GetTagItem("server.port"));
    }

    /// <summary>
    /// Each echo (<c>traceparent|baggage</c> as the server received them) has one traceparent, in the caller's
    /// trace, whose parent is an exported span that ended successfully: the span of the attempt that reached the
    /// server, or the call span itself when the call made a single attempt (which then has no attempt span).
    /// </summary>
    private static void AssertPropagated(IEnumerable<string> echoes, List<Activity> spans, ActivityTraceId traceId, string callName, string attemptName)
    {
        foreach (var echo in echoes)
        {
            var (traceparent, baggage) = (echo.Split('|')[0], echo.Split('|')[1]);
            Assert.DoesNotContain(",", traceparent);
            var parts = traceparent.Split('-');
            Assert.Equal(traceId.ToHexString(), parts[1]);
            var parent = Assert.Single(spans, s => s.SpanId.ToHexString() == parts[2]);
            if (parent.DisplayName == callName)
            {
                Assert.Equal(1, parent.GetTagItem("mesh.attempts"));
                Assert.DoesNotContain(spans, s => s.ParentSpanId == parent.SpanId);
            }
            else
            {
                Assert.Equal(attemptName, parent.DisplayName);
                Assert.Equal(callName, Assert.Single(spans, s => s.SpanId == parent.ParentSpanId).DisplayName);
            }

            Assert.NotEqual(ActivityStatusCode.Error, parent.Status);
            Assert.Equal("01", parts[3]);
            Assert.Contains("tenant=acme", baggage.Replace(" ", "", StringComparison.Ordinal));
        }
    }

    private static bool Has(ReadOnlyTagCollection tags, string key, object value)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key && Equals(tag.Value?.ToString(), value.ToString()))
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public async Task HttpClient_CallRetriedOnce_SpanTreeMetricsAndOnePropagatedContext()
    {
        await using var backends = await Backends.StartAsync(2, "traced");
        backends[0].Fault = EchoFault.Unavailable;
        var exported = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeshInstrumentation().AddInMemoryExporter(exported).Build();
        await using var host = await MeshHost.StartAsync(Json("traced-http", backends, "5xx"));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Round robin over [failing, good]: of two calls one meets the failing endpoint first and is retried.
        var bodies = new List<string>();
        var (spans, traceId) = await TraceAsync(async () =>
        {
            bodies.Add(await client.GetStringAsync("http://traced-http/trace"));
            bodies.Add(await client.GetStringAsync("http://traced-http/trace"));
        });

        var calls = spans.Where(s => s.DisplayName == "GET traced-http").ToList();
        Assert.Equal(2, calls.Count);
        // Picks alternate over [failing, good], so one or both calls meet the failing endpoint first.
        var retriedCalls = calls.Count(c => (int)c.GetTagItem("mesh.attempts")! == 2);
        Assert.InRange(retriedCalls, 1, 2);
        Assert.All(calls, c => Assert.InRange((int)c.GetTagItem("mesh.attempts")!, 1, 2));
        var retried = calls.First(c => (int)c.GetTagItem("mesh.attempts")! == 2);
        var attempts = spans.Where(s => s.ParentSpanId == retried.SpanId).OrderBy(s => (int)s.GetTagItem("mesh.attempt")!).ToList();
        Assert.Equal(["Attempt GET traced-http", "Attempt GET traced-http"], attempts.Select(a => a.DisplayName));
        Assert.Equal(503, attempts[0].GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(200, attempts[1].GetTagItem("http.response.status_code"));
        Assert.Equal("traced-http", attempts[1].GetTagItem("mesh.cluster"));
        Assert.Equal("127.0.0.1", attempts[1].GetTagItem("server.address"));
        Assert.Equal(backends[1].Port, attempts[1].GetTagItem("server.port"));
        Assert.NotEqual(attempts[0].GetTagItem("server.port"), attempts[1].GetTagItem("server.port"));
        Assert.Equal(200, retried.GetTagItem("http.response.status_code"));
        Assert.NotEqual(ActivityStatusCode.Error, retried.Status);
        AssertAttemptSpans(spans, calls, retried, attempts, backends[1].Port, "traced-http");

        // Exactly one traceparent per request, in the caller's trace, naming as parent the span (recorded and
        // exported) of the attempt that reached the server, and the baggage with it.
        AssertPropagated(bodies, spans, traceId, "GET traced-http", "Attempt GET traced-http");

        var metrics = Collect(meters!, exported);
        bool Service(ReadOnlyTagCollection t) => Has(t, "mesh.service", "traced-http");
        Assert.Equal(2, Sum(metrics, "mesh.http.client.call.duration", Service));
        Assert.Equal(2 + retriedCalls, Sum(metrics, "mesh.http.client.attempt.started", Service));
        Assert.Equal(2 + retriedCalls, Sum(metrics, "mesh.http.client.attempt.duration", Service));
        Assert.Equal(retriedCalls, Sum(metrics, "mesh.http.client.attempt.duration", t => Service(t) && Has(t, "http.response.status_code", 503)));
        Assert.Equal(retriedCalls, Sum(metrics, "mesh.retries", t => Service(t) && Has(t, "mesh.front_door", "http")));
        Assert.Equal(2 + retriedCalls, Sum(metrics, "mesh.lb.picks", t => Has(t, "mesh.cluster", "traced-http")));
        Assert.Equal(retriedCalls, Sum(metrics, "mesh.lb.picks", t => Has(t, "server.address", backends[0].Address) && Has(t, "grpc.lb.locality", "{region=\"\", zone=\"\", sub_zone=\"\"}")));
    }

    [Fact]
    public async Task HttpClient_HttpClientsOwnSpansRecorded_HttpClientPropagatesItsSpanUnderTheMeshSpan()
    {
        await using var backends = await Backends.StartAsync(1, "traced");
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-own": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Someone records HttpClient's own request spans: HttpClient makes its span, under the mesh's span of the
        // call (a single attempt), and sends that span's context; the mesh leaves propagation to it.
        string body = "";
        var (spans, traceId) = await TraceAsync(async () => body = await client.GetStringAsync("http://traced-own/trace"), "System.Net.Http");

        var call = Assert.Single(spans, s => s.DisplayName == "GET traced-own");
        var own = Assert.Single(spans, s => s.OperationName == "System.Net.Http.HttpRequestOut");
        Assert.Equal(call.SpanId, own.ParentSpanId);
        var traceparent = body.Split('|')[0];
        Assert.DoesNotContain(",", traceparent);
        Assert.Equal($"00-{traceId.ToHexString()}-{own.SpanId.ToHexString()}-01", traceparent);
    }

    /// <summary>
    /// Runs <paramref name="call"/> under a recorded span <c>request</c> of the application's own source
    /// <paramref name="source"/> (with baggage <c>tenant=acme</c>), which no OpenTelemetry provider listens to.
    /// Returns the span's id and the operation names of the activities that became current in its trace meanwhile.
    /// </summary>
    private static async Task<(string SpanId, List<string> Current)> UnderApplicationSpanAsync(string source, Func<Task> call)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var appSource = new ActivitySource(source);
        using var current = new CurrentActivities();
        using var app = appSource.StartActivity("request")!;
        app.AddBaggage("tenant", "acme");
        current.TraceId = app.TraceId;
        await call();
        return (app.Id!, current.OperationNames());
    }

    /// <summary>
    /// One backend, a mesh host with <c>service</c> over it and a gRPC client of the client factory for it, which
    /// has made one call: enough for the channel's interceptor to see that its requests pass the mesh's innermost
    /// handler, so that later calls' spans are not the current activity.
    /// </summary>
    private sealed class GrpcRig : IAsyncDisposable
    {
        private readonly Backends _backends;
        private readonly MeshHost _host;

        private GrpcRig(Backends backends, MeshHost host)
        {
            _backends = backends;
            _host = host;
            Client = host.Services.GetRequiredService<Echo.EchoClient>();
        }

        public Echo.EchoClient Client { get; }

        public static async Task<GrpcRig> StartAsync(string service)
        {
            var backends = await Backends.StartAsync(1, "traced");
            var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
                "{{service}}": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
                """), services => services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri($"xds:///{service}")));
            var rig = new GrpcRig(backends, host);
            await rig.Client.HelloAsync(new HelloRequest { Name = "warm" });
            return rig;
        }

        public async ValueTask DisposeAsync()
        {
            await _host.DisposeAsync();
            await _backends.DisposeAsync();
        }
    }

    /// <summary>
    /// The activities that became the current one, in the trace of <paramref name="traceId"/>, while the returned
    /// scope lived: seen through <see cref="Activity.CurrentChanged"/>, which (unlike a listener on HttpClient's or
    /// grpc-dotnet's sources) does not change what they do.
    /// </summary>
    private sealed class CurrentActivities : IDisposable
    {
        private readonly List<Activity> _seen = [];

        public CurrentActivities() => Activity.CurrentChanged += OnChanged;

        public ActivityTraceId TraceId { get; set; }

        public List<string> OperationNames()
        {
            lock (_seen)
            {
                return [.. _seen.Where(a => a.TraceId == TraceId).Select(a => a.OperationName).Distinct()];
            }
        }

        public void Dispose() => Activity.CurrentChanged -= OnChanged;

        private void OnChanged(object? sender, ActivityChangedEventArgs e)
        {
            if (e.Current is { } current)
            {
                lock (_seen)
                {
                    _seen.Add(current);
                }
            }
        }
    }

    [Fact]
    public async Task HttpClient_UnderAnApplicationSpan_MeshSpanOnTheWireAndNoActivityOfHttpClients()
    {
        await using var backends = await Backends.StartAsync(1, "traced");
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-quiet": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        await client.GetStringAsync("http://traced-quiet/trace");

        // Nobody records HttpClient's own spans: the mesh writes its call span's context into the request and keeps
        // the application's span (current around the call) from HttpClient, which would otherwise start an activity
        // of its own for nobody. The caller's current activity is the same after the call as before it.
        using var current = new CurrentActivities();
        string body = "";
        Activity? before = null, after = null;
        var (spans, traceId) = await TraceAsync(async () =>
        {
            current.TraceId = Activity.Current!.TraceId;
            before = Activity.Current;
            body = await client.GetStringAsync("http://traced-quiet/trace");
            after = Activity.Current;
        });

        Assert.Same(before, after);
        AssertPropagated([body], spans, traceId, "GET traced-quiet", "Attempt GET traced-quiet");
        Assert.DoesNotContain("System.Net.Http.HttpRequestOut", current.OperationNames());
    }

    [Fact]
    public async Task Grpc_UnderAnApplicationSpan_MeshSpanOnTheWireAndNoActivityOfGrpcOrHttpClients()
    {
        await using var rig = await GrpcRig.StartAsync("traced-grpc-quiet");
        var client = rig.Client;

        using var current = new CurrentActivities();
        var replies = new List<string>();
        var (spans, traceId) = await TraceAsync(async () =>
        {
            current.TraceId = Activity.Current!.TraceId;
            replies.Add((await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);
            replies.Add((await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);
        });

        AssertPropagated(replies, spans, traceId, "Sent.mesh.samples.Echo.Hello", "Attempt.mesh.samples.Echo.Hello");
        var names = current.OperationNames();
        Assert.DoesNotContain("Grpc.Net.Client.GrpcOut", names);
        Assert.DoesNotContain("System.Net.Http.HttpRequestOut", names);
    }

    [Fact]
    public async Task Grpc_GrpcClientsOwnSpansRecorded_TheyAreChildrenOfTheMeshSpan()
    {
        await using var rig = await GrpcRig.StartAsync("traced-grpc-own");
        var client = rig.Client;

        // Someone records grpc-dotnet's own spans: the mesh span stays current while the channel sends the call, so
        // that grpc-dotnet's span is its child.
        var (spans, _) = await TraceAsync(async () => await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName }), "Grpc.Net.Client");

        var call = Assert.Single(spans, s => s.DisplayName == "Sent.mesh.samples.Echo.Hello");
        var own = Assert.Single(spans, s => s.OperationName == "Grpc.Net.Client.GrpcOut");
        Assert.Equal(call.SpanId, own.ParentSpanId);
    }

    [Fact]
    public async Task Grpc_ChannelWithItsOwnTransport_StillCarriesTheCallersTrace()
    {
        await using var backends = await Backends.StartAsync(1, "traced");
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-own-transport": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
            """));

        // A transport of the application's own, without the mesh's innermost handler: the interceptor never sees its
        // requests pass that handler, so its spans stay current and HttpClient propagates.
        var invoker = MeshGrpc.CreateCallInvoker("xds:///traced-own-transport", host.Services, out var channel,
            new global::Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
        using (channel)
        {
            var client = new Echo.EchoClient(invoker);
            var replies = new List<string>();
            var (spans, traceId) = await TraceAsync(async () =>
            {
                for (var i = 0; i < 3; i++)
                {
                    replies.Add((await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);
                }
            });

            Assert.Equal(3, spans.Count(s => s.DisplayName == "Sent.mesh.samples.Echo.Hello"));
            Assert.All(replies, reply => Assert.Equal(traceId.ToHexString(), reply.Split('|')[0].Split('-')[1]));
        }
    }

    [Fact]
    public async Task HttpClient_TraceNotSampled_NoSpanStartedAndTheCallersContextOrAnUnsampledTraceOnTheWire()
    {
        await using var backends = await Backends.StartAsync(1, "traced");
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-unsampled": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        var spans = new SpanSink();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation().SetSampler(new AlwaysOffSampler()).AddInMemoryExporter(spans).Build();

        // An application span of another listener's (recorded) around the call, and a sampler that drops the mesh's
        // spans: no mesh span is started, the request carries the application span's context as it would without
        // the mesh, and HttpClient starts no activity of its own to carry it.
        var underApp = "";
        var (appId, current) = await UnderApplicationSpanAsync("test-app", async () => underApp = await client.GetStringAsync("http://traced-unsampled/trace"));

        Assert.Equal(appId, underApp.Split('|')[0]);
        Assert.Contains("tenant=acme", underApp.Split('|')[1].Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(["request"], current);

        // No current activity: the request carries a trace of its own, marked not sampled.
        var alone = (await client.GetStringAsync("http://traced-unsampled/trace")).Split('|')[0].Split('-');
        Assert.Equal(4, alone.Length);
        Assert.Equal("00", alone[0]);
        Assert.Matches("^[0-9a-f]{32}$", alone[1]);
        Assert.NotEqual(new string('0', 32), alone[1]);
        Assert.Matches("^[0-9a-f]{16}$", alone[2]);
        Assert.Equal("00", alone[3]);

        tracer!.ForceFlush();
        Assert.Empty(spans.Snapshot());
    }

    [Fact]
    public async Task Grpc_TraceNotSampled_TheCallersContextOnTheWire()
    {
        await using var rig = await GrpcRig.StartAsync("traced-grpc-unsampled");
        var client = rig.Client;
        using var tracer = Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation().SetSampler(new AlwaysOffSampler()).Build();
        var reply = "";
        var (appId, current) = await UnderApplicationSpanAsync("test-app-grpc", async () => reply = (await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);

        Assert.Equal(appId, reply.Split('|')[0]);
        Assert.Equal(["request"], current);
    }

    [Fact]
    public async Task HttpClient_HedgedCall_FirstAttemptGetsItsSpanWhileRunningAndEndsItWhenOvertaken()
    {
        await using var backends = await Backends.StartAsync(2, "traced");
        backends[0].Fault = EchoFault.Slow;
        backends[0].SlowDelay = TimeSpan.FromSeconds(10);
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-hedge": {
              "Protocol": "Http2",
              "Endpoints": {{backends.EndpointsJson(0, 1)}},
              "Hedging": { "MaxHedgedAttempts": 1, "Delay": "500ms" }
            }
            """));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        var spans = new SpanSink();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddMeshInstrumentation().AddInMemoryExporter(spans).Build();

        // Round robin over [slow, good]: one of the two calls meets the slow endpoint first and is hedged (the
        // other may be too, depending on where the copy moved round robin).
        var bodies = new[] { await client.GetStringAsync("http://traced-hedge/trace"), await client.GetStringAsync("http://traced-hedge/trace") };
        (List<Activity> Calls, List<Activity> Attempts) Spans()
        {
            var all = spans.Snapshot();
            return ([.. all.Where(s => s.DisplayName == "GET traced-hedge")], [.. all.Where(s => s.DisplayName == "Attempt GET traced-hedge")]);
        }

        // An overtaken attempt is cancelled after its call has returned: its span ends then.
        await Wait.UntilAsync(
            () => Spans() is var (calls, attempts) && calls.Count == 2 && attempts.Count == 2 * calls.Count(c => (int)c.GetTagItem("mesh.attempts")! == 2),
            "every attempt span of the hedged calls ended");
        var (calls, all) = Spans();
        var hedged = calls.First(c => all.Any(a => a.ParentSpanId == c.SpanId && (int)a.GetTagItem("mesh.attempt")! == 1 && Equals(a.GetTagItem("server.port"), backends[0].Port)));
        var attempts = all.Where(a => a.ParentSpanId == hedged.SpanId).OrderBy(a => (int)a.GetTagItem("mesh.attempt")!).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(backends[1].Port, attempts[1].GetTagItem("server.port"));
        Assert.Equal(200, attempts[1].GetTagItem("http.response.status_code"));

        // The first attempt's span starts when the attempt did (500 ms before the copy), not when the copy made
        // it, and ends when the attempt was given up, after the copy began.
        Assert.InRange(attempts[1].StartTimeUtc - attempts[0].StartTimeUtc, TimeSpan.FromMilliseconds(490), TimeSpan.FromSeconds(5));
        Assert.True(attempts[0].StartTimeUtc + attempts[0].Duration >= attempts[1].StartTimeUtc);

        // The answer came from the copy, whose span is the parent the server saw.
        Assert.Contains(attempts[1].SpanId.ToHexString(), bodies.Select(b => b.Split('|')[0].Split('-')[2]));
    }

    [Fact]
    public async Task Grpc_ChannelFromMeshGrpc_PropagatesTheMeshSpan()
    {
        await using var backends = await Backends.StartAsync(1, "traced");
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices($$"""
            "traced-standalone": { "Protocol": "Http2", "Endpoints": {{backends.EndpointsJson(0)}} }
            """));
        var invoker = MeshGrpc.CreateCallInvoker("xds:///traced-standalone", host.Services, out var channel);
        using (channel)
        {
            var client = new Echo.EchoClient(invoker);
            var reply = "";
            var (spans, traceId) = await TraceAsync(async () => reply = (await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);

            // The channel's own handler chain (not the client factory's) also sends the mesh span's context.
            AssertPropagated([reply], spans, traceId, "Sent.mesh.samples.Echo.Hello", "Attempt.mesh.samples.Echo.Hello");
        }
    }

    [Fact]
    public async Task Grpc_CallRetriedOnce_SpanTreeMetricsAndOnePropagatedContext()
    {
        await using var backends = await Backends.StartAsync(2, "traced");
        backends[0].Fault = EchoFault.Unavailable;
        var exported = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeshInstrumentation().AddInMemoryExporter(exported).Build();
        await using var host = await MeshHost.StartAsync(Json("traced-grpc", backends, "unavailable"),
            services => services.AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri("xds:///traced-grpc")));
        var client = host.Services.GetRequiredService<Echo.EchoClient>();

        // Wait until both subchannels are connected, so that round robin alternates.
        var names = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                names.Add((await client.HelloAsync(new HelloRequest { Name = "warm" })).Backend);
            }
            catch (global::Grpc.Core.RpcException)
            {
            }

            return names.Count >= 1 && backends[0].Requests >= 1;
        }, "both endpoints in rotation");

        var replies = new List<string>();
        var (spans, traceId) = await TraceAsync(async () =>
        {
            replies.Add((await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);
            replies.Add((await client.HelloAsync(new HelloRequest { Name = EchoBackend.TraceName })).Message);
        });

        var calls = spans.Where(s => s.DisplayName == "Sent.mesh.samples.Echo.Hello").ToList();
        Assert.True(calls.Count == 2, string.Join(", ", spans.Select(s => s.DisplayName)));
        // Picks alternate over [failing, good], so one or both calls meet the failing endpoint first.
        var retriedCalls = calls.Count(c => (int)c.GetTagItem("mesh.attempts")! == 2);
        Assert.InRange(retriedCalls, 1, 2);
        Assert.All(calls, c => Assert.InRange((int)c.GetTagItem("mesh.attempts")!, 1, 2));
        var retried = calls.First(c => (int)c.GetTagItem("mesh.attempts")! == 2);
        var attempts = spans.Where(s => s.ParentSpanId == retried.SpanId).OrderBy(s => (int)s.GetTagItem("mesh.attempt")!).ToList();
        Assert.Equal(["Attempt.mesh.samples.Echo.Hello", "Attempt.mesh.samples.Echo.Hello"], attempts.Select(a => a.DisplayName));
        Assert.Equal(14, attempts[0].GetTagItem("rpc.grpc.status_code"));
        Assert.Equal(0, attempts[1].GetTagItem("rpc.grpc.status_code"));
        Assert.Equal(backends[1].Port, attempts[1].GetTagItem("server.port"));
        Assert.Equal("traced-grpc", attempts[1].GetTagItem("mesh.cluster"));
        Assert.Equal(0, retried.GetTagItem("rpc.grpc.status_code"));
        AssertAttemptSpans(spans, calls, retried, attempts, backends[1].Port, "traced-grpc");

        AssertPropagated(replies, spans, traceId, "Sent.mesh.samples.Echo.Hello", "Attempt.mesh.samples.Echo.Hello");

        var metrics = Collect(meters!, exported);
        bool Method(ReadOnlyTagCollection t) => Has(t, "grpc.method", "mesh.samples.Echo/Hello") && Has(t, "grpc.target", "xds:///traced-grpc");
        Assert.True(Sum(metrics, "grpc.client.call.duration", t => Method(t) && Has(t, "grpc.status", "OK")) >= 2);
        Assert.Equal(Sum(metrics, "grpc.client.attempt.started", Method), Sum(metrics, "grpc.client.attempt.duration", Method));
        Assert.True(Sum(metrics, "grpc.client.attempt.duration", t => Method(t) && Has(t, "grpc.status", "UNAVAILABLE")) >= 1);
        Assert.True(Sum(metrics, "grpc.client.attempt.sent_total_compressed_message_size", Method) >= 3);
        Assert.True(Sum(metrics, "mesh.retries", t => Has(t, "mesh.front_door", "grpc") && Has(t, "mesh.service", "xds:///traced-grpc")) >= 1);
    }
}
