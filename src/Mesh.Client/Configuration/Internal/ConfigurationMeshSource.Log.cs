using Microsoft.Extensions.Logging;

namespace Mesh.Client.Configuration.Internal;

internal sealed partial class ConfigurationMeshSource
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, EventName = "MeshConfigurationApplied",
            Message = "Mesh configuration version {Version} applied: {ServiceCount} services, {ClusterCount} clusters.")]
        public static partial void ConfigurationApplied(ILogger logger, string version, int serviceCount, int clusterCount);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, EventName = "MeshEmpty",
            Message = "AddMesh() found no mesh services and no control plane: configuration has no '{Path}:Services', and there is no xDS bootstrap " +
                "(GRPC_XDS_BOOTSTRAP, GRPC_XDS_BOOTSTRAP_CONFIG or {Path}:Xds:Bootstrap). HttpClient requests and xds:/// targets are not routed by the mesh until one is configured.")]
        public static partial void MeshEmpty(ILogger logger, string path);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, EventName = "MeshConfigurationReloadRejected",
            Message = "Mesh configuration reload rejected; the last good configuration stays in force. {Problems}")]
        public static partial void ReloadRejected(ILogger logger, string problems);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Error, EventName = "MeshConfigurationReloadFailed",
            Message = "Mesh configuration reload failed; the last good configuration stays in force.")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);
    }
}
