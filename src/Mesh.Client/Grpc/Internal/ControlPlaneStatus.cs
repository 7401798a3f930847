using Grpc.Core;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// gRFC A54: a status the mesh's resolver or picker fails a call with must not carry a code that is
/// reserved for applications; such a status becomes INTERNAL, with the original code and message kept in
/// the message so that nothing is lost.
/// </summary>
internal static class ControlPlaneStatus
{
    public static Status Sanitize(Status status) => status.StatusCode switch
    {
        StatusCode.OK or StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.AlreadyExists or
        StatusCode.FailedPrecondition or StatusCode.Aborted or StatusCode.OutOfRange or StatusCode.DataLoss =>
            new Status(StatusCode.Internal, $"Mesh control plane returned an illegal status code {status.StatusCode}: {status.Detail}", status.DebugException),
        _ => status,
    };
}
