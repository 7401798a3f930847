using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

internal sealed partial class MeshGrpcInterceptor
{
    internal static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, EventName = "MeshGrpcRetry",
            Message = "xds:///{Target} {Method}: attempt {Attempt} failed with {Status}; retrying.")]
        public static partial void Retrying(ILogger logger, string target, string method, int attempt, StatusCode status);
    }
}
