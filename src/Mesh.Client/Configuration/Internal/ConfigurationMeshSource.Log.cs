using Microsoft.Extensions.Logging;

namespace Mesh.Client.Configuration.Internal;

internal sealed partial class ConfigurationMeshSource
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, EventName = "MeshConfigurationApplied",
            Message = "Mesh configuration version {Version} applied: {ServiceCount} services, {ClusterCount} clusters.")]
        public static partial void ConfigurationApplied(ILogger logger, string version, int serviceCount, int clusterCount);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, EventName = "MeshConfigurationReloadRejected",
            Message = "Mesh configuration reload rejected; the last good configuration stays in force. {Problems}")]
        public static partial void ReloadRejected(ILogger logger, string problems);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Error, EventName = "MeshConfigurationReloadFailed",
            Message = "Mesh configuration reload failed; the last good configuration stays in force.")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);
    }
}
