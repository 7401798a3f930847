using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Xds.Internal;

/// <summary>The state of one resource as gRFC A78's <c>grpc.xds.cache_state</c> names it.</summary>
internal enum XdsCacheState
{
    /// <summary>Subscribed, nothing received yet.</summary>
    Requested,

    /// <summary>The server said it does not exist (or did not send it in time).</summary>
    DoesNotExist,

    /// <summary>Received and valid.</summary>
    Acked,

    /// <summary>Received, invalid, and no earlier version held.</summary>
    Nacked,

    /// <summary>The latest version was invalid; an earlier valid one is in use.</summary>
    NackedButCached,
}

/// <summary>Whether the ADS stream to one server works, as A78's <c>grpc.xds_client.connected</c> reports it.</summary>
internal sealed record XdsServerHealth(string ServerUri, bool Working);

/// <summary>How many resources of one type and authority are in one cache state.</summary>
internal sealed record XdsResourceCount(string TypeUrl, string Authority, XdsCacheState State, int Count);

/// <summary>
/// The xDS client's state for health checks and metrics: an immutable snapshot taken on the client's serializer
/// after every change, read from any thread.
/// </summary>
internal sealed record XdsClientStatus
{
    /// <summary>The server the client talks to (or tries to).</summary>
    public required string Server { get; init; }

    /// <summary>
    /// Whether the control plane works as gRFC A57 defines it: no connectivity failure, and no stream that failed
    /// without a response, since the last response. A stream that ends after responses is reopened at once and
    /// does not count as a failure.
    /// </summary>
    public required bool Working { get; init; }

    /// <summary>Whether an ADS stream is open and has had a response now.</summary>
    public required bool StreamConnected { get; init; }

    /// <summary>When the current stream had its first response.</summary>
    public DateTimeOffset? ConnectedSince { get; init; }

    /// <summary>When the last working stream ended, while no stream has had a response since.</summary>
    public DateTimeOffset? LostAt { get; init; }

    /// <summary>Why the last stream ended or failed, naming the server.</summary>
    public string? LastError { get; init; }

    /// <summary>When <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Every server an ADS stream was opened to, and whether it works (A78's <c>connected</c>).</summary>
    public required IReadOnlyList<XdsServerHealth> Servers { get; init; }

    /// <summary>The last ACKed version of each resource type (LDS, RDS, CDS, EDS) that has one.</summary>
    public required IReadOnlyDictionary<string, string> Versions { get; init; }

    /// <summary>The resources held, counted by type, authority and cache state (A78's <c>resources</c>).</summary>
    public required IReadOnlyList<XdsResourceCount> ResourceCounts { get; init; }

    /// <summary>Why each resource whose latest version was rejected was rejected, by <c>TYPE 'name'</c>.</summary>
    public required IReadOnlyDictionary<string, string> Rejected { get; init; }
}

/// <summary>The client's state for the <c>mesh</c> health check and gRFC A78's metrics.</summary>
internal sealed partial class XdsClient
{
    // All but _status are touched on the serializer only.
    private readonly Dictionary<string, bool> _serverWorking = new(StringComparer.Ordinal);
    private bool _working = true;
    private bool _everConnected;
    private DateTimeOffset? _connectedAt;
    private DateTimeOffset? _lostAt;
    private DateTimeOffset? _lastErrorAt;
    private string? _lastErrorMessage;
    private XdsClientStatus _status = null!;

    /// <summary>The client's state, as of its last change.</summary>
    public XdsClientStatus Status => Volatile.Read(ref _status);

    /// <summary>The A78 authority of a resource name: the authority of an <c>xdstp:</c> name, else <c>#old</c>.</summary>
    internal static string AuthorityOf(string resourceName)
    {
        const string Prefix = "xdstp://";
        if (!resourceName.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return MeshMetrics.XdsOldAuthority;
        }

        var end = resourceName.IndexOf('/', Prefix.Length);
        return end < 0 ? resourceName[Prefix.Length..] : resourceName[Prefix.Length..end];
    }

    private static XdsCacheState CacheState(ResourceState resource) => resource.Status switch
    {
        XdsResourceStatus.Acked => XdsCacheState.Acked,
        XdsResourceStatus.DoesNotExist => XdsCacheState.DoesNotExist,
        XdsResourceStatus.Nacked => resource.Data is null ? XdsCacheState.Nacked : XdsCacheState.NackedButCached,
        _ => XdsCacheState.Requested,
    };

    /// <summary>A78: a server's gauge is 1 from its first stream on, until a failure sets it to 0.</summary>
    private void OnServerStreamOpened(string server) => _serverWorking.TryAdd(server, true);

    /// <summary>A stream had its first response: the server works (again), gRFC A57.</summary>
    private void OnServerResponded(string server)
    {
        _serverWorking[server] = true;
        _working = true;
        _lostAt = null;
        _connectedAt = _time.GetUtcNow();
    }

    /// <summary>A connectivity failure, or a stream that failed without a response: counted once per healthy-to-unhealthy change.</summary>
    private void OnServerFailed(string server)
    {
        if (!_serverWorking.TryGetValue(server, out var working) || working)
        {
            _metrics.RecordXdsServerFailure(server);
        }

        _serverWorking[server] = false;
        _working = false;
    }

    /// <summary>Remembers why the last stream ended or failed.</summary>
    private void OnStreamError(string message)
    {
        _lastErrorMessage = message;
        _lastErrorAt = _time.GetUtcNow();
        _lostAt ??= _lastErrorAt;
    }

    private int CachedResourceCount() => _types.Values.Sum(t => t.Resources.Values.Count(r => r.Data is not null));

    /// <summary>Takes a new snapshot of the client's state. Runs on the serializer, or in the constructor.</summary>
    private void PublishStatus() => Volatile.Write(ref _status, TakeStatus());

    private XdsClientStatus TakeStatus()
    {
        var counts = new List<XdsResourceCount>();
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        var rejected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in _types.Values)
        {
            if (type.Version.Length > 0)
            {
                versions[XdsTypeUrls.ShortName(type.TypeUrl)] = type.Version;
            }

            foreach (var group in type.Resources.Values.GroupBy(r => (Authority: AuthorityOf(r.Name), State: CacheState(r))))
            {
                counts.Add(new XdsResourceCount(type.TypeUrl, group.Key.Authority, group.Key.State, group.Count()));
            }

            foreach (var resource in type.Resources.Values)
            {
                if (resource.Status == XdsResourceStatus.Nacked && resource.LastError is { } error)
                {
                    rejected[$"{XdsTypeUrls.ShortName(type.TypeUrl)} '{resource.Name}'"] = error;
                }
            }
        }

        return new XdsClientStatus
        {
            Server = CurrentServer.ServerUri,
            Working = _working,
            StreamConnected = IsConnected,
            ConnectedSince = IsConnected ? _connectedAt : null,
            LostAt = _lostAt,
            LastError = _lastErrorMessage,
            LastErrorAt = _lastErrorAt,
            Servers = [.. _serverWorking.Select(s => new XdsServerHealth(s.Key, s.Value))],
            Versions = versions,
            ResourceCounts = counts,
            Rejected = rejected,
        };
    }
}
