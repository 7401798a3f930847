using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Mesh.Client.Xds.Internal;

/// <summary>Opens the gRPC channel to an xDS server as its bootstrap entry describes it.</summary>
internal static class XdsTransport
{
    /// <summary>
    /// Creates a channel for <paramref name="server"/>. Supported URIs: <c>host:port</c>,
    /// <c>dns:///host:port</c>, <c>[v6]:port</c>, and Unix sockets <c>unix:///abs/path</c>, <c>unix:path</c>
    /// (Istio's agent). Credentials: <c>insecure</c>, or <c>tls</c> with an optional CA file and client
    /// certificate (gRFC A65).
    /// </summary>
    public static GrpcChannel CreateChannel(XdsServerConfig server, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory, TimeProvider time)
    {
        var tls = server.ChannelCredentials.Type == "tls";
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            KeepAlivePingDelay = TimeSpan.FromMinutes(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(20),
        };

        Uri address;
        if (TryGetUnixSocketPath(server.ServerUri, out var socketPath))
        {
            var endPoint = new UnixDomainSocketEndPoint(socketPath);
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
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
            };
            address = new Uri(tls ? "https://localhost" : "http://localhost");
        }
        else
        {
            address = new Uri((tls ? "https://" : "http://") + HostPort(server.ServerUri));
        }

        if (tls)
        {
            ConfigureTls(handler, server.ChannelCredentials, time);
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
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

    private static void ConfigureTls(SocketsHttpHandler handler, XdsChannelCredentials credentials, TimeProvider time)
    {
        var ssl = new SslClientAuthenticationOptions();
        if (credentials.CertificateFile is { } certificateFile && credentials.PrivateKeyFile is { } keyFile)
        {
            var refresh = credentials.RefreshInterval ?? TimeSpan.FromMinutes(10);
            var source = new ReloadingCertificate(certificateFile, keyFile, refresh, time);
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, _) => source.Current;
        }

        if (credentials.CaCertificateFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }

        handler.SslOptions = ssl;
    }

    /// <summary>A client certificate read from PEM files, read again when the refresh interval has passed.</summary>
    private sealed class ReloadingCertificate(string certificateFile, string keyFile, TimeSpan refresh, TimeProvider time)
    {
        private readonly Lock _lock = new();
        private X509Certificate2? _current;
        private DateTimeOffset _loadedAt;

        public X509Certificate2 Current
        {
            get
            {
                lock (_lock)
                {
                    if (_current is null || time.GetUtcNow() - _loadedAt >= refresh)
                    {
                        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);

                        // Re-import so that the key is usable by SslStream on every platform.
                        _current = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                        _loadedAt = time.GetUtcNow();
                    }

                    return _current;
                }
            }
        }
    }
}
