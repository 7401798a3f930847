using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Security;
using Mesh.Client.Testing.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Client.Testing;

/// <summary>
/// An in-process xDS v3 management server for tests: the Aggregated Discovery Service
/// (<c>envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources</c>, state of the
/// world) on Kestrel, listening on <c>127.0.0.1</c> with cleartext HTTP/2 on a port chosen at start, or with
/// TLS, and optionally mutual TLS, when started with an <see cref="XdsTestServerTls"/>.
/// </summary>
/// <remarks>
/// <para>
/// Tests script the resources (<see cref="SetResource(Any)"/>, <see cref="Update(Action{XdsResourceSet})"/>,
/// builders in <see cref="XdsResources"/>); every change gives each affected type a new version ("1", "2", …)
/// and pushes it to every stream subscribed to that type. A response carries, for LDS and CDS, every subscribed
/// resource that exists (all of them for a wildcard subscription: <c>*</c>, or no names in the first request),
/// and for RDS and EDS the subscribed resources that exist. A new or changed subscription is answered with the
/// type's current state, once the type has been set at all. Every response has its own nonce.
/// </para>
/// <para>
/// Tests observe the clients through <see cref="Clients"/> and the <c>WaitFor…Async</c> methods, and inject
/// faults with <see cref="DropStreams"/>, <see cref="StopAsync"/> and <see cref="RestartAsync"/>. Resources,
/// versions and history survive a restart, which binds the same port again.
/// </para>
/// </remarks>
public sealed partial class XdsTestServer : IAsyncDisposable
{
    // Binding the port again right after a stop can briefly fail while the kernel releases it.
    private static readonly TimeSpan RebindPatience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RebindInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly XdsControlPlane _plane;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _clientCertificatesLock = new();
    private readonly List<XdsTestClientCertificate> _clientCertificates = [];
    private WebApplication? _app;
    private bool _disposed;

    private XdsTestServer(ILoggerFactory loggerFactory, XdsTestServerTls? tls)
    {
        _loggerFactory = loggerFactory;
        Tls = tls;
        _logger = loggerFactory.CreateLogger<XdsTestServer>();
        _plane = new XdsControlPlane(loggerFactory.CreateLogger<XdsControlPlane>());
    }

    /// <summary>The port the server listens on; it stays the same across <see cref="RestartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>The address for a bootstrap's <c>server_uri</c>: <c>127.0.0.1:port</c>.</summary>
    public string ServerUri => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The address for a gRPC channel: <c>http://127.0.0.1:port</c>, or <c>https://…</c> when the server serves TLS.</summary>
    public Uri Address => new((Tls is null ? "http://" : "https://") + ServerUri);

    /// <summary>How the server serves TLS; <see langword="null"/> for cleartext HTTP/2.</summary>
    public XdsTestServerTls? Tls { get; }

    /// <summary>
    /// The client certificates verified so far, one per TLS handshake that presented a valid one, oldest first;
    /// empty unless the server requires client certificates (<see cref="XdsTestServerTls.ClientRoots"/>).
    /// Kept across <see cref="RestartAsync"/>.
    /// </summary>
    public IReadOnlyList<XdsTestClientCertificate> ClientCertificates
    {
        get
        {
            lock (_clientCertificatesLock)
            {
                return [.. _clientCertificates];
            }
        }
    }

    /// <summary>Whether the server is listening (between a start and a <see cref="StopAsync"/>).</summary>
    public bool IsRunning => Volatile.Read(ref _app) is not null;

    /// <summary>Every ADS stream accepted so far, open or closed, oldest first; one entry per stream.</summary>
    public IReadOnlyList<XdsTestClient> Clients => _plane.Clients;

    /// <summary>The number of ADS streams open now.</summary>
    public int ActiveStreams => _plane.ActiveStreams;

    /// <summary>The Unix domain socket the server also listens on, if it was started with one.</summary>
    public string? UnixSocketPath { get; private set; }

