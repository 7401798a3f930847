using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Mesh.Client.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Samples.Echo;

/// <summary>
/// A real Kestrel backend on 127.0.0.1 that serves plain HTTP (<c>GET /whoami</c>) and the gRPC
/// <c>Echo</c> service on one port. Kestrel speaks cleartext HTTP/2 only on an HTTP/2-only port, so by
/// default the port is HTTP/2 (h2c) and HttpClient callers reach it through a mesh service with
/// <c>"Protocol": "Http2"</c>.
/// </summary>
public sealed class EchoBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoBackend(WebApplication app, string name, int port)
    {
        _app = app;
        Name = name;
        Port = port;
    }

    /// <summary>The backend's name, returned in every reply.</summary>
    public string Name { get; }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Requests answered so far.</summary>
    public int Requests => State.Requests;

    /// <summary>TCP connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref State.ConnectionCount);

    internal BackendState State { get; private set; } = new();

    /// <summary>
    /// How the backend misbehaves, for resilience tests and demos; it can be changed while the backend runs.
    /// Requests that misbehave still count in <see cref="Requests"/>.
    /// </summary>
    public EchoFault Fault
    {
        get => State.Fault;
        set => State.Fault = value;
    }

    /// <summary>How long requests wait before being answered when <see cref="Fault"/> is <see cref="EchoFault.Slow"/>.</summary>
    public TimeSpan SlowDelay
    {
        get => State.SlowDelay;
        set => State.SlowDelay = value;
    }

    /// <summary>The SPIFFE IDs (or subjects) of the client certificates this backend has verified, with how many connections each.</summary>
    public IReadOnlyDictionary<string, int> ClientIdentities => State.ClientIdentities;

    /// <summary>The serial numbers of the client certificates this backend has verified, with how many connections each.</summary>
    public IReadOnlyDictionary<string, int> ClientSerials => State.ClientSerials;

    /// <summary>Starts a backend; port 0 picks a free port. With <paramref name="tls"/> it serves HTTPS (and HTTP/1.1 beside HTTP/2).</summary>
    public static async Task<EchoBackend> StartAsync(string name, int port = 0, Action<WebApplicationBuilder>? configure = null, HttpProtocols protocols = HttpProtocols.Http2, EchoTls? tls = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var state = new BackendState { Name = name };
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o =>
        {
            o.Protocols = tls is null ? protocols : HttpProtocols.Http1AndHttp2;
            o.Use(next => connection =>
            {
                Interlocked.Increment(ref state.ConnectionCount);
                return next(connection);
            });
            if (tls is not null)
            {
                o.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificateSelector = (_, _) => tls.ServerCertificate(),
                    ClientCertificateMode = tls.ClientRoots is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (certificate, _, _) => tls.ClientRoots is not null && state.VerifyClient(certificate, tls),
                });
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var s = context.RequestServices.GetRequiredService<BackendState>();
            switch (s.Fault)
            {
                case EchoFault.Unavailable:
                    Interlocked.Increment(ref s.RequestCount);
                    if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
                    {
                        // A trailers-only gRPC response: UNAVAILABLE before any message.
                        context.Response.ContentType = "application/grpc";
                        context.Response.Headers["grpc-status"] = "14";
                        context.Response.Headers["grpc-message"] = s.Name + " is failing on purpose";
                        return;
                    }

                    context.Response.StatusCode = 503;
                    await context.Response.WriteAsync(s.Name + " is failing on purpose");
                    return;
                case EchoFault.Reset:
                    Interlocked.Increment(ref s.RequestCount);
                    context.Abort();
                    return;
                case EchoFault.Slow:
                    await Task.Delay(s.SlowDelay, context.RequestAborted);
                    break;
            }

            await next(context);
        });
        app.MapGet("/whoami", (HttpContext context, BackendState s) =>
        {
            Interlocked.Increment(ref s.RequestCount);
            return $"{s.Name} {context.Request.Host}";
        });
        app.MapGet("/trace", (HttpContext context, BackendState s) =>
        {
            // The trace context the caller propagated, every value of it: "traceparent|baggage".
            Interlocked.Increment(ref s.RequestCount);
            return $"{string.Join(",", context.Request.Headers["traceparent"].ToArray())}|{string.Join(",", context.Request.Headers["baggage"].ToArray())}";
        });
        app.MapGet("/identity", (HttpContext context, BackendState s) =>
        {
            // The caller as this backend verified it: its certificate's SPIFFE ID.
            Interlocked.Increment(ref s.RequestCount);
            var certificate = context.Connection.ClientCertificate;
            return $"{s.Name} {(certificate is null ? "-" : MeshCertificates.GetSpiffeId(certificate) ?? certificate.Subject)}";
        });
        app.MapGet("/{**path}", (HttpContext context, BackendState s) =>
        {
            Interlocked.Increment(ref s.RequestCount);
            return $"{s.Name} {context.Request.Path}";
        });
        app.MapGrpcService<EchoService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var backend = new EchoBackend(app, name, new Uri(address).Port) { State = state };
        state.Owner = backend;
        return backend;
    }

    /// <summary>A <c>Hello</c> name that makes the backend answer with the trace context it received: <c>traceparent|baggage</c>.</summary>
    public const string TraceName = "trace";

    /// <summary>A <c>Hello</c> name that makes the backend send response headers and then fail with UNAVAILABLE.</summary>
    public const string HeadersThenUnavailable = "headers-then-unavailable";

    /// <summary>Stops the backend.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class BackendState
    {
        public int RequestCount;

        public EchoFault Fault { get; set; }

        public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(2);

        public int ConnectionCount;

        public string Name { get; set; } = string.Empty;

        public ConcurrentDictionary<string, int> ClientIdentities { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, int> ClientSerials { get; } = new(StringComparer.Ordinal);

        /// <summary>Verifies a client certificate against the backend's roots and, when set, its required SPIFFE ID.</summary>
        public bool VerifyClient(X509Certificate2 certificate, EchoTls tls)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(tls.ClientRoots!);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!chain.Build(certificate))
            {
                return false;
            }

            var identity = MeshCertificates.GetSpiffeId(certificate);
            if (tls.RequiredClientId is { } required && !string.Equals(identity, required, StringComparison.Ordinal))
            {
                return false;
            }

            ClientIdentities.AddOrUpdate(identity ?? certificate.Subject, 1, static (_, n) => n + 1);
            ClientSerials.AddOrUpdate(certificate.SerialNumber, 1, static (_, n) => n + 1);
            return true;
        }

        public EchoBackend? Owner { get; set; }

        public int Requests => Volatile.Read(ref RequestCount);
    }

    private sealed class EchoService(BackendState state) : Echo.EchoBase
    {
        public override async Task<HelloReply> Hello(HelloRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref state.RequestCount);
            if (request.Name == HeadersThenUnavailable)
            {
                // Response headers first, then a failure: the call is committed, so a client must not retry it.
                await context.WriteResponseHeadersAsync([]);
                throw new RpcException(new Status(StatusCode.Unavailable, state.Name + " failed after sending headers"));
            }

            if (request.Name == TraceName)
            {
                // The trace context the caller propagated, every value of it: "traceparent|baggage".
                string Values(string key) => string.Join(",", context.RequestHeaders.Where(h => h.Key == key).Select(h => h.Value));
                return new HelloReply { Backend = state.Name, Authority = context.Host, Message = $"{Values("traceparent")}|{Values("baggage")}" };
            }

            return new HelloReply { Backend = state.Name, Authority = context.Host, Message = "hello " + request.Name };
        }

        public override async Task Count(CountRequest request, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
        {
            Interlocked.Increment(ref state.RequestCount);
            for (var i = 0; i < request.Count; i++)
            {
                await responseStream.WriteAsync(new HelloReply { Backend = state.Name, Authority = context.Host, Message = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
        }
    }
}

/// <summary>How an <see cref="EchoBackend"/> misbehaves.</summary>
public enum EchoFault
{
    /// <summary>Answers normally.</summary>
    None,

    /// <summary>HTTP 503, and gRPC UNAVAILABLE (trailers-only), for every request.</summary>
    Unavailable,

    /// <summary>Resets the stream or connection without an answer.</summary>
    Reset,

    /// <summary>Waits <see cref="EchoBackend.SlowDelay"/> before answering.</summary>
    Slow,
}

/// <summary>How an <see cref="EchoBackend"/> serves TLS.</summary>
public sealed class EchoTls
{
    /// <summary>The server certificate, asked for on every handshake (so a test can rotate it).</summary>
    public required Func<X509Certificate2> ServerCertificate { get; init; }

    /// <summary>When set, clients must present a certificate that chains to one of these (mutual TLS).</summary>
    public X509Certificate2Collection? ClientRoots { get; init; }

    /// <summary>When set, the client certificate's SPIFFE ID must be exactly this.</summary>
    public string? RequiredClientId { get; init; }
}
