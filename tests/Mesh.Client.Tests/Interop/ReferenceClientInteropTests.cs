using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Xunit.Abstractions;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// The reference gRPC xDS clients — grpc-js-xds and gRPC C-core — against OUR control plane
/// (Mesh.Client.Testing's XdsTestServer): they ACK every type it serves and their calls reach the echo backends
/// the resources name, so our server speaks xDS as real clients expect.
/// </summary>
[Collection(InteropCollection.Name)]
public class ReferenceClientInteropTests(ITestOutputHelper output)
{
    private const string Target = "echo.interop.svc.cluster.local:7070";

    [Theory]
    [InlineData(ReferenceClientKind.GrpcJs)]
    [InlineData(ReferenceClientKind.CCore)]
    public async Task ReferenceClient_AgainstOurTestServer_AcksEveryTypeAndCallsReachTheBackends(ReferenceClientKind kind)
    {
        // Arrange: a weighted split over two EDS clusters, one backend each; then a move of one cluster's endpoints.
        await using var server = await XdsTestServer.StartAsync();
        await using var backends = await Backends.StartAsync(3, "ref");
        var versions = server.Update(set => set
            .Set(XdsResources.Listener(Target, "echo-routes"))
            .Set(XdsResources.RouteConfiguration("echo-routes", Target, ("echo-a", 1u), ("echo-b", 1u)))
            .Set(XdsResources.Cluster("echo-a", http2: true))
            .Set(XdsResources.Cluster("echo-b", edsServiceName: "echo-b-endpoints"))
            .Set(XdsResources.ClusterLoadAssignment("echo-a", backends[0].Address))
            .Set(XdsResources.ClusterLoadAssignment("echo-b-endpoints", backends[1].Address)));
        var nodeId = "ref-" + ReferenceClient.NameOf(kind);

        // Act
        await using var client = await ReferenceClient.StartAsync(kind, server.CreateBootstrapJson(nodeId), "xds:///" + Target, calls: 30);
        var results = await client.WaitForCallsAsync();

        // Assert
        var context = $"{ReferenceClient.NameOf(kind)}:\n{client.Describe()}\nrequests received:\n{Requests(server)}";
        Assert.True(results.Count == 30 && results.All(r => r.Ok), $"expected 30 successful calls.\n{context}");
        Assert.All(results, r => Assert.Equal(Target, r.Authority));
        var reached = results.GroupBy(r => r.Backend).ToDictionary(g => g.Key!, g => g.Count());
        output.WriteLine($"{ReferenceClient.NameOf(kind)}: {string.Join(", ", reached.Select(p => $"{p.Key}={p.Value}"))}");

        // A 1:1 split of 30 calls misses a cluster with probability 2 * 2^-30.
        Assert.True(reached.Keys.Order().SequenceEqual([backends[0].Name, backends[1].Name]), $"both clusters of the 1:1 split should answer, got {string.Join(", ", reached.Keys)}.\n{context}");
        foreach (var (type, version) in versions)
        {
            await AssertAckedAsync(server, type, version, context);
        }

        // An endpoint move is ACKed and followed. A client ACKs when it has parsed the update, before its
        // balancer has switched, so the first calls after the ACK may still reach the old endpoint.
        var moved = server.SetResource(XdsTypeUrls.ClusterLoadAssignment, "echo-b-endpoints", XdsResources.ClusterLoadAssignment("echo-b-endpoints", backends[2].Address));
        await AssertAckedAsync(server, XdsTypeUrls.ClusterLoadAssignment, moved, context);
        var batch = 1;
        IReadOnlyList<ReferenceCallResult> after = [];
        while (!after.Any(r => r.Backend == backends[2].Name))
        {
            Assert.True(batch <= 20, $"no call reached {backends[2].Name} after the endpoint move.\n{client.Describe()}");
            await client.CallAsync(5);
            after = await client.WaitForCallsAsync(++batch);
        }

        await client.CallAsync(20);
        after = await client.WaitForCallsAsync(++batch);
        Assert.True(after.All(r => r.Ok && r.Backend != backends[1].Name), $"once moved, calls should never reach {backends[1].Name}.\n{client.Describe()}");

        var stream = Assert.Single(server.Clients);
        Assert.Equal(nodeId, stream.NodeId);
        Assert.DoesNotContain(stream.Requests, r => r.Kind == XdsRequestKind.Nack);
    }

    private static async Task AssertAckedAsync(XdsTestServer server, string type, string version, string context)
    {
        try
        {
            await server.WaitForAckAsync(type, version, TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"{ex.Message}\n{context}");
        }
    }

    private static string Requests(XdsTestServer server) =>
        string.Join('\n', server.Clients.SelectMany(c => c.Requests).Select(r => "  " + r));
}
