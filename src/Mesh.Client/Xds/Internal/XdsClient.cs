using System.Globalization;
using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

/// <summary>Receives what the xDS client learns about one watched resource. Called on the client's work serializer.</summary>
internal interface IXdsWatcher
{
    /// <summary>A new valid version of the resource.</summary>
    void OnUpdate(XdsResourceUpdate update);

    /// <summary>The server says the resource does not exist (or did not send it within the does-not-exist timeout).</summary>
    void OnDoesNotExist();

    /// <summary>
    /// Something went wrong: the server is unreachable, or sent an invalid version. A watcher that already
    /// has data keeps using it (gRFC A46, A57).
    /// </summary>
    void OnError(string message);
}

/// <summary>What the client holds for one resource, for status reporting (CSDS, config dump).</summary>
internal enum XdsResourceStatus
{
    Requested,
    Acked,
    Nacked,
    DoesNotExist,
}

/// <summary>
/// The xDS client: one ADS stream (state of the world) to the bootstrap's server, shared by every
/// HttpClient and channel in the process. It subscribes to what watchers ask for, validates what the
/// server sends, ACKs or NACKs every response, keeps the last good version of every resource, and
/// re-subscribes with backoff when the stream breaks (gRFCs A27, A46, A53, A57).
/// </summary>
internal sealed partial class XdsClient : IAsyncDisposable, IDisposable
{
    /// <summary>How long a subscribed resource may stay unanswered on a working stream before it is taken not to exist (gRFC A57).</summary>
    public static readonly TimeSpan DoesNotExistTimeout = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(120);

    private readonly XdsBootstrap _bootstrap;
    private readonly XdsDecodeContext _decodeContext;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly MeshRandom _random;
    private readonly WorkSerializer _serializer;
    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Node _node;
    private readonly MeshMetrics _metrics;
    private readonly IDisposable _metricsRegistration;
    private Task? _loop;
    private StreamContext? _stream;
    private int _serverIndex;
    private string _lastError = "not connected yet";

    public XdsClient(XdsBootstrap bootstrap, ILoggerFactory loggerFactory, TimeProvider time, MeshRandom random, MeshMetrics? metrics = null)
    {
        _bootstrap = bootstrap;
        _decodeContext = XdsDecodeContext.For(bootstrap);
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<XdsClient>();
        _time = time;
        _random = random;
        _serializer = new WorkSerializer(ex => Log.SerializerError(_logger, ex));
        foreach (var typeUrl in XdsTypeUrls.All)
        {
            _types[typeUrl] = new TypeState(typeUrl);
        }

        _node = XdsNodeBuilder.Build(bootstrap.Node);
        _metrics = metrics ?? MeshMetrics.Unobserved;
        PublishStatus();
        _metricsRegistration = _metrics.ObserveXdsClient(() => Status);
    }

    public XdsBootstrap Bootstrap => _bootstrap;

    /// <summary>The server the client talks to now.</summary>
    public XdsServerConfig CurrentServer => _bootstrap.XdsServers[Volatile.Read(ref _serverIndex) % _bootstrap.XdsServers.Count];

    /// <summary>Whether an ADS stream is open and has had a response.</summary>
    public bool IsConnected { get; private set; }

    /// <summary>Raised (on the serializer) whenever the client's state changes, for diagnostics.</summary>
    public event Action? StateChanged;

    public void Start()
    {
        _loop ??= Task.Run(() => RunAsync(_shutdown.Token));
    }

