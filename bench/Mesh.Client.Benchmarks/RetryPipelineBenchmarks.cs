using System.Net;
using BenchmarkDotNet.Attributes;
using Mesh.Client.Configuration;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// The per-route resilience pipeline on the success path: one GET through an <c>IHttpClientFactory</c> client
/// with the mesh down to a primary handler that answers 200 at once, to a route without policies, with
/// retries, and with a timeout plus retries; and the same Polly pipelines executed alone around a callback
/// that does nothing, to tell Polly's own cost per execution from the mesh's. The goal (issue item 13): the
/// retry pipeline allocates nothing per request beyond what Polly does.
/// </summary>
[MemoryDiagnoser]
// HttpClient's path is still being re-jitted (tiered compilation, dynamic PGO) after the default 3 warm-up
// iterations; 6 keep that out of the measured ones (as in HttpClientPathBenchmarks).
[WarmupCount(6)]
public class RetryPipelineBenchmarks
{
    // Service names of one length: the request's Uri allocates its host name, so a longer name would show up
    // as bytes of its own.
    private const string PlainUrl = "http://plain/items/42";
    private const string RetryUrl = "http://retry/items/42";
    private const string TimeoutRetryUrl = "http://timed/items/42";

    private HttpClient _client = null!;
    private ServiceProvider _services = null!;
    private ResiliencePipeline<HttpResponseMessage> _pollyRetry = null!;
    private ResiliencePipeline<HttpResponseMessage> _pollyTimeoutRetry = null!;
    private HttpRequestMessage _pollyRequest = null!;
    private HttpResponseMessage _pollyResponse = null!;
    private CancellationTokenSource _pollyCancellation = null!;

