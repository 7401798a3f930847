using Mesh.Client.Testing;

namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// The backend's routes and policies served by an in-process control plane, with the names and the route table
/// istiod sends a proxyless client for <c>samples/kubernetes</c>: the VirtualService's canary header route, its
/// 90/10 split over the DestinationRule's subsets, and its retries.
/// </summary>
public sealed class ControlPlaneRouteTests
{
    /// <summary>The VirtualService's <c>retries</c>: 2 retries on 5xx, connect failures and resets.</summary>
    private static readonly XdsRetryPolicy Retries = new("5xx,connect-failure,reset", NumRetries: 2);

    /// <summary>samples/kubernetes/virtual-service.yaml as xDS routes: the first that matches wins.</summary>
    private static readonly XdsRoute[] VirtualServiceRoutes =
    [
        new XdsRoute
        {
            Name = "canary",
            Headers = new Dictionary<string, string> { [ItemsClient.CanaryHeader] = "true" },
            Cluster = IstioNames.V2,
            Retry = Retries,
        },
        new XdsRoute
        {
            Name = "split",
            WeightedClusters = [(IstioNames.V1, 90), (IstioNames.V2, 10)],
            Retry = Retries,
        },
    ];

    [Fact]
    public async Task HeaderRoute_CanaryHeaderTrue_GoesToV2()
    {
        // Arrange
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var v1 = await TestBackend.StartAsync("backend-v1-a", "v1");
        await using var v2 = await TestBackend.StartAsync("backend-v2-a", "v2");
        ServeBackend(controlPlane, v1: [v1], v2: [v2]);
        await using var app = await StartAppAsync(controlPlane);

        // Act
        var versions = await app.Items.CountVersionsAsync(50, canary: true);

        // Assert
        Assert.Equal(new Dictionary<string, int> { ["v2"] = 50 }, versions);
    }

    [Fact]
    public async Task WeightedSplit_NinetyTen_V2ShareWithinBinomialBounds()
    {
        // Arrange
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var v1 = await TestBackend.StartAsync("backend-v1-a", "v1");
        await using var v2 = await TestBackend.StartAsync("backend-v2-a", "v2");
        ServeBackend(controlPlane, v1: [v1], v2: [v2]);
        await using var app = await StartAppAsync(controlPlane);

        // Act
        const int requests = 1000;
        var versions = await app.Items.CountVersionsAsync(requests);

        // Assert
        // Each request goes to v2 with probability 0.1, so the v2 count is Binomial(1000, 0.1): mean 100,
        // standard deviation 9.5. [60, 140] is ±4.2 standard deviations; a correct 90/10 split lands outside it
        // with probability 2.7e-5 (summed exactly from the binomial distribution), whatever the seed, while a
        // split of 80/20 or 95/5 falls outside it almost always.
        var toV2 = versions.GetValueOrDefault("v2");
        Assert.InRange(toV2, 60, 140);
        Assert.Equal(requests - toV2, versions.GetValueOrDefault("v1"));
    }

    [Fact]
    public async Task RetryPolicy_OneV1InstanceFailing_CallerSeesNoFailure()
    {
        // Arrange: v1 has two instances, one answers every request with 503.
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var failing = await TestBackend.StartAsync("backend-v1-a", "v1");
        await using var healthy = await TestBackend.StartAsync("backend-v1-b", "v1");
        await using var v2 = await TestBackend.StartAsync("backend-v2-a", "v2");
        failing.Failing = true;
        ServeBackend(controlPlane, v1: [failing, healthy], v2: [v2]);
        await using var app = await StartAppAsync(controlPlane);

        // Act: every request must succeed (ItemsClient throws on a non-success status).
        var versions = await app.Items.CountVersionsAsync(40);

        // Assert: the failing instance was tried, so it is the retries that kept its 503s from the caller.
        Assert.Equal(40, versions.Values.Sum());
        Assert.True(failing.Requests > 0, "round robin never picked the failing instance, so the test proved nothing about retries");
    }

