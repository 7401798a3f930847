using System.Text.Json.Nodes;
using Mesh.Client.Grpc;
using Mesh.Client.Http;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Security;

/// <summary>
/// mTLS configured the way Istio configures proxyless gRPC: a bootstrap with the <c>file_watcher</c>
/// provider instance <c>default</c> over the agent's files (<c>cert-chain.pem</c>, <c>key.pem</c>,
/// <c>root-cert.pem</c>), and a Cluster whose UpstreamTlsContext names it for identity and, as
/// <c>ROOTCA</c>, for validation, with the server's SPIFFE ID as the SAN to match.
/// </summary>
public sealed class XdsMtlsTests
{
    private const string Target = "echo.default.svc.cluster.local";
    private const string Cluster = "outbound|8080||echo.default.svc.cluster.local";

    /// <summary>A bootstrap as Istio's agent writes it for proxyless gRPC: the control plane plus the certificate provider.</summary>
    internal static string IstioBootstrap(XdsTestServer server, TlsKit kit)
    {
        var bootstrap = JsonNode.Parse(server.CreateBootstrapJson("sidecar~127.0.0.1~client.default~default.svc.cluster.local"))!.AsObject();
        bootstrap["certificate_providers"] = new JsonObject
        {
            ["default"] = new JsonObject
            {
                ["plugin_name"] = "file_watcher",
                ["config"] = new JsonObject
                {
                    ["certificate_file"] = kit.ChainFile,
                    ["private_key_file"] = kit.KeyFile,
                    ["ca_certificate_file"] = kit.RootFile,
                    ["refresh_interval"] = "900s",
                },
            },
        };
        return bootstrap.ToJsonString();
    }

    /// <summary>Serves <see cref="Target"/> as Istio does for an ISTIO_MUTUAL destination: HTTP/2 cluster, UpstreamTlsContext with the echo SPIFFE ID.</summary>
    private static void ServeEcho(XdsTestServer server, params string[] addresses) =>
        server.Update(set => set
            .Set(XdsResources.Listener(Target, Target + "-routes"))
            .Set(XdsResources.RouteConfiguration(Target + "-routes", Target, Cluster))
            .Set(XdsResources.Cluster(Cluster, http2: true, upstreamTls: XdsResources.IstioUpstreamTls(TlsKit.EchoId)))
            .Set(XdsResources.ClusterLoadAssignment(Cluster, addresses)));

    [Fact]
    public async Task IstioShapedConfig_HttpClientAndGrpc_UseMutualTlsWithSpiffeIds()
    {
        using var kit = new TlsKit();
        await using var server = await XdsTestServer.StartAsync();
        await using var first = await kit.StartBackendAsync("echo-1");
        await using var second = await kit.StartBackendAsync("echo-2");
        ServeEcho(server, first.Address, second.Address);
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(IstioBootstrap(server, kit)));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var seen = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{Target}/identity");
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.EndsWith(" " + TlsKit.ClientId, body);
            seen.Add(body.Split(' ')[0]);
            Assert.Equal(TlsKit.EchoId, request.Options.TryGetValue(MeshRequestOptions.PeerIdentity, out var peer) ? peer : null);
        }

        Assert.Equal(["echo-1", "echo-2"], seen.Order());

        using var channel = MeshGrpc.CreateChannel("xds:///" + Target, host.Services);
        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest { Name = "mtls" }, deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.StartsWith("echo-", reply.Backend);
        Assert.True(first.ClientIdentities.ContainsKey(TlsKit.ClientId) && second.ClientIdentities.ContainsKey(TlsKit.ClientId));
    }

    [Fact]
    public async Task ServerWithTheWrongSpiffeId_IsRejected_AndTheCallerIsTold()
    {
        using var kit = new TlsKit();
        await using var server = await XdsTestServer.StartAsync();
        await using var impostor = await kit.StartBackendAsync("impostor", () => kit.Ca.Issue("spiffe://cluster.local/ns/other/sa/impostor", ["localhost"]));
        ServeEcho(server, impostor.Address);
        await using var host = await MeshHost.StartAsync(XdsMesh.AppSettings(IstioBootstrap(server, kit)));

        var ex = await Assert.ThrowsAnyAsync<HttpRequestException>(() => host.Services.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync($"http://{Target}/identity"));

        Assert.Contains("spiffe://cluster.local/ns/other/sa/impostor", ex.ToString());
        Assert.Contains("match none of", ex.ToString());
        Assert.Equal(0, impostor.Requests);
    }
}

/// <summary>The same from appsettings.json alone: no control plane.</summary>
public sealed class AppSettingsMtlsTests
{
    /// <summary>appsettings.json with provider <c>default</c> over the kit's files and service <c>echo</c> over mutual TLS to <paramref name="backend"/>.</summary>
    internal static string AppSettings(TlsKit kit, EchoBackend backend) => $$"""
        {
          "Mesh": {
            "Tls": {
              "CertificateProviders": {
                "default": {
                  "CertificateFile": {{System.Text.Json.JsonSerializer.Serialize(kit.ChainFile)}},
                  "PrivateKeyFile": {{System.Text.Json.JsonSerializer.Serialize(kit.KeyFile)}},
                  "CaCertificateFile": {{System.Text.Json.JsonSerializer.Serialize(kit.RootFile)}}
                }
              }
            },
            "Services": {
              "echo": {
                "Endpoints": [ "{{backend.Address}}" ],
                "Tls": { "CertificateProvider": "default", "RootCertificateProvider": "default", "SubjectAltNames": [ "{{TlsKit.EchoId}}" ] }
              }
            }
          }
        }
        """;

    [Fact]
    public async Task MeshSection_ProvidersAndServiceTls_CallOverMutualTls()
    {
        using var kit = new TlsKit();
        await using var backend = await kit.StartBackendAsync("echo-1");
        var json = AppSettings(kit, backend);
        await using var host = await MeshHost.StartAsync(json);

        var body = await host.Services.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync("http://echo/identity");
        using var channel = MeshGrpc.CreateChannel("xds:///echo", host.Services);
        var reply = await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal("echo-1 " + TlsKit.ClientId, body);
        Assert.Equal("echo-1", reply.Backend);
    }

    [Fact]
    public async Task CertificateDetails_AreLoggedAtDebugOnly_AndKeyMaterialNever()
    {
        using var kit = new TlsKit();
        await using var backend = await kit.StartBackendAsync("echo-1");
        var json = AppSettings(kit, backend);
        await using var host = await MeshHost.StartAsync(json);
        await host.Services.GetRequiredService<IHttpClientFactory>().CreateClient().GetStringAsync("http://echo/identity");

        var logs = host.Logs.GetSnapshot();
        var key = Mesh.Client.Testing.TestCertificateAuthority.ExportPrivateKeyPem(kit.ClientCertificate);
        var keyBody = key.Split('\n')[1].Trim();
        Assert.DoesNotContain(logs, r => r.Message.Contains("PRIVATE KEY", StringComparison.Ordinal) || r.Message.Contains(keyBody, StringComparison.Ordinal));
        var identity = Assert.Single(logs, r => r.Message.Contains("loaded its identity", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, identity.Level);
        Assert.Contains(TlsKit.ClientId, identity.Message);
        Assert.DoesNotContain(logs, r => r.Level > Microsoft.Extensions.Logging.LogLevel.Debug && r.Message.Contains(TlsKit.ClientId, StringComparison.Ordinal));
    }
}