    /// <summary>
    /// Builds one mesh client with three services (<c>plain</c>, <c>retry</c>, <c>timed</c>: timeout + retry), checks that
    /// each is routed with the intended pipeline, and builds the bare Polly pipelines from the same routes.
    /// </summary>
    [GlobalSetup]
    public async Task Setup()
    {
        var mock = new MockHandler();
        var services = new ServiceCollection();
        services.AddMesh(o =>
        {
            o.Services["plain"] = Service(1);
            o.Services["retry"] = Service(2, s => s.Retry = Retry());
            o.Services["timed"] = Service(3, s =>
            {
                s.Timeout = TimeSpan.FromSeconds(5);
                s.Retry = Retry();
            });
        });
        services.ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => mock));
        _services = services.BuildServiceProvider();
        _client = _services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Every request must go through the mesh to its service's endpoints, or the comparison measures nothing.
        mock.Capture = true;
        foreach (var (url, subnet) in new[] { (PlainUrl, 1), (RetryUrl, 2), (TimeoutRetryUrl, 3) })
        {
            using var response = await _client.GetAsync(url).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK || mock.LastRequestUri is not { Port: 8080 } reached || !reached.Host.StartsWith($"10.0.{subnet}.", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The mesh did not route {url}: it reached {mock.LastRequestUri}.");
            }
        }

        mock.Capture = false;

        // The routes as the mesh compiled them from the options, and their pipelines: none for plain, one for the others.
        var table = _services.GetRequiredService<MeshRuntime>().Current;
        var plain = table.Services["plain"].Routes.Single();
        var retry = table.Services["retry"].Routes.Single();
        var timeoutRetry = table.Services["timed"].Routes.Single();
        if (plain.Config.Retry is not null || plain.Config.Timeout is not null || HttpRoutePipeline.For(plain, TimeProvider.System, MeshRandom.Shared) is not null
            || !IsBenchmarkRetry(retry.Config.Retry) || retry.Config.Timeout is not null || HttpRoutePipeline.For(retry, TimeProvider.System, MeshRandom.Shared) is null
            || !IsBenchmarkRetry(timeoutRetry.Config.Retry) || timeoutRetry.Config.Timeout != TimeSpan.FromSeconds(5)
            || HttpRoutePipeline.For(timeoutRetry, TimeProvider.System, MeshRandom.Shared) is null)
        {
            throw new InvalidOperationException("The routes were not compiled with the intended policies.");
        }

        // Polly alone: pipelines built the way the mesh builds them, from the same route configurations.
        _pollyRetry = HttpRoutePipeline.Build(retry.Config, TimeProvider.System, MeshRandom.Shared)!;
        _pollyTimeoutRetry = HttpRoutePipeline.Build(timeoutRetry.Config, TimeProvider.System, MeshRandom.Shared)!;
        _pollyRequest = new HttpRequestMessage(HttpMethod.Get, RetryUrl);
        _pollyResponse = new HttpResponseMessage(HttpStatusCode.OK);

        // The mesh runs its pipeline with HttpClient's token, which can be cancelled: HttpClient links a new
        // source per request for its own timeout, and Polly's timeout strategy registers on it. (d) and (e) run
        // with one long-lived cancellable token; (f) with a new one per execution, made as HttpClient makes it,
        // and (g) measures making that token alone.
        _pollyCancellation = new CancellationTokenSource();
    }

    /// <summary>Disposes the client and the container.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        _client.Dispose();
        _pollyRequest.Dispose();
        _pollyResponse.Dispose();
        _pollyCancellation.Dispose();
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>(a) A mesh route without policies: no pipeline, the attempt is sent directly.</summary>
    [Benchmark(Baseline = true, Description = "(a) mesh, no policies")]
    public Task<int> MeshPlain() => Send(PlainUrl);

    /// <summary>(b) A mesh route with retries (2, on 5xx, reset, connect-failure): a Polly retry pipeline and a pooled context.</summary>
    [Benchmark(Description = "(b) mesh, retry")]
    public Task<int> MeshRetry() => Send(RetryUrl);

    /// <summary>(c) A mesh route with a 5 s timeout and the same retries.</summary>
    [Benchmark(Description = "(c) mesh, timeout 5 s + retry")]
    public Task<int> MeshTimeoutRetry() => Send(TimeoutRetryUrl);

    /// <summary>(d) The retry pipeline of (b) alone, executed as the mesh executes it, around a callback that returns a response.</summary>
    [Benchmark(Description = "(d) Polly alone, retry")]
    public ValueTask<int> PollyRetry() => Execute(_pollyRetry);

    /// <summary>(e) The timeout + retry pipeline of (c) alone, likewise.</summary>
    [Benchmark(Description = "(e) Polly alone, timeout 5 s + retry")]
    public ValueTask<int> PollyTimeoutRetry() => Execute(_pollyTimeoutRetry);

    /// <summary>(f) As (e), with a new cancellable token per execution, linked and timed as HttpClient makes its own.</summary>
    [Benchmark(Description = "(f) Polly alone, timeout 5 s + retry, new token")]
    public async ValueTask<int> PollyTimeoutRetryNewToken()
    {
        using var source = NewRequestToken();
        return await Execute(_pollyTimeoutRetry, source.Token).ConfigureAwait(false);
    }

    /// <summary>(g) The token of (f) alone: what (f) costs beyond Polly.</summary>
    [Benchmark(Description = "(g) the new token of (f) alone")]
    public bool NewTokenAlone()
    {
        using var source = NewRequestToken();
        return source.IsCancellationRequested;
    }

    private async Task<int> Send(string url)
    {
        using var response = await _client.GetAsync(url).ConfigureAwait(false);
        return (int)response.StatusCode;
    }

    /// <summary>What <c>MeshHttpHandler.SendToMeshAsync</c> does around its pipeline, with the attempt replaced by a cached response.</summary>
    private ValueTask<int> Execute(ResiliencePipeline<HttpResponseMessage> pipeline) => Execute(pipeline, _pollyCancellation.Token);

    private async ValueTask<int> Execute(ResiliencePipeline<HttpResponseMessage> pipeline, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(HttpRoutePipeline.RequestKey, _pollyRequest);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static (_, response) => ValueTask.FromResult(Outcome.FromResult(response)),
                context,
                _pollyResponse).ConfigureAwait(false);
            outcome.ThrowIfException();
            return (int)outcome.Result!.StatusCode;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>A token source as <c>HttpClient.SendAsync</c> makes one per request: linked to the client's own, timed to its 100 s timeout.</summary>
    private CancellationTokenSource NewRequestToken()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(_pollyCancellation.Token);
        source.CancelAfter(TimeSpan.FromSeconds(100));
        return source;
    }

    private static MeshServiceOptions Service(int subnet, Action<MeshServiceOptions>? configure = null)
    {
        var service = new MeshServiceOptions { LoadBalancing = { Policy = LoadBalancingPolicyNames.RoundRobin } };
        for (var i = 1; i <= 3; i++)
        {
            service.Endpoints.Add(new MeshEndpointOptions { Address = $"10.0.{subnet}.{i}:8080" });
        }

        configure?.Invoke(service);
        return service;
    }

    private static bool IsBenchmarkRetry(RetryPolicy? policy) =>
        policy is { NumRetries: 2, RetryOn: RetryOn.Http5xx | RetryOn.Reset | RetryOn.ConnectFailure, PerTryTimeout: null, RetryNonIdempotent: false };

    private static MeshRetryOptions Retry() => new() { RetryOn = "5xx,reset,connect-failure", NumRetries = 2 };
}
