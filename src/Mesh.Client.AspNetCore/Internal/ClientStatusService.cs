using Envoy.Service.Status.V3;
using Grpc.Core;
using Mesh.Client.Telemetry;

namespace Mesh.Client.AspNetCore.Internal;

/// <summary>
/// The Client Status Discovery Service (gRFC A40) over the process's xDS client: what
/// <c>grpcdebug &lt;address&gt; xds status</c> and <c>xds config</c> ask for. Node matchers in the request are
/// ignored: there is one client, and it is this process.
/// </summary>
internal sealed class ClientStatusService(MeshStatus status) : ClientStatusDiscoveryService.ClientStatusDiscoveryServiceBase
{
    public override Task<ClientStatusResponse> FetchClientStatus(ClientStatusRequest request, ServerCallContext context) =>
        GetAsync(request, context);

    public override async Task StreamClientStatus(IAsyncStreamReader<ClientStatusRequest> requestStream, IServerStreamWriter<ClientStatusResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(await GetAsync(request, context).ConfigureAwait(false), context.CancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ClientStatusResponse> GetAsync(ClientStatusRequest request, ServerCallContext context)
    {
        try
        {
            return await status.GetClientStatusResponseAsync(request.ExcludeResourceContents, context.CancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }
    }
}
