using System.Net;
using Mesh.Client.Http;
using Mesh.Client.Internal;
using Mesh.Client.Model;
using Mesh.Client.Security;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Security;

/// <summary>HttpClient to clusters over mutual TLS: real Kestrel backends that require client certificates and check SPIFFE IDs.</summary>
public sealed class HttpMtlsTests : IAsyncLifetime
{
    private readonly TlsKit _kit = new();
    private ServiceProvider _services = null!;
    private MeshRuntime _runtime = null!;

    public Task InitializeAsync()
    {
        _services = new ServiceCollection().AddLogging().AddMesh(_ => { }).BuildServiceProvider();
        _runtime = _services.GetRequiredService<MeshRuntime>();
        _runtime.Certificates.Register("default", _kit.ProviderSettings());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _kit.Dispose();
    }

    private HttpClient Client() => _services.GetRequiredService<IHttpClientFactory>().CreateClient();

    [Fact]
    public async Task MutualTls_ServerSeesTheClientsSpiffeId_ClientSeesTheServers()
    {
        await using var backend = await _kit.StartBackendAsync("echo-1");
        TlsKit.Publish(_runtime, ("echo", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));

        using var request = new HttpRequestMessage(HttpMethod.Get, "http://echo/identity");
        using var response = await Client().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("echo-1 " + TlsKit.ClientId, await response.Content.ReadAsStringAsync());
        Assert.True(request.Options.TryGetValue(MeshRequestOptions.PeerIdentity, out var peer));
        Assert.Equal(TlsKit.EchoId, peer);
    }

    [Fact]
    public async Task WrongServerSan_IsRejectedWithTheReason_AndNothingIsSent()
    {
        await using var backend = await _kit.StartBackendAsync("echo-1", () => _kit.Ca.Issue("spiffe://cluster.local/ns/default/sa/impostor", ["localhost"]));
        TlsKit.Publish(_runtime, ("echo", TlsKit.IstioTls(), UpstreamProtocol.Auto, [backend]));

        var ex = await Assert.ThrowsAnyAsync<HttpRequestException>(() => Client().GetStringAsync("http://echo/identity"));

        var tls = FindTls(ex);
        Assert.Equal(MeshTlsFailure.SubjectAltNameMismatch, tls.Failure);
        Assert.Contains("spiffe://cluster.local/ns/default/sa/impostor", tls.Message);
        Assert.Contains(TlsKit.EchoId, tls.Message);
        Assert.Equal(0, backend.Requests);
    }

    private static MeshTlsException FindTls(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is MeshTlsException tls)
            {
                return tls;
            }
        }

        throw new Xunit.Sdk.XunitException("No MeshTlsException in: " + ex);
    }
}
