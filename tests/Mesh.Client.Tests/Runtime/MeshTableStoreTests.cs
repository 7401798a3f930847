using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Runtime;

public class MeshTableStoreTests
{
    private const int Endpoints = 1_000;
    private const int Rounds = 100;

    [Fact]
    public void Publish_100000EndpointReplacements_TlsTablesStayAtCurrentSize()
    {
        // Arrange: a TLS cluster of 1,000 endpoints, every one replaced 100 times (100,000 replacements), its TLS
        // settings changing every round; every endpoint gets its request name and a verified identity each round.
        using var runtime = new MeshRuntime(MeshRandom.CreateSeeded(7));
        var names = runtime.Tables.Compiler.TlsNames;

        // Act
        for (var round = 0; round < Rounds; round++)
        {
            var cluster = TlsCluster(round, sni: $"round{round % 3}.example");
            var table = runtime.Tables.Publish(BalancingTestData.Snapshot(cluster));
            var compiled = table.Clusters[cluster.Name];
            foreach (var endpoint in compiled.AllEndpoints)
            {
                Assert.Contains(MeshTlsHttpTransport.Domain, endpoint.TlsPrefix(compiled.Tls!), StringComparison.Ordinal);
                compiled.Tls!.Peers[endpoint.Address] = "spiffe://cluster.local/ns/default/sa/echo";
            }
        }

        // Assert: one settings, the current endpoints, nothing of the 99 rounds before.
        Assert.Equal(1, names.SettingsCount);
        Assert.Equal(1, names.PeerTableCount);
        Assert.Equal(Endpoints, names.AddressCount);
        Assert.Equal(Endpoints, names.PeerCount);
    }

    [Fact]
    public void Publish_ClustersGoAway_TlsTablesEmpty()
    {
        using var runtime = new MeshRuntime(MeshRandom.CreateSeeded(7));
        var cluster = TlsCluster(0, sni: null);
        var compiled = runtime.Tables.Publish(BalancingTestData.Snapshot(cluster)).Clusters[cluster.Name];
        _ = compiled.AllEndpoints[0].TlsPrefix(compiled.Tls!);

        runtime.Tables.Publish(BalancingTestData.Snapshot());

        var names = runtime.Tables.Compiler.TlsNames;
        Assert.Equal((0, 0, 0), (names.SettingsCount, names.AddressCount, names.PeerTableCount));
    }

    [Fact]
    public void TwoHosts_OneProcess_DoNotSeeEachOthersState()
    {
        // Arrange: two service providers, the same TLS cluster published in each.
        using var first = Provider(standardResilience: true);
        using var second = Provider(standardResilience: false);
        var a = first.GetRequiredService<MeshRuntime>();
        var b = second.GetRequiredService<MeshRuntime>();
        var cluster = TlsCluster(0, sni: null);
        var inA = a.Tables.Publish(BalancingTestData.Snapshot(cluster)).Clusters[cluster.Name];
        var inB = b.Tables.Publish(BalancingTestData.Snapshot(cluster)).Clusters[cluster.Name];

        // Act: an identity verified, an address numbered and a standard resilience handler made in the first only.
        inA.Tls!.Peers[inA.AllEndpoints[0].Address] = "spiffe://a";
        _ = inA.AllEndpoints[0].TlsPrefix(inA.Tls);
        using var client = first.GetRequiredService<IHttpClientFactory>().CreateClient("resilient");

        // Assert
        Assert.NotSame(inA.Tls.Peers, inB.Tls!.Peers);
        Assert.Empty(inB.Tls.Peers);
        Assert.Equal(0, b.Tables.Compiler.TlsNames.AddressCount);
        Assert.Equal(1, a.Tables.Compiler.TlsNames.AddressCount);
        Assert.NotSame(a.Certificates, b.Certificates);
        Assert.True(a.StandardResilienceInUse);
        Assert.False(b.StandardResilienceInUse);
    }

    [Fact]
    public void Publish_EndpointConfigChanges_SwapsOneConfigObject()
    {
        using var runtime = new MeshRuntime(MeshRandom.CreateSeeded(3));
        var before = BalancingTestData.Publish(runtime, BalancingTestData.Cluster("c", RoundRobinPolicy.Instance,
            BalancingTestData.Priority(BalancingTestData.Locality("a", 1, BalancingTestData.Endpoint(0), BalancingTestData.Endpoint(1)))));
        var state = before.AllEndpoints[0];
        var unchanged = before.AllEndpoints[1].Config;
        var old = state.Config;

        var after = BalancingTestData.Publish(runtime, BalancingTestData.Cluster("c", RoundRobinPolicy.Instance,
            BalancingTestData.Priority(BalancingTestData.Locality("b", 1, BalancingTestData.Endpoint(0, weight: 5), BalancingTestData.Endpoint(1)))));

        // The state carries over; its configuration is a new object, whole; the old one is as it was.
        Assert.Same(state, after.AllEndpoints[0]);
        Assert.NotSame(old, state.Config);
        Assert.Equal((5u, "b"), (state.Config.Endpoint.Weight, state.Config.Locality.Zone));
        Assert.Equal((1u, "a"), (old.Endpoint.Weight, old.Locality.Zone));
        Assert.Equal("b", after.AllEndpoints[1].Locality.Zone);
        Assert.NotSame(unchanged, after.AllEndpoints[1].Config);
    }

    private static ServiceProvider Provider(bool standardResilience)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh();
        if (standardResilience)
        {
            services.AddHttpClient("resilient").AddStandardResilienceHandler();
        }

        return services.BuildServiceProvider();
    }

    private static MeshCluster TlsCluster(int round, string? sni) => new()
    {
        Name = "secure",
        LoadBalancing = RoundRobinPolicy.Instance,
        Tls = TlsKit.IstioTls() with { Sni = sni },
        Priorities = [new MeshPriority([new MeshLocality
        {
            Name = LocalityName.Default,
            Endpoints = [.. Enumerable.Range(0, Endpoints).Select(i => new MeshEndpoint { Host = $"10.{round % 250}.{i / 250}.{i % 250}", Port = 8443 + (round / 250) })],
        }])],
    };
}
