using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

internal sealed partial class MeshResolver
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, EventName = "MeshTargetResolved",
            Message = "xds:///{Target} resolved to {AddressCount} endpoint addresses (configuration version {Version}).")]
        public static partial void Resolved(ILogger logger, string target, int addressCount, string version);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, EventName = "MeshTargetNotConfigured",
            Message = "xds:///{Target} has no configuration: {Reason}")]
        public static partial void NotConfigured(ILogger logger, string target, string reason);
    }
}