    /// <summary>Watches one resource. The watcher hears the current state at once if there is one.</summary>
    public void Watch(string typeUrl, string name, IXdsWatcher watcher) => _serializer.Run(() =>
    {
        var type = _types[typeUrl];
        if (!type.Resources.TryGetValue(name, out var resource))
        {
            resource = new ResourceState(name);
            type.Resources[name] = resource;
            Log.Subscribing(_logger, XdsTypeUrls.ShortName(typeUrl), name);
            SendRequest(type);
            StartDoesNotExistTimer(type, resource);
            PublishStatus();
        }

        resource.Watchers.Add(watcher);
        if (resource.Data is { } data)
        {
            watcher.OnUpdate(data);
        }
        else if (resource.Status == XdsResourceStatus.DoesNotExist)
        {
            watcher.OnDoesNotExist();
        }
        else if (resource.LastError is { } error)
        {
            watcher.OnError(error);
        }
        else if (!IsConnected && _stream is null && _lastError != "not connected yet")
        {
            watcher.OnError(ServerError(_lastError));
        }
    });

    /// <summary>Stops watching; the resource is unsubscribed when its last watcher leaves.</summary>
    public void Unwatch(string typeUrl, string name, IXdsWatcher watcher) => _serializer.Run(() =>
    {
        var type = _types[typeUrl];
        if (type.Resources.TryGetValue(name, out var resource) && resource.Watchers.Remove(watcher) && resource.Watchers.Count == 0)
        {
            resource.Timer?.Dispose();
            type.Resources.Remove(name);
            Log.Unsubscribing(_logger, XdsTypeUrls.ShortName(typeUrl), name);
            SendRequest(type);
            PublishStatus();
        }
    });

    /// <summary>Runs <paramref name="action"/> on the client's serializer, after the work handed in before it.</summary>
    public void Post(Action action) => _serializer.Run(action);

    /// <summary>A snapshot of every resource the client holds, for CSDS and the config dump. Taken on the serializer.</summary>
    public Task<IReadOnlyList<XdsResourceSnapshot>> GetResourcesAsync()
    {
        var result = new TaskCompletionSource<IReadOnlyList<XdsResourceSnapshot>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _serializer.Run(() => result.SetResult([.. _types.Values.SelectMany(t => t.Resources.Values.Select(r =>
            new XdsResourceSnapshot(t.TypeUrl, r.Name, r.Version, r.Status, r.LastError, r.Raw, r.UpdatedAt)))]));
        return result.Task;
    }

