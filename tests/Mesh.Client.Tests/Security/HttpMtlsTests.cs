using System.Diagnostics;
using System.Net;
using Mesh.Client.Http;
using Mesh.Client.Model;
using Mesh.Client.Security;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Mesh.Client.Tests.Security;

/// <summary>HttpClient to clusters over mutual TLS: real Kestrel backends that require client certificates and check SPIFFE IDs.</summary>
public sealed class HttpMtlsTests : MtlsTestBase
{
    [Fact]
    public async Task MutualTls_ServerSeesTheClientsSpiffeId_ClientSeesTheServers()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1");
        TlsKit.Publish(Runtime, ("echo", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));

        var spans = new SpanSink();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource("mtls-test").AddMeshInstrumentation().AddInMemoryExporter(spans).Build();
        using var source = new ActivitySource("mtls-test");
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://echo/identity");
        HttpResponseMessage response;
        ActivityTraceId traceId;
        using (var parent = source.StartActivity("test")!)
        {
            traceId = parent.TraceId;
            response = await Client().SendAsync(request);
        }

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("echo-1 " + TlsKit.ClientId, await response.Content.ReadAsStringAsync());
        }

        Assert.True(request.Options.TryGetValue(MeshRequestOptions.PeerIdentity, out var peer));
        Assert.Equal(TlsKit.EchoId, peer);

        // The call made one attempt: its span carries the endpoint and the identity TLS verified.
        var call = Assert.Single(spans.Snapshot(), s => s.TraceId == traceId && s.DisplayName == "GET echo");

        Assert.Equal(TlsKit.EchoId, call.GetTagItem("mesh.peer.identity"));
        Assert.Equal(backend.Port, call.GetTagItem("server.port"));
    }

    [Fact]
    public async Task WrongServerSan_IsRejectedWithTheReason_AndNothingIsSent()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1", () => Kit.Ca.Issue("spiffe://cluster.local/ns/default/sa/impostor", ["localhost"]));
        TlsKit.Publish(Runtime, ("echo", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));

        var ex = await Assert.ThrowsAnyAsync<HttpRequestException>(() => Client().GetStringAsync("http://echo/identity"));

        var tls = FindTls(ex);
        Assert.Equal(MeshTlsFailure.SubjectAltNameMismatch, tls.Failure);
        Assert.Contains("spiffe://cluster.local/ns/default/sa/impostor", tls.Message);
        Assert.Contains(TlsKit.EchoId, tls.Message);
        Assert.Equal(0, backend.Requests);
    }
}

/// <summary>Rejections, each with its reason; several clusters of different TLS in one process; rotation without loss.</summary>
public sealed class MtlsBehaviourTests : MtlsTestBase
{
    protected override string[] GrpcClients => ["a", "b", "c"];

    private async Task<MeshTlsException> RejectedAsync(EchoBackend backend, MeshClusterTls tls)
    {
        TlsKit.Publish(Runtime, ("echo", tls, UpstreamProtocol.Auto, [backend]));
        var ex = await Assert.ThrowsAnyAsync<HttpRequestException>(() => Client().GetStringAsync("http://echo/identity"));
        Assert.Equal(0, backend.Requests);
        return FindTls(ex);
    }

    [Fact]
    public async Task UntrustedServer_IsRejected_SayingItIsNotSignedByATrustedCa()
    {
        using var other = new Mesh.Client.Testing.TestCertificateAuthority("Some Other CA");
        await using var backend = await Kit.StartBackendAsync("echo-1", () => other.Issue(TlsKit.EchoId, ["localhost"]));

        var ex = await RejectedAsync(backend, TlsKit.IstioTls());

        Assert.Equal(MeshTlsFailure.ServerCertificateUntrusted, ex.Failure);
        Assert.Contains("not signed by a CA the cluster trusts", ex.Message);
        Assert.Contains("'default'", ex.Message);
    }

    [Fact]
    public async Task ExpiredServerCertificate_IsRejected_SayingWhenItExpired()
    {
        var expired = Kit.Ca.Issue(TlsKit.EchoId, ["localhost"], DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-1));
        await using var backend = await Kit.StartBackendAsync("echo-1", () => expired);

        var ex = await RejectedAsync(backend, TlsKit.IstioTls());

