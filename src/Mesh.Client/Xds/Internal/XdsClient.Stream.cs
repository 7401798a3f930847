using System.Globalization;
using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace Mesh.Client.Xds.Internal;

// The ADS stream: connecting with backoff, one stream's read and write loops, and what the serializer does
// when a stream starts or fails.
internal sealed partial class XdsClient
{
    private const string ReceivedMarker = "mesh.xds.received";

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = InitialBackoff;
        var channels = new Dictionary<int, GrpcChannel>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var index = Volatile.Read(ref _serverIndex) % _bootstrap.XdsServers.Count;
                var server = _bootstrap.XdsServers[index];
                if (!channels.TryGetValue(index, out var channel))
                {
                    channel = XdsTransport.CreateChannel(server, _loggerFactory, _time);
                    channels[index] = channel;
                }

                var received = false;
                var closedByServer = false;
                string reason;
                try
                {
                    received = await RunStreamAsync(channel, server, cancellationToken).ConfigureAwait(false);
                    closedByServer = true;
                    reason = "the server closed the ADS stream" + (received ? string.Empty : " before sending any response");
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    received = ex.Data.Contains(ReceivedMarker);
                    reason = $"ADS stream failed: {ex.Status.StatusCode}: {ex.Status.Detail.TrimEnd('.')}";
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException or InvalidOperationException or ObjectDisposedException)
                {
                    reason = $"ADS stream failed: {ex.Message.TrimEnd('.')}";
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                // A stream that got a response had the server working: reconnect at once (gRFC A57).
                // Otherwise back off exponentially with jitter, and try the next server in the list
                // (gRFC A71's fallback, in its simplest form).
                var retryIn = received ? TimeSpan.Zero : backoff * (0.8 + (0.4 * _random.NextDouble()));
                var failedServer = server.ServerUri;
                _serializer.Run(() => OnStreamFailed(failedServer, reason, received, closedByServer, retryIn));
                if (received)
                {
                    backoff = InitialBackoff;
                    continue;
                }

                if (_bootstrap.XdsServers.Count > 1)
                {
                    Interlocked.Increment(ref _serverIndex);
                }

                await Task.Delay(retryIn, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, (long)(backoff.Ticks * 1.6)));
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException or IOException or HttpRequestException)
        {
            // Shutting down: the stream ends however the transport reports it.
        }
        finally
        {
            foreach (var channel in channels.Values)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>Runs one ADS stream until it ends. Returns whether any response arrived.</summary>
    private async Task<bool> RunStreamAsync(GrpcChannel channel, XdsServerConfig server, CancellationToken cancellationToken)
    {
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
        using var streamCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = client.StreamAggregatedResources(cancellationToken: streamCancellation.Token);
        var outbox = Channel.CreateUnbounded<DiscoveryRequest>(new UnboundedChannelOptions { SingleReader = true });
        var context = new StreamContext(server, outbox.Writer);
        _serializer.Run(() => OnStreamStarted(context));
        var writer = WriteAsync(call.RequestStream, outbox.Reader, streamCancellation.Token);
        var received = false;
        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(streamCancellation.Token).ConfigureAwait(false))
            {
                received = true;
                _serializer.Run(() => OnResponse(context, response));
            }
        }
        catch (RpcException ex)
        {
            if (received)
            {
                ex.Data[ReceivedMarker] = true;
            }

            throw;
        }
        finally
        {
            outbox.Writer.TryComplete();
            await streamCancellation.CancelAsync().ConfigureAwait(false);
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException or IOException)
            {
                // The stream is over; a failed write tells nothing more.
            }
        }

        return received;
    }

    private static async Task WriteAsync(IClientStreamWriter<DiscoveryRequest> stream, ChannelReader<DiscoveryRequest> outbox, CancellationToken cancellationToken)
    {
        await foreach (var request in outbox.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    // ---- Everything below runs on the serializer. ----
    private void OnStreamStarted(StreamContext context)
    {
        _stream = context;
        OnServerStreamOpened(context.Server.ServerUri);
        Log.StreamStarted(_logger, context.Server.ServerUri);

        // A new stream starts from nothing on the server's side: every subscription is sent again, with
        // the versions already held so that the server need not resend what has not changed (gRFC A57).
        foreach (var type in _types.Values)
        {
            type.Nonce = string.Empty;
            if (type.Resources.Count > 0)
            {
                SendRequest(type);
            }

            foreach (var resource in type.Resources.Values)
            {
                StartDoesNotExistTimer(type, resource);
            }
        }

        PublishStatus();
    }

    private void OnStreamFailed(string server, string reason, bool received, bool closedByServer, TimeSpan retryIn)
    {
        _stream = null;
        IsConnected = false;
        _lastError = reason;
        var message = $"xDS server {server}: {reason}";
        OnStreamError(message);
        if (received && closedByServer)
        {
            // A server may end a stream that worked (a maximum connection age, a restart): reopened at once.
            Log.StreamClosed(_logger, server);
        }
        else
        {
            // A stream that had worked is not a server failure (gRFC A57): only an attempt that got no response is.
            if (!received)
            {
                OnServerFailed(server);
            }

            Log.StreamFailed(_logger, server, reason, CachedResourceCount(), received ? "at once" : string.Create(CultureInfo.InvariantCulture, $"in {retryIn.TotalSeconds:0.#} s"));
        }

        foreach (var type in _types.Values)
        {
            foreach (var resource in type.Resources.Values)
            {
                // Timers run only while a stream works (gRFC A57).
                resource.Timer?.Dispose();
                resource.Timer = null;

                // Watchers with data keep it; those without hear why nothing comes.
                if (resource.Data is null && resource.Status != XdsResourceStatus.DoesNotExist)
                {
                    foreach (var watcher in resource.Watchers.ToArray())
                    {
                        watcher.OnError(message);
                    }
                }
            }
        }

        PublishStatus();
        StateChanged?.Invoke();
    }

    private sealed class StreamContext(XdsServerConfig server, ChannelWriter<DiscoveryRequest> outbox)
    {
        public XdsServerConfig Server { get; } = server;

        public ChannelWriter<DiscoveryRequest> Outbox { get; } = outbox;

        public bool SentNode { get; set; }
    }
}
