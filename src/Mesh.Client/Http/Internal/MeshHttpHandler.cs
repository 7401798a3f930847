using System.Net;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Polly;
using Polly.Timeout;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;

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
            var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
            var path = query < 0 ? pathAndQuery.AsSpan() : pathAndQuery.AsSpan(0, query);
            var route = service.Match(path, request);
            if (route is null)
            {
                var pathText = path.ToString();
                Log.NoRoute(_logger, service.Name, pathText);
                throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute,
                    $"No route of mesh service '{service.Name}' matches {request.Method} {pathText}.");
            }

            telemetry?.SetRoute(route.Config.Name);
            if (route.Config.ErrorMessage is { } routeError)
            {
                throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute, $"Mesh service '{service.Name}': {routeError}");
            }

            // Faults are decided once per request, before any attempt (as Envoy's fault filter runs before the router).
            using var fault = route.Config.Fault is { } faultPolicy ? _runtime.Faults.Decide(faultPolicy, new HttpRequestView(request)) : default;
            if (fault.HasFault)
            {
                if (fault.Delay is { } delay)
                {
                    Log.FaultDelay(_logger, service.Name, delay.TotalMilliseconds);
                    await Task.Delay(delay, _runtime.Time, cancellationToken).ConfigureAwait(false);
                }

                if (fault.AbortHttpStatus is { } status)
                {
                    Log.FaultAbort(_logger, service.Name, status);
                    return result = new HttpResponseMessage((HttpStatusCode)status)
                    {
                        RequestMessage = request,
                        ReasonPhrase = "Fault Injected",
                        Content = new StringContent("fault filter abort"),
                    };
                }
            }

            var call = new MeshHttpCall(this, request, original, pathAndQuery, service, route, telemetry);
            var pipeline = route.GetHttpPipeline(_runtime.Time);
            if (pipeline is null)
            {
                try
                {
                    return result = await call.SendAttemptAsync(request, lastEndpoint: null, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    call.Restore();
                }
            }

            // Retried and hedged requests are sent more than once: their content must be readable again.
            if (request.Content is { } content)
            {
                await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            }

            if ((route.Config.Retry is not null || route.Config.Hedging is not null) && _runtime.StandardResilienceInUse)
            {
                request.Options.Set(HttpRoutePipeline.RetriedByMesh, true);
            }

            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(HttpRoutePipeline.RequestKey, request);
            try
            {
                var outcome = await pipeline.ExecuteOutcomeAsync(
                    static async (ctx, state) =>
                    {
                        try
                        {
                            var attempt = ctx.Properties.GetValue(HttpRoutePipeline.HedgeAttemptKey, 0);
                            var message = attempt == 0 ? state.Request : await state.CloneRequestAsync().ConfigureAwait(false);
                            var response = await state.SendAttemptAsync(message, state.LastEndpoint, ctx.CancellationToken).ConfigureAwait(false);
                            return Outcome.FromResult(response);
                        }
                        catch (Exception ex)
                        {
                            return Outcome.FromException<HttpResponseMessage>(ex);
                        }
                    },
                    context,
                    call).ConfigureAwait(false);

                if (outcome.Exception is TimeoutRejectedException timeout)
                {
                    // HttpClient reports timeouts as a cancelled task with a TimeoutException inside; so does the mesh.
                    throw new TaskCanceledException(
                        $"The request to mesh service '{service.Name}' timed out after {route.Config.Timeout?.TotalSeconds ?? route.Config.Retry?.PerTryTimeout?.TotalSeconds:0.###} s (route timeout).",
                        new TimeoutException(timeout.Message, timeout));
                }

                outcome.ThrowIfException();
                return result = outcome.Result!;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
                call.Restore();
            }
        }
        catch (Exception ex) when (telemetry is not null && telemetry.Fail(ex))
        {
            throw; // never reached: Fail records the failure and declines the exception
        }
        finally
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
    }

    /// <summary>One request to a mesh service through its route: the attempts of it, and putting the request back afterwards.</summary>
    private sealed class MeshHttpCall(MeshHttpHandler handler, HttpRequestMessage request, Uri original, string pathAndQuery, ServiceRouteTable service, CompiledRoute route, HttpCallTelemetry? telemetry)
    {
        private int _attempts;

        public HttpRequestMessage Request { get; } = request;

        /// <summary>The endpoint of the latest attempt, which a retry avoids when it can.</summary>
        public EndpointState? LastEndpoint { get; private set; }

        /// <summary>Sends one attempt: choose the cluster, respect its circuit breaker, pick an endpoint (another than <paramref name="lastEndpoint"/> when there is a choice), send.</summary>
        public Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage message, EndpointState? lastEndpoint, CancellationToken cancellationToken)
        {
            var attemptNumber = Interlocked.Increment(ref _attempts);
            if (attemptNumber > 1 && handler._runtime.Metrics.Retries.Enabled)
            {
                handler._runtime.Metrics.Retries.Add(1, new("mesh.service", service.Name), new("mesh.front_door", "http"));
            }

            return SendPickedAttemptAsync(message, lastEndpoint, attemptNumber, cancellationToken);
        }

        private async Task<HttpResponseMessage> SendPickedAttemptAsync(HttpRequestMessage message, EndpointState? lastEndpoint, int attemptNumber, CancellationToken cancellationToken)
        {
            // The attempt's span starts here, in this attempt's own async flow (a hedged copy runs beside the first).
            var attempt = telemetry?.StartAttempt(attemptNumber);
            HttpResponseMessage? result = null;
            try
            {
                var view = new HttpRequestView(message);
                ClusterRuntime cluster;
                if (route.Config.ClusterHeader is { } header)
                {
                    cluster = route.ClusterFromHeader(view, out var named)
                        ?? throw new MeshRequestException(service.Name, MeshFailureReason.NoEndpoints, named is null
                            ? $"Mesh service '{service.Name}': the route takes its cluster from header '{header}', which the request does not have."
                            : $"Mesh service '{service.Name}': header '{header}' names cluster '{named}', which is not configured.");
                }
                else
                {
                    cluster = route.Clusters[route.ChooseCluster(handler._runtime.Random)];
                }

                var config = cluster.Config;
                if (!cluster.State.TryAcquire(config.MaxRequests))
                {
                    Log.CircuitBreakerOpen(handler._logger, service.Name, cluster.Name, config.MaxRequests);
                    throw new MeshRequestException(service.Name, MeshFailureReason.CircuitBreakerOpen,
                        $"Mesh service '{service.Name}': cluster '{cluster.Name}' already has {config.MaxRequests} requests in flight (max_requests); the request was not sent.");
                }

                try
                {
                    var hash = route.ComputeHash(view, handler._channelId);
                    var endpoint = cluster.Pick(hash);

                    // A retry prefers an endpoint the previous attempt did not use (as Envoy's previous-hosts predicate).
                    for (var i = 0; i < 3 && endpoint is not null && ReferenceEquals(endpoint, lastEndpoint) && cluster.Picker.Count > 1; i++)
                    {
                        endpoint = cluster.Pick(hash.HasHash ? new PickRequest(hash.Hash + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL, true) : hash);
                    }

                    if (endpoint is null)
                    {
                        Log.NoEndpoints(handler._logger, service.Name, cluster.Name);
                        throw new MeshRequestException(service.Name, MeshFailureReason.NoEndpoints,
                            $"Mesh service '{service.Name}': " + (config.ErrorMessage ?? $"cluster '{cluster.Name}' has no healthy endpoint."));
                    }

                    LastEndpoint = endpoint;
                    var tls = cluster.Tls;
                    var prefix = tls is not null ? endpoint.TlsPrefix(tls) : original.Scheme == Uri.UriSchemeHttps ? endpoint.HttpsPrefix : endpoint.HttpPrefix;
                    message.RequestUri = new Uri(prefix + pathAndQuery, UriKind.Absolute);
                    if (!message.Headers.NonValidated.Contains("Host"))
                    {
                        // Unvalidated: the authority came from a Uri the runtime already parsed.
                        message.Headers.TryAddWithoutValidation("Host", original.IsDefaultPort ? original.Host : original.Authority);
                    }

                    switch (config.Protocol)
                    {
                        case UpstreamProtocol.Http2:
                            message.Version = HttpVersion.Version20;
                            message.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                            break;
                        case UpstreamProtocol.Http1:
                            message.Version = HttpVersion.Version11;
                            message.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                            break;
                    }

                    if (tls is not null)
                    {
                        // The mesh makes the TLS connection itself (the handler below sees a cleartext one), so the
                        // version is settled here: HTTP/2 when the request insists on it, else HTTP/1.1.
                        if (message.Version.Major >= 2 && message.VersionPolicy == HttpVersionPolicy.RequestVersionExact)
                        {
                            message.Version = HttpVersion.Version20;
                        }
                        else
                        {
                            message.Version = HttpVersion.Version11;
                            message.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                        }

                        message.Options.Set(MeshTlsHttpTransport.TargetKey, new MeshTlsTarget(tls, endpoint.Endpoint.Host, endpoint.Endpoint.Port));
                    }

                    Log.Picked(handler._logger, service.Name, cluster.Name, endpoint.Address);
                    attempt?.SetEndpoint(endpoint, cluster);
                    endpoint.OnStart();
                    HttpResponseMessage? response = null;
                    Exception? failure = null;
                    try
                    {
                        // What carries the request: the attempt's span, or the call's (or what stands for it) for a first attempt.
                        var wire = attempt?.Activity is { } attemptSpan ? new WireContext(attemptSpan, null) : telemetry?.Wire ?? default;
                        var written = !wire.IsEmpty && !telemetry!.SpanIsCurrent;
                        Task<HttpResponseMessage> sending;
                        try
                        {
                            if (written)
                            {
                                MeshTraceContext.Write(wire, message);
                            }

                            // TLS clusters: the mesh's own transport makes and pools the connections (see MeshTlsHttpTransport).
                            sending = tls is null ? handler.SendInnerAsync(message, cancellationToken) : handler._runtime.TlsTransport.SendAsync(message, cancellationToken);
                        }
                        finally
                        {
                            if (written)
                            {
                                MeshTraceContext.Sent();
                            }
                        }

                        response = await sending.ConfigureAwait(false);
                        if (tls is null)
                        {
                            return result = response;
                        }

                        if (tls.Peers.TryGetValue(endpoint.Address, out var peer))
                        {
                            Request.Options.Set(MeshRequestOptions.PeerIdentity, peer);
                            attempt?.SetPeerIdentity(peer);
                        }

                        return result = response;
                    }
                    catch (Exception ex)
                    {
                        failure = ex;
                        throw;
                    }
                    finally
                    {
                        endpoint.OnEnd();
                        if (HttpRetryClassifier.IsEndpointFailure(response, failure))
                        {
                            endpoint.RecordFailure();
                        }
                        else if (failure is null)
                        {
                            endpoint.RecordSuccess();
                        }
                    }
                }
                finally
                {
                    cluster.State.Release();
                }
            }
            catch (Exception ex) when (attempt is not null && attempt.Fail(ex))
            {
                throw; // never reached: Fail records the failure and declines the exception
            }
            finally
            {
                if (attempt is not null)
                {
                    if (result is not null)
                    {
                        attempt.Complete(result, null);
                    }

                    attempt.Dispose();
                }
            }
        }

        /// <summary>A copy of the request for a hedged attempt, which runs beside the first one.</summary>
        public async Task<HttpRequestMessage> CloneRequestAsync()
        {
            var copy = new HttpRequestMessage(Request.Method, original) { Version = Request.Version, VersionPolicy = Request.VersionPolicy };
            foreach (var header in Request.Headers.NonValidated)
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            if (Request.Content is { } content)
            {
                var bytes = await content.ReadAsByteArrayAsync().ConfigureAwait(false);
                copy.Content = new ByteArrayContent(bytes);
                foreach (var header in content.Headers.NonValidated)
                {
                    copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            foreach (var option in Request.Options)
            {
                ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
            }

            return copy;
        }

        /// <summary>Gives the caller back the address it used, so that a retry above this handler routes afresh.</summary>
        public void Restore() => Request.RequestUri = original;
    }

    private Task<HttpResponseMessage> SendInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken) => base.SendAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> SendObservedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        Grpc.Internal.MeshCallContext.ObserveResponse(response);
        return response;
    }
}
