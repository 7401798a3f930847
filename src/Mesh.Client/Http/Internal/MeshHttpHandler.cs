using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;

namespace Mesh.Client.Http.Internal;

/// <summary>
/// The HttpClient front door. A request whose host is a mesh service is routed, balanced and sent
/// straight to the picked endpoint, with the original authority kept in the <c>Host</c> header; every
/// other request passes through after one dictionary lookup.
/// </summary>
internal sealed partial class MeshHttpHandler : DelegatingHandler
{
    private readonly MeshRuntime _runtime;
    private readonly ILogger _logger;
    private readonly ulong _channelId;

    public MeshHttpHandler(MeshRuntime runtime, ILogger<MeshHttpHandler> logger)
    {
        _runtime = runtime;
        _logger = logger;
        _channelId = runtime.Random.NextUInt64();
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri;
        if (uri is null || !uri.IsAbsoluteUri || uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            // A gRPC call of a mesh channel arrives here already addressed to its subchannel: only tell the
            // call whether it is committed (for retries).
            return Grpc.Internal.MeshCallContext.Current is null ? base.SendAsync(request, cancellationToken) : SendObservedAsync(request, cancellationToken);
        }

        var table = _runtime.Current;
        if (table.Services.Count > 0 && TryGetService(table, uri, out var service))
        {
            return SendToMeshAsync(request, uri, service, cancellationToken);
        }

        if (_runtime.Discovery is { } discovery)
        {
            var authority = uri.IsDefaultPort ? uri.Host : uri.Authority;
            if (discovery.ShouldLookUpHttpHost(authority))
            {
                return LookUpAndSendAsync(request, uri, authority, discovery, cancellationToken);
            }
        }

        // A one-label host ("backend") is most likely meant as a mesh service: if DNS does not know it either, say
        // that the mesh has no such service. Hosts with a dot pass through untouched.
        return uri.Host.Contains('.', StringComparison.Ordinal) || uri.IsLoopback
            ? base.SendAsync(request, cancellationToken)
            : PassThroughAsync(request, uri, cancellationToken);
    }

    /// <summary>Sends a request to a mesh service; with a span and call metrics when anyone listens.</summary>
    private Task<HttpResponseMessage> SendToMeshAsync(HttpRequestMessage request, Uri original, ServiceRouteTable service, CancellationToken cancellationToken) =>
        SendToMeshAsync(request, original, service, HttpCallTelemetry.IsObserved(_runtime.Metrics), cancellationToken);

    private async Task<HttpResponseMessage> SendToMeshAsync(HttpRequestMessage request, Uri original, ServiceRouteTable service, bool observed, CancellationToken cancellationToken)
    {
        // Started inside this async method, so that the span is the current activity of this request only;
        // one frame for both cases, so that an unobserved request pays nothing for telemetry.
        var telemetry = observed ? HttpCallTelemetry.Start(_runtime.Metrics, request, service) : null;
        HttpResponseMessage? result = null;
        try
        {
            // One string serves both route matching (the path, without the query) and the rewritten address.
            var pathAndQuery = original.PathAndQuery;
            var route = MatchRoute(request, pathAndQuery, service, telemetry);

            // Faults are decided once per request, before any attempt (as Envoy's fault filter runs before the router).
            using var fault = FaultStep.Decide(_runtime.Faults, route.Config.Fault, new HttpRequestView(request));
            if (fault.HasFault && await ApplyFaultAsync(fault, request, service, cancellationToken).ConfigureAwait(false) is { } aborted)
            {
                return result = aborted;
            }

            var call = new MeshHttpCall(this, request, original, pathAndQuery, service, route, telemetry);
            var pipeline = HttpRoutePipeline.For(route, _runtime.Time, _runtime.Random);
            try
            {
                if (pipeline is null)
                {
                    return result = await call.SendAttemptAsync(request, lastEndpoint: null, cancellationToken).ConfigureAwait(false);
                }

                // Retried and hedged requests are sent more than once: their content must be readable again.
                await (request.Content?.LoadIntoBufferAsync(cancellationToken) ?? Task.CompletedTask).ConfigureAwait(false);
                var context = call.RentResilienceContext(cancellationToken);
                try
                {
                    var outcome = await pipeline.ExecuteOutcomeAsync(SendOneAttemptAsync, context, call).ConfigureAwait(false);
                    return result = ResultOf(outcome, service, route.Config);
                }
                finally
                {
                    ResilienceContextPool.Shared.Return(context);
                }
            }
            finally
            {
                call.Restore();
            }
        }
        catch (Exception ex) when (telemetry is not null && telemetry.Fail(ex))
        {
            throw; // never reached: Fail records the failure and declines the exception
        }
        finally
        {
            Finish(telemetry, result);
        }
    }

