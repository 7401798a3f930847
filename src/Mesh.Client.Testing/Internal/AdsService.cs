using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Testing.Internal;

/// <summary>
/// <c>envoy.service.discovery.v3.AggregatedDiscoveryService</c>, state of the world. Each call reads requests
/// into the control plane while a second loop writes the responses the control plane queues for it.
/// </summary>
internal sealed partial class AdsService(XdsControlPlane plane, ILogger<AdsService> logger)
    : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override async Task StreamAggregatedResources(
        IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream,
        ServerCallContext context)
    {
        var stream = plane.Open(context.Peer)
            ?? throw new RpcException(new Status(StatusCode.Unavailable, "The xDS test server is stopping."));
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stream.Dropped);
        var writing = WriteAsync(stream, responseStream, done);
        try
        {
            while (await requestStream.MoveNext(done.Token).ConfigureAwait(false))
            {
                plane.OnRequest(stream, requestStream.Current);
            }
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested)
        {
            // Dropped by the test, or the client went away.
        }
        catch (IOException ex)
        {
            // The client reset the stream or the connection.
            Log.ReadFailed(logger, stream.Client.StreamId, ex.Message);
        }
        finally
        {
            plane.Close(stream);
            await done.CancelAsync().ConfigureAwait(false);
            await writing.ConfigureAwait(false);
            stream.MarkFinished();
        }

        if (stream.IsDropped)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The xDS test server dropped the stream."));
        }
    }

    private async Task WriteAsync(AdsStream stream, IServerStreamWriter<DiscoveryResponse> responseStream, CancellationTokenSource done)
    {
        try
        {
            await foreach (var response in stream.Outgoing.Reader.ReadAllAsync(done.Token).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(response, done.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested)
        {
            // The call is ending.
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            // The client is gone; end the read loop too.
            Log.WriteFailed(logger, stream.Client.StreamId, ex.Message);
            await done.CancelAsync().ConfigureAwait(false);
        }
    }
}
