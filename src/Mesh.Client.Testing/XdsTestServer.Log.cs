using Microsoft.Extensions.Logging;

namespace Mesh.Client.Testing;

public sealed partial class XdsTestServer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Information, EventName = "XdsTestServerStarted",
            Message = "xDS test server listening on {ServerUri}.")]
        public static partial void Started(ILogger logger, string serverUri);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Information, EventName = "XdsTestServerStopped",
            Message = "xDS test server on {ServerUri} stopped.")]
        public static partial void Stopped(ILogger logger, string serverUri);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, EventName = "XdsTestServerPortBusy",
            Message = "Port {Port} is not free yet; binding it again shortly.")]
        public static partial void PortBusy(ILogger logger, int port);
    }
}