    /// <summary>Starts a server on <c>127.0.0.1</c> and a free port.</summary>
    /// <param name="loggerFactory">Receives the server's logs (streams, requests, responses) and Kestrel's; none when <see langword="null"/>.</param>
    /// <param name="unixSocketPath">Also listen on this Unix domain socket, as Istio's agent serves its clients (<c>unix:///path</c>).</param>
    /// <param name="tls">Serve TLS (on the port and the Unix socket) with this certificate, and require client certificates when it says so; cleartext when <see langword="null"/>.</param>
    /// <returns>The running server.</returns>
    public static async Task<XdsTestServer> StartAsync(ILoggerFactory? loggerFactory = null, string? unixSocketPath = null, XdsTestServerTls? tls = null)
    {
        if (tls is not null && !tls.ServerCertificate.HasPrivateKey)
        {
            throw new ArgumentException("The server certificate has no private key.", nameof(tls));
        }

        var server = new XdsTestServer(loggerFactory ?? NullLoggerFactory.Instance, tls) { UnixSocketPath = unixSocketPath };
        try
        {
            await server.StartHostAsync(port: 0).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    /// <summary>
    /// Ends every open ADS stream from the server side with status UNAVAILABLE, as a control plane that restarts
    /// a connection would. The server keeps listening and the clients' next streams are served as usual.
    /// </summary>
    /// <returns>The number of streams dropped.</returns>
    public int DropStreams() => _plane.DropAll().Count;

    /// <summary>
    /// Stops listening: open streams end with UNAVAILABLE, then connections close and the port is released.
    /// A client that has not read a stream's status by the time its connection closes sees the connection
    /// closing instead (gRPC status INTERNAL or UNAVAILABLE, depending on the client), as when a real control
    /// plane goes away. Resources, versions and history are kept for <see cref="RestartAsync"/>. Harmless when
    /// stopped.
    /// </summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopHostAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Starts the server again on the same port (stopping it first when it is running), with the same resources,
    /// so that clients can reconnect to the address they know. The port is re-bound for up to 10 seconds in
    /// case the system has not released it yet; if another process took it meanwhile, this fails.
    /// </summary>
    /// <returns>A task that completes when the server listens again.</returns>
    /// <exception cref="IOException">The port could not be bound again.</exception>
    public async Task RestartAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopHostAsync().ConfigureAwait(false);
            await StartHostAsync(Port).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server; pending waits fail with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopHostAsync().ConfigureAwait(false);
            _plane.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Builds and starts a host on <paramref name="port"/>; with a fixed port, retries while it is still taken.</summary>
    private async Task StartHostAsync(int port)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var app = BuildHost(port);
            try
            {
                _plane.Accepting = true;
                await app.StartAsync().ConfigureAwait(false);
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                Port = new Uri(address).Port;
                Volatile.Write(ref _app, app);
                Log.Started(_logger, ServerUri);
                return;
            }
            catch (IOException ex) when (port != 0
                && ex.InnerException is AddressInUseException
                && TimeProvider.System.GetElapsedTime(started) < RebindPatience)
            {
                _plane.Accepting = false;
                await app.DisposeAsync().ConfigureAwait(false);
                Log.PortBusy(_logger, port);
                await Task.Delay(RebindInterval).ConfigureAwait(false);
            }
            catch
            {
                _plane.Accepting = false;
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private async Task StopHostAsync()
    {
        var app = Volatile.Read(ref _app);
        if (app is null)
        {
            return;
        }

        // Refuse new streams first, so that a client reconnecting at once cannot keep the host from stopping;
        // then let the dropped calls return, so that each ends with its own status instead of being aborted by the host.
        _plane.Accepting = false;
        var dropped = _plane.DropAll();
        try
        {
            await Task.WhenAll(dropped.Select(s => s.Finished)).WaitAsync(ShutdownTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Kestrel's own shutdown timeout aborts whatever is left.
        }

        try
        {
            await app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
            Volatile.Write(ref _app, null);
            Log.Stopped(_logger, ServerUri);
        }
    }

    private WebApplication BuildHost(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(XdsTestServer).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, ConfigureListener);
            if (UnixSocketPath is { } socket)
            {
                if (File.Exists(socket))
                {
                    File.Delete(socket);
                }

                kestrel.ListenUnixSocket(socket, ConfigureListener);
            }
        });
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_plane);
        builder.Services.AddSingleton<AdsService>();
        var app = builder.Build();
        app.MapGrpcService<AdsService>();
        return app;
    }

    private void ConfigureListener(ListenOptions listen)
    {
        listen.Protocols = HttpProtocols.Http2;
        if (Tls is not { } tls)
        {
            return;
        }

        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.ServerCertificate,
            ClientCertificateMode = tls.ClientRoots is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = tls.ClientRoots is null ? null : (certificate, _, _) => VerifyClient(certificate, tls.ClientRoots),
        });
    }

    /// <summary>Verifies a client certificate against <paramref name="roots"/> only, and records it when it passes.</summary>
    private bool VerifyClient(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        if (!chain.Build(certificate))
        {
            return false;
        }

        var record = new XdsTestClientCertificate(
            certificate.Subject,
            certificate.SerialNumber,
            certificate.Thumbprint,
            MeshCertificates.GetSpiffeId(certificate),
            certificate.NotAfter.ToUniversalTime());
        lock (_clientCertificatesLock)
        {
            _clientCertificates.Add(record);
        }

        return true;
    }
}
