using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Telemetry.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

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
