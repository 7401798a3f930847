using Mesh.Client.Configuration;
using Mesh.Client.Grpc;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Client.Xds.Internal;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>The <c>mesh</c> health check, through <see cref="HealthCheckService"/>, against a real control plane.</summary>
public class MeshHealthCheckTests
{
    [Fact]
    public async Task CheckHealth_ConnectedWithConfig_HealthyThenDegradedWhileServerIsDownThenHealthyAgain()
    {
        // Arrange
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: AddHealthCheck);
        var versions = mesh.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh.Services, "catalog");
        await mesh.Server.WaitForAckAsync(TestingTypeUrls.ClusterLoadAssignment, versions[TestingTypeUrls.ClusterLoadAssignment]);

        // Act / Assert: connected, the name configured.
        var healthy = await WaitForStatusAsync(mesh.Services, HealthStatus.Healthy);
        Assert.Contains($"Connected to xDS server {mesh.Server.ServerUri}", healthy.Description, StringComparison.Ordinal);
        Assert.Equal(mesh.Server.ServerUri, healthy.Data["server"]);
        Assert.Equal(true, healthy.Data["connected"]);
        Assert.Equal("configured", Assert.IsAssignableFrom<IReadOnlyDictionary<string, string>>(healthy.Data["watched"])["catalog"]);
        var ackedVersions = Assert.IsAssignableFrom<IReadOnlyDictionary<string, string>>(healthy.Data["versions"]);
        Assert.Equal(versions[TestingTypeUrls.Listener], ackedVersions["LDS"]);
        Assert.Equal(versions[TestingTypeUrls.ClusterLoadAssignment], ackedVersions["EDS"]);
        Assert.Equal(4, Assert.IsAssignableFrom<IReadOnlyDictionary<string, int>>(healthy.Data["resources"])["acked"]);

        // Act: the control plane goes away.
        await mesh.Server.StopAsync();

        // Assert: the cached configuration is served; the check says since when and why.
        var degraded = await WaitForStatusAsync(mesh.Services, HealthStatus.Degraded);
        Assert.Contains($"xDS server {mesh.Server.ServerUri} unreachable since", degraded.Description, StringComparison.Ordinal);
        Assert.Contains("serving the cached configuration: 1 names configured", degraded.Description, StringComparison.Ordinal);
        Assert.Equal(false, degraded.Data["connected"]);
        Assert.True(DateTimeOffset.TryParse((string)degraded.Data["disconnected_since"], System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Contains($"xDS server {mesh.Server.ServerUri}", (string)degraded.Data["last_error"], StringComparison.Ordinal);
        Assert.Contains((string)degraded.Data["last_error"], degraded.Description, StringComparison.Ordinal);

        // Act: it comes back.
        await mesh.Server.RestartAsync();

        // Assert
        var again = await WaitForStatusAsync(mesh.Services, HealthStatus.Healthy);
        Assert.Equal(true, again.Data["connected"]);
        Assert.False(again.Data.ContainsKey("disconnected_since"));
    }

    [Fact]
    public async Task CheckHealth_NameTheServerSaysDoesNotExist_UnhealthyNamingIt()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: services => AddHealthCheck(services.AddSingleton<TimeProvider>(time)));
        mesh.SetService("catalog", "catalog-cluster", 0);
        await CallAsync(mesh.Services, "catalog");

        // A name the server never sends is taken not to exist when its timer runs out.
        Discovery(mesh.Services).Watch("inventory");
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Listener && r.ResourceNames.Contains("inventory"));
        time.Advance(XdsClient.DoesNotExistTimeout);

        var report = await WaitForStatusAsync(mesh.Services, HealthStatus.Unhealthy);
        Assert.Contains("'inventory': the control plane says it does not exist", report.Description, StringComparison.Ordinal);
        Assert.Contains("listener 'inventory' does not exist", report.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("'catalog'", report.Description, StringComparison.Ordinal);
        var watched = Assert.IsAssignableFrom<IReadOnlyDictionary<string, string>>(report.Data["watched"]);
        Assert.Equal("configured", watched["catalog"]);
        Assert.StartsWith("does_not_exist", watched["inventory"], StringComparison.Ordinal);
        Assert.Equal(true, report.Data["connected"]);
    }

    [Fact]
    public async Task CheckHealth_NothingArrivesWithinTheWaitTimeout_UnhealthyNamingIt()
    {
        // The wait timeout (1 s) runs out long before the does-not-exist timer (15 s).
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await XdsMesh.StartAsync(
            backends: 1,
            configure: services => AddHealthCheck(services
                .AddSingleton<TimeProvider>(time)
                .Configure<MeshOptions>(o => o.Xds.ConfigWaitTimeout = TimeSpan.FromSeconds(1))));
        Discovery(mesh.Services).Watch("slow");
        await mesh.Server.WaitForRequestAsync(r => r.TypeUrl == TestingTypeUrls.Listener && r.ResourceNames.Contains("slow"));

        // Not yet: a name may wait for its configuration that long.
        var waiting = await CheckAsync(mesh.Services);
        Assert.Equal(HealthStatus.Healthy, waiting.Status);
        Assert.Contains("1 waiting for configuration", waiting.Description, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(2));

        var report = await CheckAsync(mesh.Services);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("'slow': no configuration arrived within 1 s", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealth_RejectedListenerWithNothingCached_UnhealthyWithTheReason()
    {
        await using var mesh = await XdsMesh.StartAsync(backends: 1, configure: AddHealthCheck);
        var bad = mesh.Server.SetResource(TestingTypeUrls.Listener, "broken", Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Config.Listener.V3.Listener { Name = "broken" }));
        Discovery(mesh.Services).Watch("broken");
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Listener, bad);

        var report = await WaitForStatusAsync(mesh.Services, HealthStatus.Unhealthy);
        Assert.Contains($"'broken': xDS server {mesh.Server.ServerUri}: LDS resource 'broken' version {bad} rejected", report.Description, StringComparison.Ordinal);
        Assert.Contains("LDS 'broken'", Assert.IsAssignableFrom<IReadOnlyDictionary<string, string>>(report.Data["rejected"]).Keys);
        Assert.Equal(1, Assert.IsAssignableFrom<IReadOnlyDictionary<string, int>>(report.Data["resources"])["nacked"]);
    }

    [Fact]
    public async Task CheckHealth_RegisteredWithDegradedFailureStatus_ReportsMissingNamesAsDegraded()
    {
        await using var mesh = await XdsMesh.StartAsync(
            backends: 1,
            configure: services => services.AddHealthChecks().AddMeshHealthCheck("mesh-ready", failureStatus: HealthStatus.Degraded, tags: ["ready"]));
        var bad = mesh.Server.SetResource(TestingTypeUrls.Listener, "broken", Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Config.Listener.V3.Listener { Name = "broken" }));
        Discovery(mesh.Services).Watch("broken");
        await mesh.Server.WaitForNackAsync(TestingTypeUrls.Listener, bad);

        var report = await WaitForStatusAsync(mesh.Services, HealthStatus.Degraded, "mesh-ready");
        Assert.Contains("'broken'", report.Description, StringComparison.Ordinal);
        Assert.Contains("ready", report.Tags);
    }

    [Fact]
    public async Task CheckHealth_AppSettingsWithoutControlPlane_Healthy()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var host = await MeshHost.StartAsync(
            $$"""{ "Mesh": { "Services": { "catalog": { "Endpoints": {{backends.EndpointsJson()}} } } } }""",
            AddHealthCheck);

        var report = await CheckAsync(host.Services);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Contains("No control plane; 1 services configured from appsettings.json", report.Description, StringComparison.Ordinal);
        Assert.Equal(false, report.Data["connected"]);
        Assert.Equal("appsettings", report.Data["source"]);
        Assert.Equal(1, report.Data["services"]);
    }

    [Fact]
    public async Task AddMeshHealthCheck_WithoutAddMesh_FailsNamingAddMesh()
    {
        await using var services = new ServiceCollection().AddLogging().AddHealthChecks().AddMeshHealthCheck().Services.BuildServiceProvider();

        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["mesh"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("call services.AddMesh()", entry.Description, StringComparison.Ordinal);
    }

    private static void AddHealthCheck(IServiceCollection services) => services.AddHealthChecks().AddMeshHealthCheck();

    private static IMeshDiscovery Discovery(IServiceProvider services) => services.GetRequiredService<MeshRuntime>().Discovery!;

    private static async Task CallAsync(IServiceProvider services, string target)
    {
        using var channel = MeshGrpc.CreateChannel("xds:///" + target, services);
        await new Echo.EchoClient(channel).HelloAsync(new HelloRequest(), deadline: DateTime.UtcNow.AddSeconds(15));
    }

    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider services, string name = "mesh")
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == name);
        return report.Entries[name];
    }

    private static async Task<HealthReportEntry> WaitForStatusAsync(IServiceProvider services, HealthStatus status, string name = "mesh")
    {
        HealthReportEntry entry = default;
        try
        {
            await Wait.UntilAsync(async () => (entry = await CheckAsync(services, name)).Status == status, $"the '{name}' check to be {status}");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last: {entry.Status}: {entry.Description}", ex);
        }

        return entry;
    }
}