    /// <summary>Ends the call's telemetry (a failure was recorded when it was thrown).</summary>
    private static void Finish(HttpCallTelemetry? telemetry, HttpResponseMessage? result)
    {
        if (telemetry is not null)
        {
            if (result is not null)
            {
                telemetry.Complete(result, null);
            }

            telemetry.Dispose();
        }
    }

    /// <summary>The route of the request's path and headers; a request no route matches, or whose route cannot serve, fails.</summary>
    private CompiledRoute MatchRoute(HttpRequestMessage request, string pathAndQuery, ServiceRouteTable service, HttpCallTelemetry? telemetry)
    {
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? pathAndQuery.AsSpan() : pathAndQuery.AsSpan(0, query);
        if (service.Match(path, request) is { } route)
        {
            telemetry?.SetRoute(route.Config.Name);
            return route.Config.ErrorMessage is { } routeError
                ? throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute, MeshRequestMessages.RouteError(service.Name, routeError))
                : route;
        }

        var pathText = path.ToString();
        Log.NoRoute(_logger, service.Name, pathText);
        throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute, MeshRequestMessages.NoRoute(service.Name, $"{request.Method} {pathText}"));
    }

    /// <summary>Applies the request's faults: waits out the delay, and returns the response of an abort (the request is then not sent).</summary>
    private async ValueTask<HttpResponseMessage?> ApplyFaultAsync(FaultDecision fault, HttpRequestMessage request, ServiceRouteTable service, CancellationToken cancellationToken)
    {
        if (fault.Delay is { } delay)
        {
            Log.FaultDelay(_logger, service.Name, delay.TotalMilliseconds);
            await FaultStep.DelayAsync(fault, _runtime.Time, cancellationToken).ConfigureAwait(false);
        }

        var aborted = FaultStep.AbortResponse(fault, request);
        if (aborted is not null)
        {
            Log.FaultAbort(_logger, service.Name, (int)aborted.StatusCode);
        }

        return aborted;
    }

    /// <summary>One attempt, as the route's Polly pipeline runs it; a hedged copy gets its own request message.</summary>
    private static async ValueTask<Outcome<HttpResponseMessage>> SendOneAttemptAsync(ResilienceContext context, MeshHttpCall call)
    {
        try
        {
            var attempt = context.Properties.GetValue(HttpRoutePipeline.HedgeAttemptKey, 0);
            var message = attempt == 0 ? call.Request : await call.CloneRequestAsync().ConfigureAwait(false);
            var response = await call.SendAttemptAsync(message, call.LastEndpoint, context.CancellationToken).ConfigureAwait(false);
            return Outcome.FromResult(response);
        }
        catch (Exception ex)
        {
            return Outcome.FromException<HttpResponseMessage>(ex);
        }
    }

    /// <summary>The pipeline's outcome as HttpClient reports it: a route timeout is a cancelled task with a <see cref="TimeoutException"/> inside.</summary>
    private static HttpResponseMessage ResultOf(Outcome<HttpResponseMessage> outcome, ServiceRouteTable service, MeshRoute route)
    {
        if (outcome.Exception is TimeoutRejectedException timeout)
        {
            throw new TaskCanceledException(
                $"The request to mesh service '{service.Name}' timed out after {route.Timeout?.TotalSeconds ?? route.Retry?.PerTryTimeout?.TotalSeconds:0.###} s (route timeout).",
                new TimeoutException(timeout.Message, timeout));
        }

        outcome.ThrowIfException();
        return outcome.Result!;
    }

    private Task<HttpResponseMessage> SendInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken) => base.SendAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> SendObservedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        Grpc.Internal.MeshCallContext.ObserveResponse(response);
        return response;
    }
}
