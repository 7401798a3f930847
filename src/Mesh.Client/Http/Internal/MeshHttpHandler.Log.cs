using Microsoft.Extensions.Logging;

namespace Mesh.Client.Http.Internal;

internal sealed partial class MeshHttpHandler
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Trace, EventName = "MeshEndpointPicked",
            Message = "Mesh service '{Service}': cluster '{Cluster}', endpoint {Endpoint}.")]
        public static partial void Picked(ILogger logger, string service, string cluster, string endpoint);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, EventName = "MeshNoRoute",
            Message = "Mesh service '{Service}': no route matches path '{Path}'.")]
        public static partial void NoRoute(ILogger logger, string service, string path);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, EventName = "MeshNoEndpoints",
            Message = "Mesh service '{Service}': cluster '{Cluster}' has no healthy endpoint.")]
        public static partial void NoEndpoints(ILogger logger, string service, string cluster);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, EventName = "MeshFaultDelay",
            Message = "Mesh service '{Service}': fault injection delays the request by {DelayMs} ms.")]
        public static partial void FaultDelay(ILogger logger, string service, double delayMs);

        [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, EventName = "MeshFaultAbort",
            Message = "Mesh service '{Service}': fault injection aborts the request with status {Status}.")]
        public static partial void FaultAbort(ILogger logger, string service, int status);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, EventName = "MeshCircuitBreakerOpen",
            Message = "Mesh service '{Service}': cluster '{Cluster}' is at its limit of {MaxRequests} requests in flight; request refused.")]
        public static partial void CircuitBreakerOpen(ILogger logger, string service, string cluster, uint maxRequests);
    }
}
