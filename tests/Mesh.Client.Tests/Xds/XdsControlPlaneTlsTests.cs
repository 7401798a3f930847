using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Mesh.Client.Grpc;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds.Internal;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using InternalTypeUrls = Mesh.Client.Xds.Internal.XdsTypeUrls;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Xds;

/// <summary>
/// <c>tls</c> channel credentials to the control plane (gRFC A65): a real ADS server on 127.0.0.1 serving TLS
/// (and requiring client certificates), certificates made at run time and written as Istio's agent writes them.
/// </summary>
public sealed class XdsControlPlaneTlsTests : IDisposable
{
    private const string ClientId = "spiffe://cluster.local/ns/default/sa/client";
    private const string Target = "catalog";

    private readonly TestCertificateAuthority _ca = new("Control Plane Test CA");
    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-xds-tls-").FullName;

    public void Dispose()
    {
        _ca.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory may stay behind.
        }
    }

    [Fact]
    public async Task TlsChannelCreds_WithClientCertificate_ConnectsOverMutualTlsAndConfiguresTheMesh()
    {
        // Arrange: an RSA client certificate, an ECDSA server certificate for 127.0.0.1.
        var clientCertificate = _ca.Issue(ClientId, keyType: TestKeyType.Rsa2048);
        var files = _ca.WriteIstioFiles(_directory, clientCertificate);
        await using var server = await StartServerAsync(ServerCertificate(_ca, TestKeyType.EcdsaP256));
        await using var backends = await Backends.StartAsync(1, "tls-backend");
        var versions = server.Update(set => set
            .Set(XdsResources.Listener(Target, Target + "-routes"))
            .Set(XdsResources.RouteConfiguration(Target + "-routes", Target, "catalog-cluster"))
            .Set(XdsResources.Cluster("catalog-cluster", http2: true))
            .Set(XdsResources.ClusterLoadAssignment("catalog-cluster", backends[0].Address)));
        var bootstrap = server.CreateBootstrapJson("tls-node", tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key));

        // Act
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(bootstrap));
        using var channel = MeshGrpc.CreateChannel("xds:///" + Target, host.Services);
        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest { Name = "tls" }, deadline: DateTime.UtcNow.AddSeconds(20));

        // Assert: configuration came over the TLS stream, and the server verified the client's certificate.
        Assert.Equal(backends[0].Name, reply.Backend);
        foreach (var (type, version) in versions)
        {
            await server.WaitForAckAsync(type, version);
        }

        Assert.Equal("tls-node", Assert.Single(server.Clients).NodeId);
        var seen = Assert.Single(server.ClientCertificates.DistinctBy(c => c.SerialNumber));
        Assert.Equal(clientCertificate.SerialNumber, seen.SerialNumber);
        Assert.Equal(ClientId, seen.SpiffeId);
        Assert.Equal(clientCertificate.Subject, seen.Subject);
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Id.Id == 2004);
    }

    [Fact]
    public async Task ServerCertificateFromAnotherCa_IsRejectedAsUntrusted_NoConfigAndNothingSent()
    {
        using var otherCa = new TestCertificateAuthority("Some Other CA");
        var files = _ca.WriteIstioFiles(_directory, _ca.Issue(ClientId));
        await using var server = await StartServerAsync(ServerCertificate(otherCa, TestKeyType.EcdsaP256));
        server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();

        await using var client = StartClient(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)), logging.Factory, TimeProvider.System, out var watcher);
        var error = await watcher.WaitForErrorAsync("untrusted");

        Assert.Contains($"xDS server {server.ServerUri}", error, StringComparison.Ordinal);
        Assert.Contains("the xDS server's certificate was rejected: it is untrusted", error, StringComparison.Ordinal);
        Assert.Contains("Some Other CA", error, StringComparison.Ordinal);
        Assert.Contains(files.Root, error, StringComparison.Ordinal);
        Assert.Contains(logging.Collector.GetSnapshot(), r => r.Id.Id == 2005 && r.Message.Contains("untrusted", StringComparison.Ordinal));
        Assert.Equal(0, watcher.Updates);
        Assert.Empty(server.Clients);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task ServerCertificateForAnotherHost_IsRejectedWithTheNamesItCarries()
    {
        // Same CA, but the certificate names hosts other than 127.0.0.1 (the server URI's host): "localhost"
        // reaches the same socket, yet is not the name the client was told to connect to.
        var files = _ca.WriteIstioFiles(_directory, _ca.Issue(ClientId));
        var wrongHost = _ca.Issue(null, ["istiod.istio-system.svc", "localhost"], keyType: TestKeyType.Rsa2048);
        await using var server = await StartServerAsync(wrongHost);
        server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();

        await using var client = StartClient(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)), logging.Factory, TimeProvider.System, out var watcher);
        var error = await watcher.WaitForErrorAsync("is not for");

        Assert.Contains($"it is not for '127.0.0.1' (the host of {server.ServerUri})", error, StringComparison.Ordinal);
        Assert.Contains("DNS:istiod.istio-system.svc", error, StringComparison.Ordinal);
        Assert.Equal(0, watcher.Updates);
        Assert.Empty(server.Clients);
    }

    [Fact]
    public async Task ServerUriByName_CertificateForThatName_IsAccepted()
    {
        // The server URI names "localhost", and the certificate carries only that DNS name (no IP address).
        var files = _ca.WriteIstioFiles(_directory, _ca.Issue(ClientId));
        await using var server = await StartServerAsync(_ca.Issue(null, ["localhost"]));
        var version = server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();
        var bootstrap = JsonNode.Parse(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)))!;
        bootstrap["xds_servers"]![0]!["server_uri"] = $"dns:///localhost:{server.Port}";

        await using var client = StartClient(bootstrap.ToJsonString(), logging.Factory, TimeProvider.System, out var watcher);

        await server.WaitForAckAsync(TestingTypeUrls.Listener, version);
        await Wait.UntilAsync(() => watcher.Updates > 0, "the listener to arrive");
    }

    [Fact]
    public async Task ClientCertificateFromAnotherCa_IsRefusedByTheServer_NoConfig()
    {
        using var otherCa = new TestCertificateAuthority("Some Other CA");
        var files = otherCa.WriteIstioFiles(_directory, otherCa.Issue(ClientId));

        // The client trusts the server (this test's CA); the server accepts only client certificates of this test's CA.
        File.WriteAllText(files.Root, _ca.CertificatePem);
        await using var server = await StartServerAsync(ServerCertificate(_ca, TestKeyType.EcdsaP256));
        server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();

        await using var client = StartClient(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)), logging.Factory, TimeProvider.System, out var watcher);
        await Wait.UntilAsync(() => logging.Collector.GetSnapshot().Count(r => r.Id.Id == 2005) >= 2, "two failed attempts");

        Assert.Equal(0, watcher.Updates);
        Assert.Empty(server.Clients);
        Assert.Empty(server.ClientCertificates);
    }

    [Fact]
    public async Task UnixSocketServerUri_Tls_VerifiesTheServerAsLocalhost()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"mesh-xds-tls-{Guid.NewGuid():N}.sock");
        var files = _ca.WriteIstioFiles(_directory, _ca.Issue(ClientId, keyType: TestKeyType.Rsa2048));
        await using var server = await XdsTestServer.StartAsync(
            unixSocketPath: socket,
            tls: new XdsTestServerTls { ServerCertificate = _ca.Issue(null, ["localhost"]), ClientRoots = [_ca.Certificate] });
        var version = server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();

        await using var client = StartClient(
            server.CreateBootstrapJson(useUnixSocket: true, tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)),
            logging.Factory,
            TimeProvider.System,
            out var watcher);

        await server.WaitForAckAsync(TestingTypeUrls.Listener, version);
        await Wait.UntilAsync(() => watcher.Updates > 0, "the listener to arrive");
        Assert.Equal(ClientId, server.ClientCertificates[0].SpiffeId);
    }

    [Fact]
    public async Task ClientFilesRotated_NewConnectionPresentsTheNewCertificate()
    {
        // Arrange: an ECDSA client certificate first, then an RSA one; the files are read every minute.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var first = _ca.Issue(ClientId, keyType: TestKeyType.EcdsaP256);
        var files = _ca.WriteIstioFiles(_directory, first);
        await using var server = await StartServerAsync(ServerCertificate(_ca, TestKeyType.Rsa2048));
        var version = server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();
        await using var client = StartClient(
            server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key, TimeSpan.FromSeconds(60))),
            logging.Factory,
            time,
            out var watcher);
        await server.WaitForAckAsync(TestingTypeUrls.Listener, version);
        Assert.Equal(new[] { first.SerialNumber }, server.ClientCertificates.Select(c => c.SerialNumber).Distinct());

        // Act: rotate the files; the refresh reads them; the open connection is unaffected until the server restarts.
        var second = _ca.Issue(ClientId, keyType: TestKeyType.Rsa2048);
        _ca.WriteIstioFiles(_directory, second);
        time.Advance(TimeSpan.FromSeconds(60));
        var handshakesBefore = server.ClientCertificates.Count;
        await server.RestartAsync();
        await Wait.UntilAsync(
            () =>
            {
                // Retries after a failed attempt wait on the injected clock.
                time.Advance(TimeSpan.FromSeconds(2));
                return server.ClientCertificates.Any(c => c.SerialNumber == second.SerialNumber) && server.ActiveStreams == 1;
            },
            "a new connection with the rotated certificate");

        // Assert: every handshake since the restart presented the new certificate.
        var since = server.ClientCertificates.Skip(handshakesBefore).ToList();
        Assert.NotEmpty(since);
        Assert.All(since, c => Assert.Equal(second.SerialNumber, c.SerialNumber));
        Assert.Equal(2, server.Clients.Count);
        Assert.Contains(logging.Collector.GetSnapshot(), r => r.Id.Id == 5001 && r.Message.Contains(second.Subject, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingKeyFile_FailsWithAnErrorNamingTheFile_AndNothingIsSent()
    {
        var files = _ca.WriteIstioFiles(_directory, _ca.Issue(ClientId));
        File.Delete(files.Key);
        await using var server = await StartServerAsync(ServerCertificate(_ca, TestKeyType.EcdsaP256));
        server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();

        await using var client = StartClient(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)), logging.Factory, TimeProvider.System, out var watcher);
        var error = await watcher.WaitForErrorAsync("does not exist");

        Assert.Contains($"private key file '{files.Key}' does not exist", error, StringComparison.Ordinal);
        Assert.Contains("the client certificate for TLS to the xDS server is unavailable", error, StringComparison.Ordinal);
        Assert.Contains(logging.Collector.GetSnapshot(), r => r.Id.Id == 5002 && r.Message.Contains(files.Key, StringComparison.Ordinal));
        Assert.Contains(logging.Collector.GetSnapshot(), r => r.Id.Id == 2005 && r.Message.Contains(files.Key, StringComparison.Ordinal));
        Assert.Equal(0, watcher.Updates);
        Assert.Empty(server.Clients);
        Assert.Empty(server.ClientCertificates);
    }

    [Fact]
    public async Task ExpiredClientCertificate_FailsWithAnErrorNamingTheFileAndTheExpiry()
    {
        var expired = _ca.Issue(ClientId, notBefore: DateTimeOffset.UtcNow.AddDays(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        var files = _ca.WriteIstioFiles(_directory, expired);
        await using var server = await StartServerAsync(ServerCertificate(_ca, TestKeyType.EcdsaP256));
        using var logging = new Logging();

        await using var client = StartClient(server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key)), logging.Factory, TimeProvider.System, out var watcher);
        var error = await watcher.WaitForErrorAsync("expired");

        Assert.Contains($"the certificate in '{files.CertificateChain}' expired at", error, StringComparison.Ordinal);
        Assert.Empty(server.Clients);
        Assert.Empty(server.ClientCertificates);
    }

    [Theory]
    [InlineData(TestKeyType.Rsa2048)]
    [InlineData(TestKeyType.EcdsaP256)]
    public async Task NoLog_ContainsKeyMaterial_WhenConnectingOrFailingToReadTheKey(TestKeyType keyType)
    {
        // Arrange: a working connection, then a key that belongs to another certificate, then a damaged key file.
        var certificate = _ca.Issue(ClientId, keyType: keyType);
        var files = _ca.WriteIstioFiles(_directory, certificate);
        var keys = new List<string> { await File.ReadAllTextAsync(files.Key) };
        await using var server = await StartServerAsync(ServerCertificate(_ca, keyType));
        var version = server.SetResource(XdsResources.Listener(Target, Target + "-routes"));
        using var logging = new Logging();
        var bootstrap = server.CreateBootstrapJson(tlsCredentials: new XdsTestTlsCredentials(files.Root, files.CertificateChain, files.Key));
        var errors = new List<string>();

        // Act
        await using (var client = StartClient(bootstrap, logging.Factory, TimeProvider.System, out _))
        {
            await server.WaitForAckAsync(TestingTypeUrls.Listener, version);
        }

        var otherKey = TestCertificateAuthority.ExportPrivateKeyPem(_ca.Issue(ClientId, keyType: keyType));
        keys.Add(otherKey);
        TestCertificateAuthority.WriteAtomically(files.Key, otherKey);
        await using (var client = StartClient(bootstrap, logging.Factory, TimeProvider.System, out var watcher))
        {
            errors.Add(await watcher.WaitForErrorAsync(files.Key));
        }

        var damaged = keys[0][..(keys[0].Length / 2)] + "\n-----END PRIVATE KEY-----\n";
        TestCertificateAuthority.WriteAtomically(files.Key, damaged);
        await using (var client = StartClient(bootstrap, logging.Factory, TimeProvider.System, out var watcher))
        {
            errors.Add(await watcher.WaitForErrorAsync(files.Key));
        }

        // Assert: neither logs (any level, with exceptions) nor the errors carry PEM markers or key bytes.
        var texts = logging.Collector.GetSnapshot().Select(r => r.Message + "\n" + r.Exception).Concat(errors).ToList();
        Assert.True(texts.Count > 10, "too few log records to prove anything");
        var secrets = keys.SelectMany(KeyFragments).ToList();
        foreach (var text in texts)
        {
            Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    /// <summary>Pieces of a PEM key as they could leak: each base64 line, and the decoded bytes in hex.</summary>
    private static IEnumerable<string> KeyFragments(string pem)
    {
        var lines = pem.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        foreach (var line in lines.Where(l => l.Length >= 16))
        {
            yield return line[..16];
        }

        var bytes = Convert.FromBase64String(string.Concat(lines));
        for (var i = 0; i + 16 <= bytes.Length; i += 16)
        {
            yield return Convert.ToHexString(bytes, i, 16);
        }
    }

    /// <summary>A server certificate from <paramref name="ca"/> for 127.0.0.1 (and localhost).</summary>
    private static X509Certificate2 ServerCertificate(TestCertificateAuthority ca, TestKeyType keyType) =>
        ca.Issue(null, ["localhost"], keyType: keyType, ipAddresses: [IPAddress.Loopback]);

    /// <summary>A TLS control plane that requires client certificates of this test's CA.</summary>
    private Task<XdsTestServer> StartServerAsync(X509Certificate2 serverCertificate) =>
        XdsTestServer.StartAsync(tls: new XdsTestServerTls { ServerCertificate = serverCertificate, ClientRoots = [_ca.Certificate] });

    /// <summary>An xDS client over <paramref name="bootstrapJson"/>, watching the Listener <see cref="Target"/>.</summary>
    private static XdsClient StartClient(string bootstrapJson, ILoggerFactory loggerFactory, TimeProvider time, out RecordingWatcher watcher)
    {
        var client = new XdsClient(XdsBootstrapParser.Parse(bootstrapJson, "test"), loggerFactory, time, MeshRandom.CreateSeeded(7));
        watcher = new RecordingWatcher();
        client.Watch(InternalTypeUrls.Listener, Target, watcher);
        client.Start();
        return client;
    }

    /// <summary>Logs of every level, captured.</summary>
    private sealed class Logging : IDisposable
    {
        private readonly ServiceProvider _services = new ServiceCollection()
            .AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .BuildServiceProvider();

        public ILoggerFactory Factory => _services.GetRequiredService<ILoggerFactory>();

        public FakeLogCollector Collector => _services.GetFakeLogCollector();

        public void Dispose() => _services.Dispose();
    }

    /// <summary>Records what the xDS client tells a watcher.</summary>
    private sealed class RecordingWatcher : IXdsWatcher
    {
        private readonly ConcurrentQueue<string> _errors = new();
        private int _updates;

        public int Updates => Volatile.Read(ref _updates);

        public void OnUpdate(XdsResourceUpdate update) => Interlocked.Increment(ref _updates);

        public void OnDoesNotExist()
        {
        }

        public void OnError(string message) => _errors.Enqueue(message);

        /// <summary>The first error that contains <paramref name="text"/>; fails, listing the errors seen, after the default timeout.</summary>
        public async Task<string> WaitForErrorAsync(string text)
        {
            string? found = null;
            try
            {
                await Wait.UntilAsync(() => (found = _errors.FirstOrDefault(e => e.Contains(text, StringComparison.Ordinal))) is not null, $"an error containing '{text}'");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; errors seen: [{string.Join(" | ", _errors)}]", ex);
            }

            return found!;
        }
    }
}
