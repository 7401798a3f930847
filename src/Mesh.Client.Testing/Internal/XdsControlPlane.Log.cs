using Microsoft.Extensions.Logging;

namespace Mesh.Client.Testing.Internal;

internal sealed partial class XdsControlPlane
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9101, Level = LogLevel.Debug, EventName = "XdsTestStreamOpened",
            Message = "ADS stream {StreamId} opened by {Peer}.")]
        public static partial void StreamOpened(ILogger logger, int streamId, string peer);

        [LoggerMessage(EventId = 9102, Level = LogLevel.Debug, EventName = "XdsTestStreamClosed",
            Message = "ADS stream {StreamId} closed.")]
        public static partial void StreamClosed(ILogger logger, int streamId);

        [LoggerMessage(EventId = 9103, Level = LogLevel.Information, EventName = "XdsTestStreamDropped",
            Message = "ADS stream {StreamId} dropped by the test server.")]
        public static partial void StreamDropped(ILogger logger, int streamId);

        [LoggerMessage(EventId = 9104, Level = LogLevel.Debug, EventName = "XdsTestRequestReceived",
            Message = "ADS stream {StreamId}: {Kind} for {TypeUrl}, version '{Version}', nonce '{Nonce}', {NameCount} resource name(s).")]
        public static partial void RequestReceived(ILogger logger, int streamId, XdsRequestKind kind, string typeUrl, string version, string nonce, int nameCount);

        [LoggerMessage(EventId = 9105, Level = LogLevel.Information, EventName = "XdsTestNackReceived",
            Message = "ADS stream {StreamId}: NACK for {TypeUrl} version {Version}: {Error}")]
        public static partial void NackReceived(ILogger logger, int streamId, string typeUrl, string version, string error);

        [LoggerMessage(EventId = 9106, Level = LogLevel.Debug, EventName = "XdsTestResponseQueued",
            Message = "ADS stream {StreamId}: sending {TypeUrl} version {Version}, nonce {Nonce}, {ResourceCount} resource(s).")]
        public static partial void ResponseQueued(ILogger logger, int streamId, string typeUrl, string version, string nonce, int resourceCount);

        [LoggerMessage(EventId = 9107, Level = LogLevel.Debug, EventName = "XdsTestVersionChanged",
            Message = "{TypeUrl} is now version {Version} with {ResourceCount} resource(s).")]
        public static partial void VersionChanged(ILogger logger, string typeUrl, string version, int resourceCount);
    }
}
