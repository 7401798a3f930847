using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the mesh's health check.</summary>
public static class MeshHealthCheckBuilderExtensions
{
    /// <summary>
    /// Adds the <c>mesh</c> health check (requires <c>AddMesh()</c>). It is <see cref="HealthStatus.Healthy"/> while the
    /// control plane works and every name asked of it is configured, or when appsettings.json configures the mesh
    /// without a control plane; <see cref="HealthStatus.Degraded"/> while the control plane is unreachable and its
    /// cached configuration is served (saying since when and the last error); and <paramref name="failureStatus"/>
    /// when a name asked of the control plane has no configuration (it does not exist, nothing arrived within
    /// <c>Mesh:Xds:ConfigWaitTimeout</c>, or what arrived was rejected with nothing cached), naming each such name.
    /// The result's data holds the server, whether it is connected, the watched names and their state, the ACKed
    /// versions and the resources by cache state.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported for names without configuration; <see cref="HealthStatus.Unhealthy"/> when <see langword="null"/>.</param>
    /// <param name="tags">Tags for filtering checks (e.g. <c>ready</c>).</param>
    /// <param name="timeout">How long the check may take; none when <see langword="null"/>.</param>
    /// <returns>The health checks builder.</returns>
    public static IHealthChecksBuilder AddMeshHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "mesh",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            // Without AddMesh() the check reports why rather than failing the whole health report.
            services => services.GetService<MeshHealthCheck>() ?? (IHealthCheck)new MeshNotAddedHealthCheck(),
            failureStatus,
            tags,
            timeout));
    }

    private sealed class MeshNotAddedHealthCheck : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(new HealthCheckResult(
                context.Registration.FailureStatus,
                $"The '{context.Registration.Name}' health check needs the mesh: call services.AddMesh() as well as AddMeshHealthCheck()."));
    }
}