    /// <summary>Stops the client without waiting for its stream to wind down.</summary>
    public void Dispose()
    {
        _metricsRegistration.Dispose();
        if (!_shutdown.IsCancellationRequested)
        {
            _shutdown.Cancel();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _metricsRegistration.Dispose();
        if (!_shutdown.IsCancellationRequested)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutting down.
            }
        }

    }

    private string ServerError(string reason) => $"xDS server {CurrentServer.ServerUri}: {reason}";

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

    private const string ReceivedMarker = "mesh.xds.received";

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

    private void OnResponse(StreamContext context, DiscoveryResponse response)
    {
        if (!ReferenceEquals(context, _stream))
        {
            return;
        }

        if (!IsConnected)
        {
            // The first response of a stream: the server works (again), gRFC A57 and A78.
            var lostAt = _lostAt;
            OnServerResponded(context.Server.ServerUri);
            IsConnected = true;
            if (!_everConnected)
            {
                _everConnected = true;
                Log.Connected(_logger, context.Server.ServerUri);
            }
            else
            {
                var downtime = lostAt is { } since ? _time.GetUtcNow() - since : TimeSpan.Zero;
                Log.Reconnected(_logger, context.Server.ServerUri, string.Create(CultureInfo.InvariantCulture, $"{downtime.TotalSeconds:0.###} s"));
            }
        }

        if (!_types.TryGetValue(response.TypeUrl, out var type))
        {
            // Not a type this client asked for: ignore it, as gRPC does.
            Log.UnknownType(_logger, response.TypeUrl);
            return;
        }

        type.Nonce = response.Nonce;
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var invalid = new HashSet<string>(StringComparer.Ordinal);
        var updated = new List<(ResourceState Resource, XdsResourceUpdate Update, Any Raw)>();
        var invalidCount = 0;
        for (var i = 0; i < response.Resources.Count; i++)
        {
            var raw = response.Resources[i];
            var result = XdsResourceDecoder.Decode(response.TypeUrl, raw, _decodeContext);
            if (result.Name is { } decodedName && !seen.Add(decodedName))
            {
                errors.Add($"resource '{decodedName}': appears more than once in the response");
                invalid.Add(decodedName);
                invalidCount++;
                continue;
            }

            if (result.Update is null)
            {
                errors.Add(result.Name is null ? $"resource [{i}]: {result.Error}" : $"resource '{result.Name}': {result.Error}");
                invalidCount++;
                if (result.Name is { } badName)
                {
                    invalid.Add(badName);
                }

                continue;
            }

            if (type.Resources.TryGetValue(result.Name!, out var resource))
            {
                updated.Add((resource, result.Update, raw));
            }
        }

        // A78 counts resources, each time they are sent, whether or not they changed or were subscribed to.
        _metrics.RecordXdsResourceUpdates(context.Server.ServerUri, type.TypeUrl, response.Resources.Count - invalidCount, invalidCount);

        // Valid resources of a rejected response are still used (gRFC A46).
        foreach (var (resource, update, raw) in updated)
        {
            resource.Timer?.Dispose();
            resource.Timer = null;
            var changed = resource.Raw is null || !resource.Raw.Equals(raw) || resource.Data is null;
            resource.Data = update;
            resource.Raw = raw;
            resource.Version = response.VersionInfo;
            resource.Status = XdsResourceStatus.Acked;
            resource.LastError = null;
            resource.UpdatedAt = _time.GetUtcNow();
            if (changed)
            {
                foreach (var watcher in resource.Watchers.ToArray())
                {
                    watcher.OnUpdate(update);
                }
            }
        }

        foreach (var name in invalid)
        {
            if (type.Resources.TryGetValue(name, out var resource))
            {
                resource.Timer?.Dispose();
                resource.Timer = null;
                resource.Status = XdsResourceStatus.Nacked;
                resource.LastError = ServerError($"{XdsTypeUrls.ShortName(type.TypeUrl)} resource '{name}' version {response.VersionInfo} rejected: {errors.First(e => e.StartsWith($"resource '{name}'", StringComparison.Ordinal))}");
                RecordRejection(resource, response.VersionInfo);
                foreach (var watcher in resource.Watchers.ToArray())
                {
                    watcher.OnError(resource.LastError);
                }
            }
        }

        if (XdsTypeUrls.IsFullStateOfTheWorld(type.TypeUrl))
        {
            foreach (var resource in type.Resources.Values.ToArray())
            {
                if (seen.Contains(resource.Name) || resource.Status == XdsResourceStatus.DoesNotExist)
                {
                    continue;
                }

                if (resource.Data is not null && CurrentServer.IgnoreResourceDeletion)
                {
                    // The server asked clients to keep resources it drops (gRFC A53).
                    Log.DeletionIgnored(_logger, XdsTypeUrls.ShortName(type.TypeUrl), resource.Name);
                    continue;
                }

                // A resource never received is not taken to be deleted: the response may answer a request
                // sent before the subscription. Its does-not-exist timer decides instead (as gRPC does).
                if (resource.Data is not null)
                {
                    MarkDoesNotExist(type, resource);
                }
            }
        }

        var request = CreateRequest(type);
        request.ResponseNonce = response.Nonce;
        if (errors.Count == 0)
        {
            type.Version = response.VersionInfo;
            request.VersionInfo = type.Version;
            Log.Acked(_logger, XdsTypeUrls.ShortName(type.TypeUrl), response.VersionInfo, response.Resources.Count);
        }
        else
        {
            var reasons = string.Join("; ", errors);
            var detail = $"{XdsTypeUrls.ShortName(type.TypeUrl)} version {response.VersionInfo} rejected: {reasons}";
            request.VersionInfo = type.Version;
            request.ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = detail };
            Log.Nacked(
                _logger,
                XdsTypeUrls.ShortName(type.TypeUrl),
                response.VersionInfo,
                invalidCount,
                response.Resources.Count,
                type.Version.Length > 0 ? type.Version : "(none)",
                reasons);
        }

        Send(request);
        PublishStatus();
        StateChanged?.Invoke();
    }

    private void MarkDoesNotExist(TypeState type, ResourceState resource)
    {
        resource.Timer?.Dispose();
        resource.Timer = null;
        resource.Data = null;
        resource.Raw = null;
        resource.Status = XdsResourceStatus.DoesNotExist;
        resource.UpdatedAt = _time.GetUtcNow();
        Log.DoesNotExist(_logger, XdsTypeUrls.ShortName(type.TypeUrl), resource.Name);
        foreach (var watcher in resource.Watchers.ToArray())
        {
            watcher.OnDoesNotExist();
        }
    }

    private void StartDoesNotExistTimer(TypeState type, ResourceState resource)
    {
        if (_stream is null || resource.Data is not null || resource.Status == XdsResourceStatus.DoesNotExist || resource.Timer is not null)
        {
            return;
        }

        var stream = _stream;
        resource.Timer = _time.CreateTimer(
            _ => _serializer.Run(() =>
            {
                if (ReferenceEquals(stream, _stream) && resource.Timer is not null && resource.Data is null &&
                    type.Resources.TryGetValue(resource.Name, out var current) && ReferenceEquals(current, resource))
                {
                    MarkDoesNotExist(type, resource);
                    PublishStatus();
                    StateChanged?.Invoke();
                }
            }),
            null,
            DoesNotExistTimeout,
            Timeout.InfiniteTimeSpan);
    }

    private void SendRequest(TypeState type)
    {
        var request = CreateRequest(type);
        request.VersionInfo = type.Version;
        request.ResponseNonce = type.Nonce;
        Send(request);
    }

    private DiscoveryRequest CreateRequest(TypeState type)
    {
        var request = new DiscoveryRequest { TypeUrl = type.TypeUrl };
        request.ResourceNames.AddRange(type.Resources.Keys.Order(StringComparer.Ordinal));
        return request;
    }

    private void Send(DiscoveryRequest request)
    {
        if (_stream is not { } stream)
        {
            return;
        }

        if (!stream.SentNode)
        {
            // The node goes in the first request of each stream only.
            request.Node = _node;
            stream.SentNode = true;
        }

        stream.Outbox.TryWrite(request);
    }

    private sealed class StreamContext(XdsServerConfig server, ChannelWriter<DiscoveryRequest> outbox)
    {
        public XdsServerConfig Server { get; } = server;

        public ChannelWriter<DiscoveryRequest> Outbox { get; } = outbox;

        public bool SentNode { get; set; }
    }

    private sealed class TypeState(string typeUrl)
    {
        public string TypeUrl { get; } = typeUrl;

        public Dictionary<string, ResourceState> Resources { get; } = new(StringComparer.Ordinal);

        /// <summary>The last version ACKed; sent with every request (empty before the first ACK).</summary>
        public string Version { get; set; } = string.Empty;

        /// <summary>The nonce of the last response on the current stream.</summary>
        public string Nonce { get; set; } = string.Empty;
    }

    private sealed class ResourceState(string name)
    {
        public string Name { get; } = name;

        public List<IXdsWatcher> Watchers { get; } = [];

        public XdsResourceUpdate? Data { get; set; }

        public Any? Raw { get; set; }

        public string? Version { get; set; }

        public XdsResourceStatus Status { get; set; } = XdsResourceStatus.Requested;

        public string? LastError { get; set; }

        public DateTimeOffset? UpdatedAt { get; set; }

        public ITimer? Timer { get; set; }
    }
}

/// <summary>One resource as the client holds it.</summary>
internal sealed record XdsResourceSnapshot(
    string TypeUrl,
    string Name,
    string? Version,
    XdsResourceStatus Status,
    string? LastError,
    Any? Raw,
    DateTimeOffset? UpdatedAt);
