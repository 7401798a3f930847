using Microsoft.Extensions.Logging;

namespace Mesh.Client.Testing.Internal;

internal sealed partial class AdsService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9201, Level = LogLevel.Debug, EventName = "XdsTestReadFailed",
            Message = "ADS stream {StreamId}: reading the next request failed: {Error}")]
        public static partial void ReadFailed(ILogger logger, int streamId, string error);

        [LoggerMessage(EventId = 9202, Level = LogLevel.Debug, EventName = "XdsTestWriteFailed",
            Message = "ADS stream {StreamId}: sending a response failed: {Error}")]
        public static partial void WriteFailed(ILogger logger, int streamId, string error);
    }
}