    [Fact]
    public async Task EndpointUpdate_FromControlPlane_MovesTraffic()
    {
        // Arrange
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var v1 = await TestBackend.StartAsync("backend-v1-a", "v1");
        await using var oldV2 = await TestBackend.StartAsync("backend-v2-a", "v2");
        await using var newV2 = await TestBackend.StartAsync("backend-v2-b", "v2");
        ServeBackend(controlPlane, v1: [v1], v2: [oldV2]);
        await using var app = await StartAppAsync(controlPlane);
        Assert.Equal(oldV2.Instance, (await app.Items.GetItemsAsync(canary: true)).Instance);

        // Act: the control plane replaces subset v2's endpoints, as istiod does when a pod is replaced.
        var version = controlPlane.SetResource(XdsResources.ClusterLoadAssignment(IstioNames.V2, newV2.Address));
        await controlPlane.WaitForAckAsync(XdsTypeUrls.ClusterLoadAssignment, version);

        // Assert: the client applies an update before it ACKs it, so every request from now on goes to the new endpoint.
        var servedBefore = oldV2.Requests;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(newV2.Instance, (await app.Items.GetItemsAsync(canary: true)).Instance);
        }

        Assert.Equal(servedBefore, oldV2.Requests);
    }

    [Fact]
    public async Task HttpClient_ServiceHostAndPort_SubscribesToListenerOfThatName()
    {
        // Arrange
        await using var controlPlane = await XdsTestServer.StartAsync();
        await using var v1 = await TestBackend.StartAsync("backend-v1-a", "v1");
        await using var v2 = await TestBackend.StartAsync("backend-v2-a", "v2");
        ServeBackend(controlPlane, v1: [v1], v2: [v2]);
        await using var app = await StartAppAsync(controlPlane);

        // Act
        await app.Items.GetItemsAsync();

        // Assert: http://backend.mesh-demo.svc.cluster.local:8080 asks for the Listener of that host and port,
        // then for what it names: the route table, and the clusters of the routes.
        var listeners = controlPlane.Clients.SelectMany(c => c.Requests).Where(r => r.TypeUrl == XdsTypeUrls.Listener).SelectMany(r => r.ResourceNames).Distinct();
        Assert.Equal([IstioNames.Listener], listeners);
        await controlPlane.WaitForRequestAsync(r => r.TypeUrl == XdsTypeUrls.RouteConfiguration && r.ResourceNames.Contains(IstioNames.RouteConfiguration));
        await controlPlane.WaitForRequestAsync(r => r.TypeUrl == XdsTypeUrls.Cluster && r.ResourceNames.Contains(IstioNames.V1) && r.ResourceNames.Contains(IstioNames.V2));
    }

    /// <summary>Serves the backend as istiod would: Listener → route table → one EDS cluster per subset.</summary>
    private static void ServeBackend(XdsTestServer controlPlane, TestBackend[] v1, TestBackend[] v2) =>
        controlPlane.Update(mesh => mesh
            .Set(XdsResources.Listener(IstioNames.Listener, IstioNames.RouteConfiguration))
            .Set(XdsResources.RouteConfiguration(IstioNames.RouteConfiguration, domain: IstioNames.Listener, VirtualServiceRoutes))
            .Set(XdsResources.Cluster(IstioNames.V1))
            .Set(XdsResources.Cluster(IstioNames.V2))
            .Set(XdsResources.ClusterLoadAssignment(IstioNames.V1, [.. v1.Select(b => b.Address)]))
            .Set(XdsResources.ClusterLoadAssignment(IstioNames.V2, [.. v2.Select(b => b.Address)])));

    /// <summary>The application as deployed by samples/kubernetes: <c>Backend__Address</c> names the Service.</summary>
    private static Task<ClientApp> StartAppAsync(XdsTestServer controlPlane) =>
        ClientApp.StartAsync(controlPlane, new Dictionary<string, string?> { ["Backend:Address"] = IstioNames.BaseAddress });
}
