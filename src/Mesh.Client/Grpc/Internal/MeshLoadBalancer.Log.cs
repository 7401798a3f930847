using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

internal sealed partial class MeshLoadBalancer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, EventName = "MeshBalancerUpdated",
            Message = "Mesh balancer for '{Service}' updated to configuration {Version}: {Created} subchannels created, {Removed} removed.")]
        public static partial void Updated(ILogger logger, string service, string version, int created, int removed);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, EventName = "MeshResolverErrorIgnored",
            Message = "Mesh resolver error ignored; the configuration in force stays: {Detail}")]
        public static partial void ResolverErrorIgnored(ILogger logger, string detail);
    }
}
