using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Mesh.Client.Security.Internal;

/// <summary>Where a request to a TLS cluster really goes, and with which TLS settings.</summary>
/// <param name="Connector">The cluster's TLS settings.</param>
/// <param name="Host">The endpoint's host.</param>
/// <param name="Port">The endpoint's port.</param>
internal sealed record MeshTlsTarget(ClusterTlsConnector Connector, string Host, int Port);

/// <summary>
/// Carries HttpClient requests to TLS clusters. The mesh handler addresses such a request to a name of its
/// own (<c>e7.t2.mesh-tls.invalid</c>: one per endpoint and TLS settings, so connections of different
/// settings never mix) and attaches the real endpoint; this handler's connect callback opens the socket
/// to the endpoint and makes the TLS handshake with the cluster's certificates. Connections are pooled
/// and reused like any HttpClient's, shared by every client of one service provider (its runtime owns this transport). A request addressed so that
/// reaches any other handler fails name resolution (<c>.invalid</c>): it can never leave in plaintext.
/// </summary>
internal sealed class MeshTlsHttpTransport : IDisposable
{
    /// <summary>The request option with the real endpoint of a request to a TLS cluster.</summary>
    public static readonly HttpRequestOptionsKey<MeshTlsTarget> TargetKey = new("Mesh.TlsTarget");

    /// <summary>The domain of the names requests to TLS clusters are addressed to.</summary>
    public const string Domain = "mesh-tls.invalid";

    private readonly SocketsHttpHandler _handler;
    private readonly HttpMessageInvoker _invoker;
    private long _handshakes;

    public MeshTlsHttpTransport()
    {
        _handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),

            // Connections are replaced now and then, so that each side's certificates are checked again
            // and rotated ones come into use even on a connection that never goes idle.
            PooledConnectionLifetime = TimeSpan.FromMinutes(15),
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        _invoker = new HttpMessageInvoker(new Telemetry.Internal.MeshTraceContextHandler(_handler), disposeHandler: true);
    }

    /// <summary>TLS handshakes completed since start (to show that connections are reused).</summary>
    public long Handshakes => Interlocked.Read(ref _handshakes);

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!context.InitialRequestMessage.Options.TryGetValue(TargetKey, out var target))
        {
            throw new InvalidOperationException($"{context.DnsEndPoint.Host}: a request to a mesh TLS name without its target.");
        }

        // Missing, unreadable or expired certificates fail the request before any connection is made.
        target.Connector.EnsureCertificates();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(target.Host, target.Port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // The request's version decides the protocol over a connection the handler sees as cleartext:
        // HTTP/2 with prior knowledge, or HTTP/1.1. ALPN tells the server the same.
        var request = context.InitialRequestMessage;
        var protocol = request.Version.Major >= 2 && request.VersionPolicy == HttpVersionPolicy.RequestVersionExact
            ? SslApplicationProtocol.Http2
            : SslApplicationProtocol.Http11;
        var ssl = await target.Connector.AuthenticateAsync(new NetworkStream(socket, ownsSocket: true), target.Host, target.Port, protocol, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _handshakes);
        return protocol == SslApplicationProtocol.Http2 ? new Http2SchemeStream(ssl, http2: true) : ssl;
    }

    public void Dispose() => _invoker.Dispose();
}