        Assert.Equal(MeshTlsFailure.ServerCertificateExpired, ex.Failure);
        Assert.Contains("expired at", ex.Message);
    }

    [Fact]
    public async Task MissingKeyFile_FailsBeforeConnecting_NamingTheFile()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1");
        File.Delete(Kit.KeyFile);
        Runtime.Certificates.Register("broken", Kit.ProviderSettings() with { RefreshInterval = TimeSpan.FromMinutes(9) });
        var tls = TlsKit.IstioTls() with { Identity = new CertificateProviderReference("broken") };

        var ex = await RejectedAsync(backend, tls);

        Assert.Equal(MeshTlsFailure.ClientCertificateUnavailable, ex.Failure);
        Assert.Contains("key.pem", ex.Message);
        Assert.Contains("does not exist", ex.Message);
        Assert.Equal(0, backend.Connections);
    }

    [Fact]
    public async Task ExpiredClientCertificate_FailsBeforeConnecting_SayingItExpired()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1");
        Kit.RotateClient(notAfter: DateTimeOffset.UtcNow.AddSeconds(-5));
        Runtime.Certificates.Register("stale", Kit.ProviderSettings() with { RefreshInterval = TimeSpan.FromMinutes(8) });
        var tls = TlsKit.IstioTls() with { Identity = new CertificateProviderReference("stale") };

        var ex = await RejectedAsync(backend, tls);

        Assert.Equal(MeshTlsFailure.ClientCertificateUnavailable, ex.Failure);
        Assert.Contains("expired at", ex.Message);
        Assert.Equal(0, backend.Connections);
    }

    [Fact]
    public async Task UnknownProvider_FailsClosed_ListingTheKnownOnes()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1");

        var ex = await RejectedAsync(backend, TlsKit.IstioTls() with { Identity = new CertificateProviderReference("nope") });

        Assert.Equal(MeshTlsFailure.UnknownCertificateProvider, ex.Failure);
        Assert.Contains("'nope'", ex.Message);
        Assert.Contains("default", ex.Message);
    }

    [Fact]
    public async Task ServerThatRequiresAClientCertificate_RefusesTlsWithoutOne_AndNothingReachesIt()
    {
        await using var backend = await Kit.StartBackendAsync("echo-1");

        TlsKit.Publish(Runtime, ("echo", TlsKit.IstioTls(clientCertificate: false), UpstreamProtocol.Auto, [backend]));
        // Under TLS 1.3 the server refuses the missing certificate after the client's handshake has completed,
        // so the failure arrives as the connection closing, not as a handshake error with a reason.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => Client().GetStringAsync("http://echo/identity"));

        Assert.Equal(0, backend.Requests);
        Assert.Empty(backend.ClientIdentities);
    }

    [Fact]
    public async Task ThreeClusters_MutualTls_Plaintext_TlsWithoutClientCertificate_HttpClientAndGrpc()
    {
        await using var mutual = await Kit.StartBackendAsync("a-1");
        await using var plain = await EchoBackend.StartAsync("b-1"); // cleartext HTTP/2 (h2c) for both doors
        await using var serverOnly = await Kit.StartBackendAsync("c-1", requireClient: false);
        TlsKit.Publish(Runtime,
            ("a", TlsKit.IstioTls(), UpstreamProtocol.Auto, [mutual]),
            ("b", null, UpstreamProtocol.Http2, [plain]),
            ("c", TlsKit.IstioTls(clientCertificate: false), UpstreamProtocol.Auto, [serverOnly]));
        var client = Client();

        Assert.Equal("a-1 " + TlsKit.ClientId, await client.GetStringAsync("http://a/identity"));
        Assert.Equal("b-1 -", await client.GetStringAsync("http://b/identity"));
        Assert.Equal("c-1 -", await client.GetStringAsync("http://c/identity"));

        Assert.Equal("a-1", (await Grpc("a").HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20))).Backend);
        Assert.Equal("b-1", (await Grpc("b").HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20))).Backend);
        Assert.Equal("c-1", (await Grpc("c").HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20))).Backend);
        Assert.True(mutual.ClientIdentities.ContainsKey(TlsKit.ClientId));
        Assert.Empty(serverOnly.ClientIdentities);
    }

    [Fact]
    public async Task TenRotations_NoRequestFails_AndNewConnectionsPresentTheNewCertificate()
    {
        // Every rotation replaces the client's files (and the server's certificate) while requests run on
        // HttpClient (a new connection per request: "Connection: close") and on a gRPC channel (one connection).
        var serverCertificate = Kit.Ca.Issue(TlsKit.EchoId, ["localhost"]);
        await using var backend = await Kit.StartBackendAsync("a-1", () => Volatile.Read(ref serverCertificate));
        TlsKit.Publish(Runtime, ("a", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));
        var provider = Runtime.Certificates.TryGet("default", out var p) ? p : throw new InvalidOperationException();
        var client = Client();
        var grpc = Grpc("a");
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var requests = 0;
        using var stop = new CancellationTokenSource();

        async Task HttpLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "http://a/identity");
                    request.Headers.ConnectionClose = true;
                    using var response = await client.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                    Interlocked.Increment(ref requests);
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            }
        }

        async Task GrpcLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await grpc.HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
                    Interlocked.Increment(ref requests);
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            }
        }

        var loops = new[] { HttpLoopAsync(), HttpLoopAsync(), GrpcLoopAsync() };
        var serials = new List<string> { Kit.ClientCertificate.SerialNumber };
        for (var rotation = 0; rotation < 10; rotation++)
        {
            var before = Volatile.Read(ref requests);
            await Wait.UntilAsync(() => Volatile.Read(ref requests) >= before + 20, "requests between rotations", TimeSpan.FromSeconds(30));
            serials.Add(Kit.RotateClient().SerialNumber);
            Volatile.Write(ref serverCertificate, Kit.Ca.Issue(TlsKit.EchoId, ["localhost"]));
            provider.Reload();
        }

        var last = Volatile.Read(ref requests);
        await Wait.UntilAsync(() => Volatile.Read(ref requests) >= last + 20, "requests after the last rotation", TimeSpan.FromSeconds(30));
        stop.Cancel();
        await Task.WhenAll(loops);

        Assert.Empty(failures);
        Assert.Equal(11, serials.Distinct().Count());
        foreach (var serial in serials)
        {
            Assert.True(backend.ClientSerials.ContainsKey(serial), $"the server never saw client certificate {serial}; it saw {string.Join(", ", backend.ClientSerials.Keys)}");
        }
    }
}
