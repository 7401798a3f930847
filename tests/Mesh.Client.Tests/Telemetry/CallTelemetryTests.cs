using System.Diagnostics;
using Mesh.Client.Telemetry;
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
    private static async Task<(List<Activity> Spans, ActivityTraceId TraceId)> TraceAsync(Func<Task> call)
    {
        var spans = new List<Activity>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource("test").AddMeshInstrumentation().AddInMemoryExporter(spans).Build();
        using var source = new ActivitySource("test");
        ActivityTraceId traceId;
        using (var parent = source.StartActivity("test")!)
        {
            parent.AddBaggage("tenant", "acme");
            traceId = parent.TraceId;
            await call();
        }

        tracer!.ForceFlush();
        lock (spans)
        {
            return ([.. spans.Where(s => s.TraceId == traceId)], traceId);
        }
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

        // Exactly one traceparent per request, in the caller's trace, and the baggage with it.
        foreach (var body in bodies)
        {
            var (traceparent, baggage) = (body.Split('|')[0], body.Split('|')[1]);
            Assert.DoesNotContain(",", traceparent);
            Assert.Equal(traceId.ToHexString(), traceparent.Split('-')[1]);
            Assert.Contains("tenant=acme", baggage.Replace(" ", "", StringComparison.Ordinal));
        }

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

        foreach (var reply in replies)
        {
            var (traceparent, baggage) = (reply.Split('|')[0], reply.Split('|')[1]);
            Assert.DoesNotContain(",", traceparent);
            Assert.Equal(traceId.ToHexString(), traceparent.Split('-')[1]);
            Assert.Contains("tenant=acme", baggage.Replace(" ", "", StringComparison.Ordinal));
        }

        var metrics = Collect(meters!, exported);
        bool Method(ReadOnlyTagCollection t) => Has(t, "grpc.method", "mesh.samples.Echo/Hello") && Has(t, "grpc.target", "xds:///traced-grpc");
        Assert.True(Sum(metrics, "grpc.client.call.duration", t => Method(t) && Has(t, "grpc.status", "OK")) >= 2);
        Assert.Equal(Sum(metrics, "grpc.client.attempt.started", Method), Sum(metrics, "grpc.client.attempt.duration", Method));
        Assert.True(Sum(metrics, "grpc.client.attempt.duration", t => Method(t) && Has(t, "grpc.status", "UNAVAILABLE")) >= 1);
        Assert.True(Sum(metrics, "grpc.client.attempt.sent_total_compressed_message_size", Method) >= 3);
        Assert.True(Sum(metrics, "mesh.retries", t => Has(t, "mesh.front_door", "grpc") && Has(t, "mesh.service", "xds:///traced-grpc")) >= 1);
    }
}
