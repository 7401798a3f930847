using System.Net;
using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Telemetry.Internal;
using Polly;

namespace Mesh.Client.Http.Internal;

internal sealed partial class MeshHttpHandler
{
    /// <summary>
    /// One request to a mesh service through its route: its attempts (the route decision of
    /// <see cref="RouteDecision"/>, the request rewritten for the picked endpoint, the send, the outcome recorded
    /// for outlier detection) and putting the request back afterwards.
    /// </summary>
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

        /// <summary>A pooled Polly context for the route's pipeline, carrying the request for the retry predicate.</summary>
        public ResilienceContext RentResilienceContext(CancellationToken cancellationToken)
        {
            if ((route.Config.Retry is not null || route.Config.Hedging is not null) && handler._runtime.StandardResilienceInUse)
            {
                Request.Options.Set(HttpRoutePipeline.RetriedByMesh, true);
            }

            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(HttpRoutePipeline.RequestKey, Request);
            return context;
        }

        private async Task<HttpResponseMessage> SendPickedAttemptAsync(HttpRequestMessage message, EndpointState? lastEndpoint, int attemptNumber, CancellationToken cancellationToken)
        {
            // The attempt's span starts here, in this attempt's own async flow (a hedged copy runs beside the first).
            var attempt = telemetry?.StartAttempt(attemptNumber);
            HttpResponseMessage? result = null;
            try
            {
                var decision = RouteDecision.Decide(route, new HttpRequestView(message), handler._runtime.Random, handler._channelId, lastEndpoint);
                if (decision.Endpoint is not { } endpoint)
                {
                    throw Refuse(decision);
                }

                var cluster = decision.Cluster!;
                HttpResponseMessage? response = null;
                Exception? failure = null;
                var started = false;
                try
                {
                    LastEndpoint = endpoint;
                    var tls = Prepare(message, cluster, endpoint);
                    Log.Picked(handler._logger, service.Name, cluster.Name, endpoint.Address);
                    attempt?.SetEndpoint(endpoint, cluster);
                    endpoint.OnStart();
                    started = true;
                    response = await Send(message, tls, attempt, cancellationToken).ConfigureAwait(false);
                    ReportPeer(tls, endpoint, attempt);
                    return result = response;
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }
                finally
                {
                    End(cluster, endpoint, started, response, failure);
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

        /// <summary>Ends an attempt: the endpoint's request count and its outcome for outlier detection (if it was sent), the cluster's breaker slot.</summary>
        private static void End(ClusterRuntime cluster, EndpointState endpoint, bool started, HttpResponseMessage? response, Exception? failure)
        {
            if (started)
            {
                endpoint.OnEnd();
                OutcomeRecorder.Record(endpoint, HttpOutcome.Describe(null, response, failure));
            }

            cluster.State.Release();
        }

        /// <summary>Tells the caller (and the attempt's span) which identity a TLS endpoint proved.</summary>
        private void ReportPeer(ClusterTlsConnector? tls, EndpointState endpoint, HttpAttemptTelemetry? attempt)
        {
            if (tls is not null && tls.Peers.TryGetValue(endpoint.Address, out var peer))
            {
                Request.Options.Set(MeshRequestOptions.PeerIdentity, peer);
                attempt?.SetPeerIdentity(peer);
            }
        }

        /// <summary>The failure a caller sees when the route decision found nowhere to send the request.</summary>
        private MeshRequestException Refuse(in RouteDecision decision)
        {
            var reason = MeshFailureReason.NoEndpoints;
            if (decision.Failure == RouteFailure.CircuitBreakerOpen)
            {
                reason = MeshFailureReason.CircuitBreakerOpen;
                Log.CircuitBreakerOpen(handler._logger, service.Name, decision.Cluster!.Name, decision.Cluster.Config.MaxRequests);
            }
            else if (decision.Failure == RouteFailure.NoEndpoint)
            {
                Log.NoEndpoints(handler._logger, service.Name, decision.Cluster!.Name);
            }

            return new MeshRequestException(service.Name, reason, decision.Message(service.Name, route.Config.ClusterHeader, MeshRequestMessages.Request));
        }

        /// <summary>Addresses <paramref name="message"/> to the picked endpoint: URI, <c>Host</c>, HTTP version, TLS target. Returns the cluster's TLS settings.</summary>
        private ClusterTlsConnector? Prepare(HttpRequestMessage message, ClusterRuntime cluster, EndpointState endpoint)
        {
            var tls = cluster.Tls;
            var prefix = tls is not null ? endpoint.TlsPrefix(tls) : original.Scheme == Uri.UriSchemeHttps ? endpoint.HttpsPrefix : endpoint.HttpPrefix;
            message.RequestUri = new Uri(prefix + pathAndQuery, UriKind.Absolute);
            if (!message.Headers.NonValidated.Contains("Host"))
            {
                // Unvalidated: the authority came from a Uri the runtime already parsed.
                message.Headers.TryAddWithoutValidation("Host", original.IsDefaultPort ? original.Host : original.Authority);
            }

            switch (cluster.Config.Protocol)
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

            return tls;
        }

        /// <summary>Starts the send with the trace context on the wire; TLS clusters go through the mesh's own transport (see <see cref="MeshTlsHttpTransport"/>).</summary>
        private Task<HttpResponseMessage> Send(HttpRequestMessage message, ClusterTlsConnector? tls, HttpAttemptTelemetry? attempt, CancellationToken cancellationToken)
        {
            // What carries the request: the attempt's span, or the call's (or what stands for it) for a first attempt.
            var wire = attempt?.Activity is { } attemptSpan ? new WireContext(attemptSpan, null) : telemetry?.Wire ?? default;
            var written = !wire.IsEmpty && !telemetry!.SpanIsCurrent;
            try
            {
                if (written)
                {
                    MeshTraceContext.Write(wire, message);
                }

                return tls is null ? handler.SendInnerAsync(message, cancellationToken) : handler._runtime.TlsTransport.SendAsync(message, cancellationToken);
            }
            finally
            {
                if (written)
                {
                    MeshTraceContext.Sent();
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
}
