using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;

namespace Mesh.Client.Tests.ServiceDiscovery;

public class MeshServiceEndpointProviderTests
{
    [Fact]
    public async Task ServiceEndpointResolver_MeshService_ReturnsUsableEndpointsAndFollowsReload()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices("""
            "catalog": { "Endpoints": [ "10.0.0.1:8080", "10.0.0.2:8080", { "Address": "10.0.0.3:8080", "Health": "Draining" } ] }
            """));
        var resolver = host.Services.GetRequiredService<ServiceEndpointResolver>();

        var source = await resolver.GetEndpointsAsync("http://catalog", CancellationToken.None);

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], source.Endpoints.Select(e => e.EndPoint.ToString()).Order());

        await host.WriteConfigAsync(MeshJson.WithServices("""  "catalog": { "Endpoints": [ "10.0.0.9:9090" ] }  """));
        await Wait.UntilAsync(async () =>
        {
            var updated = await resolver.GetEndpointsAsync("http://catalog", CancellationToken.None);
            return updated.Endpoints.Select(e => e.EndPoint.ToString()).SequenceEqual(["10.0.0.9:9090"]);
        }, "the resolver to see the reloaded endpoints");
    }

    [Fact]
    public async Task Factory_NameThatIsNotAMeshService_LeavesItToOtherProviders()
    {
        await using var host = await MeshHost.StartAsync(MeshJson.WithServices("""  "catalog": { "Endpoints": [ "10.0.0.1:8080" ] }  """));
        var factory = host.Services.GetServices<IServiceEndpointProviderFactory>().Single(f => f.GetType().Name.StartsWith("Mesh", StringComparison.Ordinal));

        Assert.True(ServiceEndpointQuery.TryParse("http://other", out var query));
        Assert.False(factory.TryCreateProvider(query!, out _));
    }

    [Fact]
    public async Task TlsCluster_EndpointsAreNotHandedOut_SoNobodyReachesThemInPlaintext()
    {
        await using var host = await MeshHost.StartAsync("""
            {
              "Mesh": {
                "Tls": { "CertificateProviders": { "default": { "CaCertificateFile": "/nonexistent/root-cert.pem" } } },
                "Services": {
                  "secure": { "Endpoints": [ "10.0.0.1:8443" ], "Tls": { "RootCertificateProvider": "default" } },
                  "plain": { "Endpoints": [ "10.0.0.2:8080" ] }
                }
              }
            }
            """);
        var resolver = host.Services.GetRequiredService<ServiceEndpointResolver>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        var plain = await resolver.GetEndpointsAsync("http://plain", timeout.Token);
        var secure = await Record.ExceptionAsync(async () => Assert.Empty((await resolver.GetEndpointsAsync("http://secure", timeout.Token)).Endpoints));

        Assert.Equal(["10.0.0.2:8080"], plain.Endpoints.Select(e => e.EndPoint.ToString()));
        Assert.True(secure is null or InvalidOperationException or OperationCanceledException, secure?.ToString());
    }
}
