using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Testing;
using Mesh.Samples.Echo;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// A CA made at run time, the client's workload certificate written as Istio's agent writes it, and
/// helpers to start mTLS backends and publish TLS clusters. Deletes its files when disposed.
/// </summary>
internal sealed class TlsKit : IDisposable
{
    public const string ClientId = "spiffe://cluster.local/ns/default/sa/client";
    public const string EchoId = "spiffe://cluster.local/ns/default/sa/echo";

    public TlsKit(TimeProvider? time = null)
    {
        Ca = new TestCertificateAuthority(time: time);
        Directory = System.IO.Directory.CreateTempSubdirectory("mesh-tls-").FullName;
        ClientCertificate = Ca.Issue(ClientId);
        (ChainFile, KeyFile, RootFile) = Ca.WriteIstioFiles(Directory, ClientCertificate);
    }

    public TestCertificateAuthority Ca { get; }

    public string Directory { get; }

    public X509Certificate2 ClientCertificate { get; private set; }

    public string ChainFile { get; }

    public string KeyFile { get; }

    public string RootFile { get; }

    public X509Certificate2Collection Roots => [Ca.Certificate];

    /// <summary>Issues a new client certificate and rewrites the files (a rotation).</summary>
    public X509Certificate2 RotateClient(DateTimeOffset? notAfter = null)
    {
        ClientCertificate = Ca.Issue(ClientId, notAfter: notAfter);
        Ca.WriteIstioFiles(Directory, ClientCertificate);
        return ClientCertificate;
    }

    /// <summary>The Istio-shaped provider: instance <c>default</c> over the three files.</summary>
    public FileWatcherSettings ProviderSettings(TimeSpan? refresh = null) =>
        new(ChainFile, KeyFile, RootFile, refresh ?? TimeSpan.FromMinutes(10));

    /// <summary>A backend serving TLS with <paramref name="serverCertificate"/> (by default one for <see cref="EchoId"/>), requiring a client certificate with <see cref="ClientId"/> unless <paramref name="requireClient"/> is false.</summary>
    public Task<EchoBackend> StartBackendAsync(string name, Func<X509Certificate2>? serverCertificate = null, bool requireClient = true, string? requiredClientId = ClientId)
    {
        var certificate = serverCertificate is null ? Ca.Issue(EchoId, ["localhost"]) : null;
        return EchoBackend.StartAsync(name, tls: new EchoTls
        {
            ServerCertificate = serverCertificate ?? (() => certificate!),
            ClientRoots = requireClient ? Roots : null,
            RequiredClientId = requireClient ? requiredClientId : null,
        });
    }

    /// <summary>Istio's cluster TLS: identity and roots from provider <c>default</c> (roots as <c>ROOTCA</c>), the server's SPIFFE ID exactly.</summary>
    public static MeshClusterTls IstioTls(string serverId = EchoId, bool clientCertificate = true) => new()
    {
        Identity = clientCertificate ? new CertificateProviderReference("default", "default") : null,
        Roots = new CertificateProviderReference("default", "ROOTCA"),
        SubjectAltNames = [new SubjectAltNameMatch { Type = SubjectAltNameType.Uri, Kind = StringMatchKind.Exact, Value = serverId }],
    };

    /// <summary>Publishes services, each with one cluster of the same name over <paramref name="endpoints"/> and the given TLS (null: plaintext).</summary>
    public static void Publish(MeshRuntime runtime, params (string Name, MeshClusterTls? Tls, UpstreamProtocol Protocol, EchoBackend[] Endpoints)[] services)
    {
        var clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase);
        var table = new Dictionary<string, MeshService>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, tls, protocol, backends) in services)
        {
            clusters[name] = new MeshCluster
            {
                Name = name,
                LoadBalancing = RoundRobinPolicy.Instance,
                Tls = tls,
                Protocol = protocol,
                Priorities = [new MeshPriority([new MeshLocality
                {
                    Name = LocalityName.Default,
                    Endpoints = [.. backends.Select(b => new MeshEndpoint { Host = "127.0.0.1", Port = b.Port })],
                }])],
            };
            table[name] = new MeshService
            {
                Name = name,
                Routes = [new MeshRoute { Name = "default", Match = new RouteMatch { Path = new PathMatch(PathMatchKind.Prefix, "/") }, Clusters = [new WeightedCluster(name)] }],
            };
        }

        runtime.Tables.Publish("test", new MeshSnapshot
        {
            Version = Guid.NewGuid().ToString("N")[..6],
            Source = "test",
            Services = table,
            Clusters = clusters,
        });
    }

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
