using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

internal sealed partial class XdsMeshSource
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, EventName = "XdsTargetWatch",
            Message = "Looking up '{Target}' through the control plane (Listener '{Listener}').")]
        public static partial void Watching(ILogger logger, string target, string listener);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Information, EventName = "XdsTargetReady",
            Message = "'{Target}' configured from xDS: {ClusterCount} clusters (mesh version {Version}).")]
        public static partial void TargetReady(ILogger logger, string target, int clusterCount, string version);

        [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, EventName = "XdsTargetFailed",
            Message = "'{Target}' has no configuration: {Reason}")]
        public static partial void TargetFailed(ILogger logger, string target, string reason);
    }
}
