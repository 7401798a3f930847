using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Security;

/// <summary>
/// A client process with the mesh and no configured services, the Istio-shaped provider <c>default</c>
/// registered over the files of a run-time CA, and gRPC factory clients for the names a test class asks
/// for; tests publish TLS clusters with <see cref="TlsKit.Publish"/>.
/// </summary>
public abstract class MtlsTestBase : IAsyncLifetime
{
    private ServiceProvider? _services;

    internal TlsKit Kit { get; } = new();

    internal ServiceProvider Services => _services!;

    internal MeshRuntime Runtime => Services.GetRequiredService<MeshRuntime>();

    /// <summary>The names that get a gRPC factory client (<c>xds:///name</c>).</summary>
    protected virtual string[] GrpcClients => [];

    public Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMesh(_ => { });
        foreach (var name in GrpcClients)
        {
            services.AddGrpcClient<Echo.EchoClient>(name, o => o.Address = new Uri("xds:///" + name));
        }

        _services = services.BuildServiceProvider();
        Runtime.Certificates.Register("default", Kit.ProviderSettings());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        Kit.Dispose();
    }

    internal HttpClient Client() => Services.GetRequiredService<IHttpClientFactory>().CreateClient();

    internal Echo.EchoClient Grpc(string name) =>
        Services.GetRequiredService<global::Grpc.Net.ClientFactory.GrpcClientFactory>().CreateClient<Echo.EchoClient>(name);

    /// <summary>The <see cref="Mesh.Client.Security.MeshTlsException"/> inside <paramref name="ex"/>.</summary>
    internal static Mesh.Client.Security.MeshTlsException FindTls(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is Mesh.Client.Security.MeshTlsException found)
            {
                return found;
            }
        }

        throw new Xunit.Sdk.XunitException("No MeshTlsException in: " + ex);
    }
}
