using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// What the mesh's gRPC interceptor, picker and transport handler share about one call attempt. The
/// interceptor sets it before it starts the attempt; it flows with the attempt's execution context into
/// the channel's picker and HTTP handler, which fill in what only they see.
/// </summary>
internal sealed class MeshCallAttempt
{
    /// <summary>The service the interceptor matched the route in.</summary>
    public ServiceRouteTable? Service { get; init; }

    /// <summary>The route the interceptor matched, so that the picker does not match again; -1 for none.</summary>
    public int RouteIndex { get; init; } = -1;

    /// <summary>The endpoint the picker chose.</summary>
    public EndpointState? Endpoint { get; set; }

    /// <summary>The TLS settings of the picked endpoint's cluster, if it has any.</summary>
    public Security.Internal.ClusterTlsConnector? Tls { get; set; }

    /// <summary>The identity the picked endpoint proved over TLS, when its cluster uses TLS and a connection was made.</summary>
    public string? PeerIdentity => Tls is { } tls && Endpoint is { } endpoint && tls.Peers.TryGetValue(endpoint.Address, out var peer) ? peer : null;

    /// <summary>The picker refused the call (circuit breaker): the failure is never retried.</summary>
    public bool Dropped { get; set; }

    /// <summary>Response headers arrived that were not a trailers-only response: gRPC's commit point, after which no retry happens.</summary>
    public bool Committed { get; set; }

    /// <summary>
    /// The trace context the attempt's request carries, when the mesh writes it itself (the mesh span is not the
    /// current activity then: see <see cref="Telemetry.Internal.MeshTraceContext"/>).
    /// </summary>
    public Telemetry.Internal.WireContext Wire { get; set; }

    /// <summary>The interceptor that started the attempt, told when the channel's requests pass the mesh's innermost handler.</summary>
    public MeshGrpcInterceptor? Interceptor { get; init; }
}

/// <summary>The ambient <see cref="MeshCallAttempt"/> of the current call attempt.</summary>
internal static class MeshCallContext
{
    private static readonly AsyncLocal<MeshCallAttempt?> Ambient = new();

    public static MeshCallAttempt? Current
    {
        get => Ambient.Value;
        set => Ambient.Value = value;
    }

    /// <summary>Records, from an HTTP response of a gRPC call, whether the call is committed.</summary>
    public static void ObserveResponse(HttpResponseMessage response)
    {
        if (Current is { } attempt && !response.Headers.NonValidated.Contains("grpc-status"))
        {
            attempt.Committed = true;
        }
    }
}

/// <summary>
/// The HTTP handler the mesh puts in front of a channel's transport: it tells the call whether response
/// headers (not a trailers-only response) arrived, which ends the chance of a retry.
/// </summary>
internal sealed class MeshGrpcTransportHandler : DelegatingHandler
{
    public MeshGrpcTransportHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        MeshCallContext.Current is null ? base.SendAsync(request, cancellationToken) : SendObservedAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> SendObservedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        MeshCallContext.ObserveResponse(response);
        return response;
    }
}
