using Grpc.Core;
using Mesh.Client.Testing;
using Mesh.Samples.Testing.Tests.Grpc;

namespace Mesh.Samples.Testing.Tests;

/// <summary>The same kind of route for a gRPC client: the call's metadata is what header matches see.</summary>
public sealed class GrpcRouteTests
{
    // A gRPC target is xds:///name; the client asks the control plane for the Listener of that name as written.
    private const string Target = "items.mesh-demo.svc.cluster.local:9090";

    [Fact]
    public async Task HeaderRoute_CanaryMetadata_GrpcCallGoesToV2()
    {
        // Arrange: HTTP/2 backends (gRPC), a canary route and a default route.
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var v1 = await TestBackend.StartAsync("items-v1-a", "v1", http2: true);
        await using var v2 = await TestBackend.StartAsync("items-v2-a", "v2", http2: true);
        controlPlane.Update(mesh => mesh
            .Set(XdsResources.Listener(Target, "items-routes"))
            .Set(XdsResources.RouteConfiguration(
                "items-routes",
                domain: Target,
                new XdsRoute { Headers = new Dictionary<string, string> { [ItemsClient.CanaryHeader] = "true" }, Cluster = "items-v2" },
                new XdsRoute { Cluster = "items-v1" }))
            .Set(XdsResources.Cluster("items-v1"))
            .Set(XdsResources.Cluster("items-v2"))
            .Set(XdsResources.ClusterLoadAssignment("items-v1", v1.Address))
            .Set(XdsResources.ClusterLoadAssignment("items-v2", v2.Address)));
        await using var app = await ClientApp.StartAsync(controlPlane, new Dictionary<string, string?> { ["Grpc:Address"] = "xds:///" + Target });

        // Act
        var canary = await app.GrpcItems.GetItemsAsync(new ItemsRequest(), new Metadata { { ItemsClient.CanaryHeader, "true" } }, Deadline());
        var plain = await app.GrpcItems.GetItemsAsync(new ItemsRequest(), deadline: Deadline());

        // Assert
        Assert.Equal((v2.Instance, "v2"), (canary.Instance, canary.Version));
        Assert.Equal((v1.Instance, "v1"), (plain.Instance, plain.Version));
    }

    private static DateTime Deadline() => DateTime.UtcNow + ClientApp.CallTimeout;
}
