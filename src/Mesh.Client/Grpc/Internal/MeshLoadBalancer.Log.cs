using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

internal sealed partial class MeshLoadBalancer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, EventName = "MeshBalancerUpdated",
            Message = "Mesh balancer for '{Service}' updated to configuration {Version}: {Created} subchannels created, {Removed} removed.")]
        public static partial void Updated(ILogger logger, string service, string version, int created, int removed);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, EventName = "MeshResolverError",
            Message = "Mesh target has no configuration; calls fail: {Detail}")]
        public static partial void ResolverError(ILogger logger, string detail);
    }
}
