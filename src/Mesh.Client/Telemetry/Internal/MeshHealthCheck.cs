using System.Globalization;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// The <c>mesh</c> health check. Healthy: the control plane works and every name asked of it has its configuration
/// (or there is no control plane, and appsettings.json configured the mesh: an invalid configuration stops start-up
/// and an invalid reload keeps the last good one, so that mode is always healthy). Degraded: the control plane is
/// unreachable and the cached configuration is served. Unhealthy (the registration's failure status): a name asked
/// of the control plane has no configuration — it does not exist, nothing arrived within the wait timeout, or what
/// arrived was rejected with nothing cached — or some of its routes or clusters fail.
/// </summary>
internal sealed class MeshHealthCheck(MeshRuntime runtime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var table = runtime.Current;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["source"] = table.Snapshot.Source,
            ["version"] = table.Snapshot.Version,
            ["services"] = table.Services.Count,
        };
        if (runtime.Xds is not { } xds)
        {
            data["connected"] = false;
            return HealthCheckResult.Healthy(
                string.Create(CultureInfo.InvariantCulture, $"No control plane; {table.Services.Count} services configured from appsettings.json (version {table.Snapshot.Version})."),
                data);
        }

        var status = xds.Client.Status;
        var targets = await xds.GetTargetsAsync(cancellationToken).ConfigureAwait(false);
        var now = runtime.Time.GetUtcNow();

        var watched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var configured = 0;
        var waiting = 0;
        foreach (var target in targets.OrderBy(t => t.Name, StringComparer.OrdinalIgnoreCase))
        {
            var problem = Problem(target, table, xds.ConfigWaitTimeout, now);
            watched[target.Name] = problem is null ? Label(target.State) : $"{Label(target.State)}: {problem}";
            if (problem is not null)
            {
                problems.Add($"'{target.Name}': {problem}");
            }
            else if (target.State == XdsTargetState.Waiting)
            {
                waiting++;
            }
            else
            {
                configured++;
            }
        }

        data["server"] = status.Server;
        data["connected"] = status.StreamConnected;
        data["watched"] = watched;
        data["versions"] = status.Versions;
        data["resources"] = status.ResourceCounts
            .GroupBy(c => MeshMetrics.XdsCacheStateLabel(c.State), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(c => c.Count), StringComparer.Ordinal);
        if (status.ConnectedSince is { } connectedSince)
        {
            data["connected_since"] = Format(connectedSince);
        }

        if (!status.Working && (status.LostAt ?? status.LastErrorAt) is { } lostAt)
        {
            data["disconnected_since"] = Format(lostAt);
        }

        if (status.LastError is { } lastError)
        {
            data["last_error"] = lastError;
            data["last_error_at"] = Format(status.LastErrorAt!.Value);
        }

        if (status.Rejected.Count > 0)
        {
            data["rejected"] = status.Rejected;
        }

        var controlPlane = status.Working
            ? (status.StreamConnected ? $"Connected to xDS server {status.Server}" : $"Connecting to xDS server {status.Server}")
            : $"xDS server {status.Server} unreachable since {Format(status.LostAt ?? status.LastErrorAt ?? now)} ({status.LastError})";
        if (problems.Count > 0)
        {
            return new HealthCheckResult(
                context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy,
                $"Names without configuration: {string.Join("; ", problems)}. Control plane: {controlPlane}.",
                exception: null,
                data);
        }

        var names = string.Create(CultureInfo.InvariantCulture, $"{configured} names configured") +
            (waiting > 0 ? string.Create(CultureInfo.InvariantCulture, $", {waiting} waiting for configuration") : string.Empty) +
            (status.Rejected.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $", {status.Rejected.Count} resources rejected (their cached versions stay in force)") : string.Empty);
        return status.Working
            ? HealthCheckResult.Healthy($"{controlPlane}; {names}.", data)
            : HealthCheckResult.Degraded($"{controlPlane}; serving the cached configuration: {names}.", data: data);
    }

    /// <summary>Why a watched name counts against health, or <see langword="null"/> when it does not.</summary>
    private static string? Problem(XdsTargetStatus target, MeshTable table, TimeSpan waitTimeout, DateTimeOffset now)
    {
        // A name that appsettings.json configures is served whatever the control plane says.
        if (target.State is not (XdsTargetState.Configured or XdsTargetState.PartlyFailed) && table.Services.ContainsKey(target.Name))
        {
            return null;
        }

        return target.State switch
        {
            XdsTargetState.DoesNotExist => $"the control plane says it does not exist ({target.Reason})",
            XdsTargetState.Failed or XdsTargetState.PartlyFailed => target.Reason,
            XdsTargetState.Waiting when target.WatchedAt is { } since && now - since >= waitTimeout =>
                string.Create(CultureInfo.InvariantCulture, $"no configuration arrived within {waitTimeout.TotalSeconds:0.###} s (waiting since {Format(since)})"),
            _ => null,
        };
    }

    private static string Label(XdsTargetState state) => state switch
    {
        XdsTargetState.Configured => "configured",
        XdsTargetState.PartlyFailed => "partly_failed",
        XdsTargetState.Waiting => "waiting",
        XdsTargetState.DoesNotExist => "does_not_exist",
        _ => "failed",
    };

    private static string Format(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);
}
