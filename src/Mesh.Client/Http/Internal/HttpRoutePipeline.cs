using System.Net.Http;
using Mesh.Client.Http;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Polly;
using Polly.Hedging;
using Polly.Retry;

namespace Mesh.Client.Http.Internal;

/// <summary>
/// The resilience pipeline of one route for HttpClient requests, on Polly (the engine of
/// Microsoft.Extensions.Http.Resilience): total timeout → retries or hedging → per-try timeout → one
/// attempt. Built once per compiled route; <see langword="null"/> when the route asks for none of it.
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

    public static ResiliencePipeline<HttpResponseMessage>? Build(MeshRoute route, TimeProvider time)
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
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is not null and not MeshRequestException and not OperationCanceledException ||
                    args.Outcome.Result is { StatusCode: >= System.Net.HttpStatusCode.InternalServerError }),
                ActionGenerator = static args =>
                {
                    args.ActionContext.Properties.Set(HedgeAttemptKey, args.AttemptNumber);
                    return () => args.Callback(args.ActionContext);
                },
            });
        }
        else if (retry is not null)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retry.NumRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseInterval,
                MaxDelay = retry.EffectiveMaxInterval,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Context.Properties.GetValue(RequestKey, null) is { } request &&
                    HttpRetryClassifier.IsRetryable(retry, request, args.Outcome.Result, args.Outcome.Exception)),
            });
        }

        if (route.Retry?.PerTryTimeout is { Ticks: > 0 } perTry)
        {
            builder.AddTimeout(perTry);
        }

        return builder.Build();
    }
}
