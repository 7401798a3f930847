using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Configuration;
using Mesh.Client.Model;
using Mesh.Client.Testing;
using Mesh.Samples.Echo;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// What <c>--mtls</c> runs against: a CA made at run time, the client's workload certificate written as
/// Istio's agent writes it, three Kestrel echo backends that require a client certificate with the client's
/// SPIFFE ID (mutual TLS; HTTP/1.1 and HTTP/2 chosen by ALPN), three plaintext HTTP/1.1 ones and three
/// plaintext HTTP/2 ones (Kestrel speaks cleartext HTTP/2 only on an HTTP/2-only port), and the mesh
/// configuration over them, through the public <c>AddMesh(options => …)</c> path an application uses.
/// </summary>
internal sealed class MtlsFixture : IAsyncDisposable
{
    public const string ClientId = "spiffe://cluster.local/ns/bench/sa/client";
    public const string ServerId = "spiffe://cluster.local/ns/bench/sa/echo";

    /// <summary>Mesh services (round_robin, the default) over the plaintext backends.</summary>
    public const string PlainHttp1 = "plain-h1";

    /// <inheritdoc cref="PlainHttp1"/>
    public const string PlainHttp2 = "plain-h2";

    /// <summary>Mesh services (round_robin) over the mTLS backends.</summary>
    public const string MtlsHttp1 = "mtls-h1";

    /// <inheritdoc cref="MtlsHttp1"/>
    public const string MtlsHttp2 = "mtls-h2";

    private readonly TestCertificateAuthority _ca;
    private readonly string _directory;
    private readonly (string Chain, string Key, string Root) _files;

    private MtlsFixture(TestCertificateAuthority ca, string directory, (string, string, string) files, EchoBackend[] plain1, EchoBackend[] plain2, EchoBackend[] secure)
    {
        _ca = ca;
        _directory = directory;
        _files = files;
        PlainHttp1Backends = plain1;
        PlainHttp2Backends = plain2;
        Secure = secure;
    }

    /// <summary>Plaintext HTTP/1.1 backends.</summary>
    public EchoBackend[] PlainHttp1Backends { get; }

    /// <summary>Plaintext HTTP/2 backends (prior knowledge, h2c): HttpClient with HTTP/2 and gRPC.</summary>
    public EchoBackend[] PlainHttp2Backends { get; }

    /// <summary>mTLS backends: HTTP/1.1 and HTTP/2 (ALPN), client certificate required.</summary>
    public EchoBackend[] Secure { get; }

    public static async Task<MtlsFixture> StartAsync(int endpoints)
    {
        var ca = new TestCertificateAuthority("Mesh bench CA");
        var directory = Directory.CreateTempSubdirectory("mesh-bench-tls-").FullName;
        var files = ca.WriteIstioFiles(directory, ca.Issue(ClientId));

        // One server certificate for all mTLS backends: what the client verifies is the SPIFFE ID, as in Istio.
        var serverCertificate = ca.Issue(ServerId, ["localhost"], ipAddresses: [IPAddress.Loopback]);
        var tls = new EchoTls
        {
            ServerCertificate = () => serverCertificate,
            ClientRoots = new X509Certificate2Collection(ca.Certificate),
            RequiredClientId = ClientId,
        };

        var plain1 = new EchoBackend[endpoints];
        var plain2 = new EchoBackend[endpoints];
        var secure = new EchoBackend[endpoints];
        for (var i = 0; i < endpoints; i++)
        {
            plain1[i] = await EchoBackend.StartAsync($"plain-h1-{i + 1}", protocols: HttpProtocols.Http1);
            plain2[i] = await EchoBackend.StartAsync($"plain-h2-{i + 1}", protocols: HttpProtocols.Http2);
            secure[i] = await EchoBackend.StartAsync($"mtls-{i + 1}", tls: tls);
        }

        return new MtlsFixture(ca, directory, files, plain1, plain2, secure);
    }

    /// <summary>
    /// A new service provider with the mesh: a new runtime, so a new TLS transport and connection pools.
    /// Every case starts from no connections, and its handshakes are its own.
    /// </summary>
    /// <param name="configure">More registrations (the HTTP/1.1 pool diagnostic adds a client).</param>
    public ServiceProvider CreateMesh(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddMesh(options =>
        {
            options.Tls.CertificateProviders["default"] = new MeshCertificateProviderOptions
            {
                CertificateFile = _files.Chain,
                PrivateKeyFile = _files.Key,
                CaCertificateFile = _files.Root,
            };
            options.Services[PlainHttp1] = Service(PlainHttp1Backends, UpstreamProtocol.Http1, tls: false);
            options.Services[PlainHttp2] = Service(PlainHttp2Backends, UpstreamProtocol.Http2, tls: false);
            options.Services[MtlsHttp1] = Service(Secure, UpstreamProtocol.Http1, tls: true);
            options.Services[MtlsHttp2] = Service(Secure, UpstreamProtocol.Http2, tls: true);
        });
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static MeshServiceOptions Service(EchoBackend[] backends, UpstreamProtocol protocol, bool tls)
    {
        var service = new MeshServiceOptions { Protocol = protocol };
        foreach (var backend in backends)
        {
            service.Endpoints.Add(new MeshEndpointOptions { Address = backend.Address });
        }

        if (tls)
        {
            service.Tls = new MeshServiceTlsOptions { CertificateProvider = "default", RootCertificateProvider = "default" };
            service.Tls.SubjectAltNames.Add(new MeshSubjectAltNameOptions { Type = SubjectAltNameType.Uri, Exact = ServerId });
        }

        return service;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in PlainHttp1Backends.Concat(PlainHttp2Backends).Concat(Secure))
        {
            await backend.DisposeAsync();
        }

        _ca.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
