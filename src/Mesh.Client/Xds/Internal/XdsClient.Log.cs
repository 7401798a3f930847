using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

internal sealed partial class XdsClient
{
    // Event ids: 2001-2099 the xDS client, 2101-2199 the xDS mesh source (names and targets). Messages name
    // resources, versions, servers and files; never key material, which the client never holds as text.
    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Information, EventName = "XdsAck",
            Message = "xDS {Type} version {Version} accepted ({Count} resources).")]
        public static partial void Acked(ILogger logger, string type, string version, int count);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, EventName = "XdsNack",
            Message = "xDS {Type} version {Version} rejected ({Invalid} of {Count} resources invalid); version {KeptVersion} stays in force for them. Reasons: {Reasons}")]
        public static partial void Nacked(ILogger logger, string type, string version, int invalid, int count, string keptVersion, string reasons);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, EventName = "XdsStreamStarted",
            Message = "ADS stream to {Server} opened.")]
        public static partial void StreamStarted(ILogger logger, string server);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Information, EventName = "XdsConnected",
            Message = "Connected to xDS server {Server}.")]
        public static partial void Connected(ILogger logger, string server);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, EventName = "XdsStreamFailed",
            Message = "ADS stream to xDS server {Server} failed: {Reason}. Serving the cached configuration ({Cached} resources); reconnecting {Retry}.")]
        public static partial void StreamFailed(ILogger logger, string server, string reason, int cached, string retry);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, EventName = "XdsSubscribe",
            Message = "xDS {Type} subscribe '{Name}'.")]
        public static partial void Subscribing(ILogger logger, string type, string name);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, EventName = "XdsUnsubscribe",
            Message = "xDS {Type} unsubscribe '{Name}'.")]
        public static partial void Unsubscribing(ILogger logger, string type, string name);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Information, EventName = "XdsDoesNotExist",
            Message = "xDS {Type} resource '{Name}' does not exist.")]
        public static partial void DoesNotExist(ILogger logger, string type, string name);

        [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, EventName = "XdsDeletionIgnored",
            Message = "xDS {Type} resource '{Name}' was dropped by the server; kept because the server set ignore_resource_deletion.")]
        public static partial void DeletionIgnored(ILogger logger, string type, string name);

        [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, EventName = "XdsUnknownType",
            Message = "xDS response of unrequested type {TypeUrl} ignored.")]
        public static partial void UnknownType(ILogger logger, string typeUrl);

        [LoggerMessage(EventId = 2011, Level = LogLevel.Error, EventName = "XdsInternalError",
            Message = "xDS client: unexpected error while processing.")]
        public static partial void SerializerError(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2012, Level = LogLevel.Information, EventName = "XdsStreamClosed",
            Message = "xDS server {Server} closed the ADS stream after it had worked; reopening it at once.")]
        public static partial void StreamClosed(ILogger logger, string server);

        [LoggerMessage(EventId = 2013, Level = LogLevel.Information, EventName = "XdsReconnected",
            Message = "ADS stream to xDS server {Server} re-established after {Downtime}; updates flow again.")]
        public static partial void Reconnected(ILogger logger, string server, string downtime);
    }
}
