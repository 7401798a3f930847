using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Mesh.Client.Model;
using Mesh.Client.Security.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

/// <summary>Opens the gRPC channel to an xDS server as its bootstrap entry describes it.</summary>
internal static class XdsTransport
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>
    /// Creates a channel for <paramref name="server"/>. Supported URIs: <c>host:port</c>,
    /// <c>dns:///host:port</c>, <c>[v6]:port</c>, and Unix sockets <c>unix:///abs/path</c>, <c>unix:path</c>
    /// (Istio's agent). Credentials: <c>insecure</c>, or <c>tls</c> with an optional CA file and client
    /// certificate (gRFC A65). Disposing the channel disposes what its TLS reads certificates with.
    /// </summary>
    public static GrpcChannel CreateChannel(XdsServerConfig server, ILoggerFactory loggerFactory, TimeProvider time)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            KeepAlivePingDelay = TimeSpan.FromMinutes(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            UseProxy = false,
        };

        Uri address;
        string host;
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? open = null;
        if (TryGetUnixSocketPath(server.ServerUri, out var socketPath))
        {
            var endPoint = new UnixDomainSocketEndPoint(socketPath);
            open = (_, cancellationToken) => ConnectAsync(endPoint, AddressFamily.Unix, ProtocolType.Unspecified, cancellationToken);
            address = new Uri("http://localhost");

            // gRPC's default authority for a Unix socket target, and so the name a TLS server certificate must carry.
            host = "localhost";
        }
        else
        {
            address = new Uri("http://" + HostPort(server.ServerUri));
            host = address.HostNameType == UriHostNameType.IPv6 ? address.Host.Trim('[', ']') : address.IdnHost;
        }

        HttpMessageHandler httpHandler = handler;
        if (server.ChannelCredentials.Type == "tls")
        {
            // The TLS handshake is made here rather than by the handler, so that every new connection takes the
            // provider's current client certificate (with its intermediates) and the server is verified with the
            // reason kept for the error. The handler then speaks HTTP/2 over a stream it believes is cleartext;
            // the scheme it writes is corrected on the wire. Nothing is ever sent before the handshake succeeds.
            var security = new ServerTls(server, host, loggerFactory.CreateLogger(typeof(XdsTransport).FullName!), time);
            var connect = open ?? ((context, cancellationToken) => ConnectAsync(context.DnsEndPoint, AddressFamily.Unspecified, ProtocolType.Tcp, cancellationToken));
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var (identity, roots) = security.GetCertificates();
                var stream = await connect(context, cancellationToken).ConfigureAwait(false);
                return await security.AuthenticateAsync(stream, identity, roots, cancellationToken).ConfigureAwait(false);
            };
            httpHandler = new OwningHandler(handler, security);
        }
        else if (open is not null)
        {
            handler.ConnectCallback = open;
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = httpHandler,
            LoggerFactory = loggerFactory,
            MaxReceiveMessageSize = null,
            DisposeHttpClient = true,
        });
    }

    internal static bool TryGetUnixSocketPath(string serverUri, out string path)
    {
        if (serverUri.StartsWith("unix://", StringComparison.Ordinal))
        {
            // unix:///abs/path: an empty authority, then an absolute path.
            path = serverUri["unix://".Length..];
            return true;
        }

        if (serverUri.StartsWith("unix:", StringComparison.Ordinal))
        {
            path = serverUri["unix:".Length..];
            return true;
        }

        path = string.Empty;
        return false;
    }

    internal static string HostPort(string serverUri)
    {
        var text = serverUri;
        if (text.StartsWith("dns:", StringComparison.Ordinal))
        {
            // dns:///host:port, or dns://resolver/host:port: the resolver authority is not used.
            text = text["dns:".Length..];
            if (text.StartsWith("//", StringComparison.Ordinal))
            {
                var slash = text.IndexOf('/', 2);
                text = slash < 0 ? text[2..] : text[(slash + 1)..];
            }
        }

        return text.Contains(':', StringComparison.Ordinal) && !text.EndsWith(']') ? text : text + ":443";
    }

    /// <summary>
    /// Whether <paramref name="host"/> (the server URI's host) is one of <paramref name="names"/>: an IP address
    /// against the IP SANs, a name against the DNS SANs, where <c>*.example.com</c> stands for exactly one label
    /// (RFC 6125). The subject's common name is not consulted.
    /// </summary>
    internal static bool HostMatches(string host, List<SubjectAltName> names)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            foreach (var name in names)
            {
                if (name.Type == SubjectAltNameType.IpAddress && IPAddress.TryParse(name.Value, out var san) && san.Equals(ip))
                {
                    return true;
                }
            }

            return false;
        }

        var wanted = host.TrimEnd('.');
        foreach (var name in names)
        {
            if (name.Type != SubjectAltNameType.Dns)
            {
                continue;
            }

            if (string.Equals(name.Value.TrimEnd('.'), wanted, StringComparison.OrdinalIgnoreCase) || CertificateNames.WildcardCovers(name.Value, wanted))
            {
                return true;
            }
        }

        return false;
    }

    private static async ValueTask<Stream> ConnectAsync(EndPoint endPoint, AddressFamily family, ProtocolType protocol, CancellationToken cancellationToken)
    {
        var socket = family == AddressFamily.Unspecified
            ? new Socket(SocketType.Stream, protocol) { NoDelay = true }
            : new Socket(family, SocketType.Stream, protocol);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The <c>tls</c> channel credentials of one xDS server (gRFC A65): the client certificate and the CA
    /// certificates come from a <c>file_watcher</c> provider over the bootstrap's files, read again every
    /// refresh interval, and are taken afresh for every connection. The server must chain to the CA file
    /// (the system's roots when there is none) and carry the server URI's host among its SANs.
    /// </summary>
    private sealed class ServerTls : IDisposable
    {
        private readonly FileWatcherCertificateProvider? _provider;
        private readonly XdsChannelCredentials _credentials;
        private readonly string _server;
        private readonly string _host;
        private readonly TimeProvider _time;

        public ServerTls(XdsServerConfig server, string host, ILogger logger, TimeProvider time)
        {
            _credentials = server.ChannelCredentials;
            _server = server.ServerUri;
            _host = host;
            _time = time;
            if (_credentials.CertificateFile is not null || _credentials.CaCertificateFile is not null)
            {
                _provider = new FileWatcherCertificateProvider(
                    $"channel_creds of xDS server {server.ServerUri}",
                    new FileWatcherSettings(_credentials.CertificateFile, _credentials.PrivateKeyFile, _credentials.CaCertificateFile, _credentials.RefreshInterval ?? FileWatcherSettings.DefaultRefreshInterval),
                    time,
                    logger);
            }
        }

        /// <summary>
        /// The client identity and the CA certificates for a new connection; throws, naming the file and the
        /// reason, when the bootstrap asks for one that cannot be had, before any socket is opened.
        /// </summary>
        public (SslStreamIdentity? Identity, X509Certificate2Collection? Roots) GetCertificates()
        {
            SslStreamIdentity? identity = null;
            X509Certificate2Collection? roots = null;
            string? error;
            if (_provider is { HasIdentity: true } && (identity = _provider.GetIdentity(out error)) is null)
            {
                throw new AuthenticationException($"the client certificate for TLS to the xDS server is unavailable: {error}; nothing was sent");
            }

            if (_provider is { HasRoots: true } && (roots = _provider.GetRoots(out error)) is null)
            {
                throw new AuthenticationException($"the CA certificates that verify the xDS server are unavailable: {error}; nothing was sent");
            }

            return (identity, roots);
        }

        /// <summary>Makes the client handshake over <paramref name="inner"/>; on failure disposes it and throws, saying why.</summary>
        public async ValueTask<Stream> AuthenticateAsync(Stream inner, SslStreamIdentity? identity, X509Certificate2Collection? roots, CancellationToken cancellationToken)
        {
            string? rejection = null;
            var options = new SslClientAuthenticationOptions
            {
                // The name sent as SNI (none for an IP address); the verification below checks the same name.
                TargetHost = _host,
                ClientCertificateContext = identity?.Context,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    rejection = Verify(certificate as X509Certificate2, chain, roots);
                    return rejection is null;
                },
            };

            var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);

                // The messages of the exceptions within end up in the stream's status: a known reason stands alone.
                throw rejection is not null
                    ? new AuthenticationException($"the xDS server's certificate was rejected: {rejection}; nothing was sent")
                    : new AuthenticationException(
                        $"the TLS handshake with the xDS server failed{(identity is null ? " (no client certificate was offered)" : $" (client certificate '{identity.Leaf.Subject}' was offered)")}", ex);
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return new Http2SchemeStream(ssl, http2: true);
        }

        /// <summary>Checks the server's chain and name; returns why it is rejected, or null.</summary>
        private string? Verify(X509Certificate2? certificate, X509Chain? presented, X509Certificate2Collection? roots)
        {
            if (certificate is null)
            {
                return "the server sent no certificate";
            }

            using var chain = PeerChain.Build(certificate, presented, roots, _time.GetUtcNow().UtcDateTime, ServerAuthOid, out var trusted, out var problems);
            var trust = roots is not null ? $"the CA certificates in '{_credentials.CaCertificateFile}'" : "the system's trusted roots (no ca_certificate_file)";
            if (!trusted)
            {
                if ((problems & X509ChainStatusFlags.NotTimeValid) != 0)
                {
                    return PeerChain.TimeProblem(chain);
                }

                if ((problems & X509ChainStatusFlags.NotValidForUsage) != 0)
                {
                    return $"the certificate '{certificate.Subject}' is not valid for server authentication";
                }

                var detail = PeerChain.Details(chain);
                return $"it is untrusted: '{certificate.Subject}' (issuer '{certificate.Issuer}') does not chain to {trust}{(detail.Length > 0 ? " (" + detail + ")" : string.Empty)}";
            }

            var names = CertificateNames.Read(certificate);
            if (!HostMatches(_host, names))
            {
                return $"it is not for '{_host}' (the host of {_server}): its subject alternative names are [{string.Join(", ", names)}]";
            }

            return null;
        }

        public void Dispose() => _provider?.Dispose();
    }

    /// <summary>Passes requests to the handler, and disposes the channel's TLS with it: the channel disposes its handler.</summary>
    private sealed class OwningHandler(HttpMessageHandler inner, IDisposable owned) : DelegatingHandler(inner)
    {
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                owned.Dispose();
            }
        }
    }
}
