using System.Diagnostics.Metrics;
using Mesh.Client.Grpc;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Telemetry;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds.Internal;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>The xDS client's gRFC A78 metrics and its ACK, NACK and connection logs, over a real ADS stream.</summary>
public class XdsClientMetricsTests
{
    private const string ListenerType = "envoy.config.listener.v3.Listener";
    private const string RouteType = "envoy.config.route.v3.RouteConfiguration";
    private const string ClusterType = "envoy.config.cluster.v3.Cluster";
    private const string EndpointType = "envoy.config.endpoint.v3.ClusterLoadAssignment";

    [Fact]
    public async Task ResourceUpdates_AckThenNack_CountedValidAndInvalidWithA78Labels()
    {
        // Arrange
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        using var valid = Collector(mesh, "grpc.xds_client.resource_updates_valid");
        using var invalid = Collector(mesh, "grpc.xds_client.resource_updates_invalid");
        var versions = mesh.SetService("catalog", "catalog-cluster", 0);

        // Act: configuration for one name (one resource of each type), ACKed.
        await CallAsync(mesh, "catalog");
        foreach (var (type, version) in versions)
        {
            await mesh.Server.WaitForAckAsync(type, version);
        }

        // Assert: one valid resource of each type, labelled with the client's target, the server and the type.
        foreach (var type in new[] { ListenerType, RouteType, ClusterType, EndpointType })
        {
            var measurements = valid.GetMeasurementSnapshot().Where(m => Equals(m.Tags["grpc.xds.resource_type"], type)).ToList();
            Assert.NotEmpty(measurements);
            Assert.All(measurements, m =>
            {
                Assert.Equal("#mesh", m.Tags["grpc.target"]);
                Assert.Equal(mesh.Server.ServerUri, m.Tags["grpc.xds.server"]);
                Assert.Equal(3, m.Tags.Count);
            });
        }

        Assert.Empty(invalid.GetMeasurementSnapshot());

        // Act: a cluster the client rejects.
        var validClustersBefore = Sum(valid, ClusterType);
        var bad = mesh.Server.SetResource(TestingTypeUrls.Cluster, "catalog-cluster", StaticCluster("catalog-cluster"));
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        // Assert: one invalid Cluster, nothing more counted valid for clusters.
        var nacked = Assert.Single(invalid.GetMeasurementSnapshot());
        Assert.Equal(1, nacked.Value);
        Assert.Equal("#mesh", nacked.Tags["grpc.target"]);
        Assert.Equal(mesh.Server.ServerUri, nacked.Tags["grpc.xds.server"]);
        Assert.Equal(ClusterType, nacked.Tags["grpc.xds.resource_type"]);
        Assert.Equal(validClustersBefore, Sum(valid, ClusterType));
    }

    [Fact]
    public async Task Connected_ServerStopsAndReturns_GaugeGoesOneZeroOne_AndOneServerFailureIsCounted()
    {
        // Arrange
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        using var connected = Collector(mesh, "grpc.xds_client.connected");
        using var failures = Collector(mesh, "grpc.xds_client.server_failure");
        mesh.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh, "catalog");
        Assert.Equal(1, Connected(connected, mesh));

        // Act: the control plane goes away.
        await mesh.Server.StopAsync();

        // Assert: the gauge drops to 0 once a reconnection fails, and the failure is counted with its labels.
        await Wait.UntilAsync(() => Connected(connected, mesh) == 0, "the connected gauge to drop to 0");
        var failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(1, failure.Value);
        Assert.Equal("#mesh", failure.Tags["grpc.target"]);
        Assert.Equal(mesh.Server.ServerUri, failure.Tags["grpc.xds.server"]);
        Assert.Contains(mesh.Host.Logs.GetSnapshot(), r => r.Id.Id == 2005 && r.Level == LogLevel.Warning && r.Message.Contains(mesh.Server.ServerUri, StringComparison.Ordinal));

        // Act: it comes back.
        await mesh.Server.RestartAsync();

