using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Mesh.Client.Security;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Mesh.Client.AotCheck;

/// <summary>
/// A real Kestrel backend on 127.0.0.1, port 0: <c>GET /whoami</c> and the gRPC <c>Probe</c> service on one port,
/// cleartext HTTP/2 (h2c), or mutual TLS (HTTP/1.1 and HTTP/2) when given a certificate and the client's CA.
/// </summary>
internal sealed class Backend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Counter _counter;

    private Backend(WebApplication app, string name, int port, Counter counter)
    {
        _app = app;
        Name = name;
        Address = "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _counter = counter;
    }

    public string Name { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Address { get; }

    /// <summary>Requests and calls answered so far.</summary>
    public int Requests => Volatile.Read(ref _counter.Value);

    public static async Task<Backend> StartAsync(string name, X509Certificate2? certificate = null, X509Certificate2? clientCa = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = certificate is null ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
            if (certificate is not null)
            {
                o.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (client, _, _) => Verify(client, clientCa!),
                });
            }
        }));
        var counter = new Counter();
        builder.Services.AddSingleton(new Identity(name, counter));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGet("/whoami", context =>
        {
            Interlocked.Increment(ref counter.Value);
            var peer = context.Connection.ClientCertificate is { } client ? MeshCertificates.GetSpiffeId(client) : null;
            return context.Response.WriteAsync($"{name} {peer ?? "-"}");
        });
        app.MapGrpcService<ProbeService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Backend(app, name, new Uri(address).Port, counter);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static bool Verify(X509Certificate2 client, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(client);
    }

    private sealed class Counter
    {
        public int Value;
    }

    private sealed record Identity(string Name, Counter Counter);

    private sealed class ProbeService(Identity identity) : Probe.ProbeBase
    {
        public override Task<WhoReply> Who(WhoRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref identity.Counter.Value);
            var client = context.GetHttpContext().Connection.ClientCertificate;
            return Task.FromResult(new WhoReply
            {
                Backend = identity.Name,
                Authority = context.Host,
                Peer = client is null ? string.Empty : MeshCertificates.GetSpiffeId(client) ?? string.Empty,
            });
        }
    }
}
