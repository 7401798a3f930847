using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Polly;
using Polly.Hedging;
using Polly.Retry;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// The resilience pipeline of one route for HttpClient requests, on Polly (the engine of
/// Microsoft.Extensions.Http.Resilience): total timeout → retries or hedging → per-try timeout → one
/// attempt. Built once per compiled route (kept in its <see cref="CompiledRoute.DoorSlot"/>); <see langword="null"/>
/// when the route asks for none of it. Polly is the engine; which outcomes retry (<see cref="RetryClassifier"/>) and
/// how long to wait (<see cref="RetryBackoff"/>) are the rules the gRPC door uses too.
/// </summary>
internal static class HttpRoutePipeline
{
    /// <summary>
    /// Set on a request whose route has mesh retries or hedging: a standard resilience handler further down
    /// the pipeline then does not retry it again (see <c>AddMesh</c>), so that retries do not multiply.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> RetriedByMesh = new("Mesh.RetriedByMesh");

    /// <summary>The caller's request, for predicates.</summary>
    public static readonly ResiliencePropertyKey<HttpRequestMessage?> RequestKey = new("Mesh.Request");

    /// <summary>The hedged attempt's number (0 for the first request), so that copies get their own request message.</summary>
    public static readonly ResiliencePropertyKey<int> HedgeAttemptKey = new("Mesh.HedgeAttempt");

    private static readonly object NoPipeline = new();

    /// <summary>The route's pipeline, built on first use and kept with the route; <see langword="null"/> when it has none.</summary>
    public static ResiliencePipeline<HttpResponseMessage>? For(CompiledRoute route, TimeProvider time, MeshRandom random)
    {
        ref var slot = ref route.DoorSlot;
        var pipeline = Volatile.Read(ref slot);
        if (pipeline is null)
        {
            pipeline = (object?)Build(route.Config, time, random) ?? NoPipeline;
            pipeline = Interlocked.CompareExchange(ref slot, pipeline, null) ?? pipeline;
        }

        return pipeline as ResiliencePipeline<HttpResponseMessage>;
    }

    public static ResiliencePipeline<HttpResponseMessage>? Build(MeshRoute route, TimeProvider time, MeshRandom random)
    {
        var retry = route.Retry is { NumRetries: > 0 } r ? r : null;
        if (route.Timeout is not { Ticks: > 0 } && retry is null && route.Hedging is null && route.Retry?.PerTryTimeout is null)
        {
            return null;
        }

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (route.Timeout is { Ticks: > 0 } total)
        {
            builder.AddTimeout(total);
        }

        if (route.Hedging is { } hedging)
        {
            builder.AddHedging(new HedgingStrategyOptions<HttpResponseMessage>
            {
                MaxHedgedAttempts = Math.Max(1, hedging.MaxHedgedAttempts),
                Delay = hedging.Delay,

                // A copy is sent when the attempt failed as outlier detection counts failures.
                ShouldHandle = static args => ValueTask.FromResult(
                    HttpOutcome.Describe(null, args.Outcome.Result, args.Outcome.Exception).IsEndpointFailure),
                ActionGenerator = static args =>
                {
                    args.ActionContext.Properties.Set(HedgeAttemptKey, args.AttemptNumber);
                    return () => args.Callback(args.ActionContext);
                },
            });
        }
        else if (retry is not null)
        {
            // One delegate per route (built once), none per request.
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retry.NumRetries,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RetryBackoff.Delay(retry, args.AttemptNumber + 1, random)),
                ShouldHandle = args => ValueTask.FromResult(
                    args.Context.Properties.GetValue(RequestKey, null) is { } request &&
                    RetryClassifier.IsRetryable(retry, HttpOutcome.Describe(request, args.Outcome.Result, args.Outcome.Exception))),
            });
        }

        if (route.Retry?.PerTryTimeout is { Ticks: > 0 } perTry)
        {
            builder.AddTimeout(perTry);
        }

        return builder.Build();
    }
}