        // Assert: 1 again; the failed retries in between were one failure, not one each; recovery logged.
        await Wait.UntilAsync(() => Connected(connected, mesh) == 1, "the connected gauge to return to 1");
        Assert.Equal(1, failures.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(mesh.Host.Logs.GetSnapshot(), r => r.Id.Id == 2013 && r.Level == LogLevel.Information && r.Message.Contains("re-established", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DroppedStream_ReopenedAtOnce_IsNoServerFailure()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        using var connected = Collector(mesh, "grpc.xds_client.connected");
        using var failures = Collector(mesh, "grpc.xds_client.server_failure");
        mesh.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh, "catalog");

        Assert.Equal(1, mesh.Server.DropStreams());

        // A stream that had responses is reopened at once and is not a failure (gRFC A57).
        await Wait.UntilAsync(() => mesh.Host.Logs.GetSnapshot().Any(r => r.Id.Id == 2013), "the second stream to get a response");
        Assert.Equal(1, Connected(connected, mesh));
        Assert.Empty(failures.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Resources_GaugeCountsEveryCacheState()
    {
        // Arrange: the does-not-exist timer runs on an injected clock.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: services => services.AddSingleton<TimeProvider>(time));
        using var resources = Collector(mesh, "grpc.xds_client.resources");
        mesh.SetService("catalog", "catalog-cluster", 0);
        mesh.Server.SetResource(TestingTypeUrls.Listener, "broken", Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Config.Listener.V3.Listener { Name = "broken" }));
        var discovery = mesh.Services.GetRequiredService<MeshRuntime>().Discovery!;

        // Act: one name configured, one never served, one rejected with nothing cached, then a cached one rejected.
        await CallAsync(mesh, "catalog");
        discovery.Watch("inventory");
        discovery.Watch("broken");
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Listener && r.ResourceNames.Contains("inventory") && r.ResourceNames.Contains("broken"));
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Listener);
        await Wait.UntilAsync(() => Gauge(resources, ListenerType, "requested") == 1, "'inventory' to be requested");
        time.Advance(XdsClient.DoesNotExistTimeout);
        var bad = mesh.Server.SetResource(TestingTypeUrls.Cluster, "catalog-cluster", StaticCluster("catalog-cluster"));
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        // Assert
        await Wait.UntilAsync(() => Gauge(resources, ListenerType, "does_not_exist") == 1, "'inventory' not to exist");
        Assert.Equal(1, Gauge(resources, ListenerType, "acked"));
        Assert.Equal(1, Gauge(resources, ListenerType, "nacked"));
        Assert.Equal(0, Gauge(resources, ListenerType, "requested"));
        Assert.Equal(1, Gauge(resources, RouteType, "acked"));
        Assert.Equal(1, Gauge(resources, ClusterType, "nacked_but_cached"));
        Assert.Equal(0, Gauge(resources, ClusterType, "acked"));
        Assert.Equal(1, Gauge(resources, EndpointType, "acked"));
        Assert.All(resources.GetMeasurementSnapshot(), m =>
        {
            Assert.Equal("#mesh", m.Tags["grpc.target"]);
            Assert.Equal("#old", m.Tags["grpc.xds.authority"]);
            Assert.False(m.Tags.ContainsKey("grpc.xds.server"));
        });
    }

    [Fact]
    public async Task Logs_AckIsInformationWithVersionAndCount_NackIsWarningWithBothVersionsAndTheReason()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1);
        var versions = mesh.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh, "catalog");
        var good = versions[TestingTypeUrls.Cluster];
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.Cluster, good);

        var bad = mesh.Server.SetResource(TestingTypeUrls.Cluster, "catalog-cluster", StaticCluster("catalog-cluster"));
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);
        await Wait.UntilAsync(() => mesh.Host.Logs.GetSnapshot().Any(r => r.Id.Id == 2002), "the NACK to be logged");

        var logs = mesh.Host.Logs.GetSnapshot();
        var ack = logs.First(r => r.Id.Id == 2001 && r.Message.Contains($"CDS version {good} accepted", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, ack.Level);
        Assert.Contains("(1 resources)", ack.Message, StringComparison.Ordinal);
        var nack = Assert.Single(logs, r => r.Id.Id == 2002);
        Assert.Equal(LogLevel.Warning, nack.Level);
        Assert.Contains($"CDS version {bad} rejected", nack.Message, StringComparison.Ordinal);
        Assert.Contains($"version {good} stays in force", nack.Message, StringComparison.Ordinal);
        Assert.Contains("resource 'catalog-cluster'", nack.Message, StringComparison.Ordinal);
        Assert.Contains("STATIC", nack.Message, StringComparison.Ordinal);
        Assert.Equal(bad, nack.GetStructuredStateValue("Version"));
        Assert.Equal(good, nack.GetStructuredStateValue("KeptVersion"));
    }

    private static MetricCollector<long> Collector(XdsMesh mesh, string instrument) =>
        new(mesh.Services.GetRequiredService<IMeterFactory>(), MeshTelemetry.Name, instrument);

    private static async Task CallAsync(XdsMesh mesh, string target)
    {
        using var channel = MeshGrpc.CreateChannel("xds:///" + target, mesh.Services);
        await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(15));
    }

    private static long Sum(MetricCollector<long> collector, string type) =>
        collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags["grpc.xds.resource_type"], type)).Sum(m => m.Value);

    /// <summary>The connected gauge of the test's server, observed now.</summary>
    private static long Connected(MetricCollector<long> collector, XdsMesh mesh)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        var measurement = Assert.Single(collector.GetMeasurementSnapshot());
        Assert.Equal("#mesh", measurement.Tags["grpc.target"]);
        Assert.Equal(mesh.Server.ServerUri, measurement.Tags["grpc.xds.server"]);
        return measurement.Value;
    }

    /// <summary>The resources gauge for one type and cache state, observed now (0 when absent).</summary>
    private static long Gauge(MetricCollector<long> collector, string type, string state)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags["grpc.xds.resource_type"], type) && Equals(m.Tags["grpc.xds.cache_state"], state))
            .Sum(m => m.Value);
    }

    private static Google.Protobuf.WellKnownTypes.Any StaticCluster(string name) =>
        Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Config.Cluster.V3.Cluster
        {
            Name = name,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Static,
        });
}
