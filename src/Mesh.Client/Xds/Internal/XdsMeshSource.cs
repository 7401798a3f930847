using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// The xDS source of the mesh: looks names up on demand through the xDS client, and publishes every
/// target whose configuration is complete — or known to fail — as one snapshot of source <c>xds</c>.
/// </summary>
internal sealed partial class XdsMeshSource : IMeshDiscovery, IAsyncDisposable, IDisposable
{
    public const string SourceName = "xds";

    private readonly XdsClient _client;
    private readonly MeshTableStore _tables;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Regex[] _httpHosts;
    private readonly ConcurrentDictionary<string, byte> _requested = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, XdsTargetWatcher> _targets = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, MeshServiceFailure> _failures = new(StringComparer.OrdinalIgnoreCase);
    private long _version;

    public XdsMeshSource(XdsClient client, MeshTableStore tables, TimeProvider time, IEnumerable<string> httpHosts, TimeSpan configWaitTimeout, ILogger<XdsMeshSource> logger)
    {
        _client = client;
        _tables = tables;
        _time = time;
        _logger = logger;
        ConfigWaitTimeout = configWaitTimeout;
        _httpHosts = [.. httpHosts.Select(GlobToRegex)];
    }

    public XdsClient Client => _client;

    public string Description => $"xDS server {_client.CurrentServer.ServerUri}";

    public TimeSpan ConfigWaitTimeout { get; }

    public bool ShouldLookUpHttpHost(string authority)
    {
        if (_requested.ContainsKey(authority))
        {
            return true;
        }

        foreach (var pattern in _httpHosts)
        {
            if (pattern.IsMatch(authority))
            {
                return true;
            }
        }

        return false;
    }

    public void Watch(string name)
    {
        if (!_requested.TryAdd(name, 0))
        {
            return;
        }

        _client.Start();
        _client.Post(() =>
        {
            string listenerName;
            try
            {
                listenerName = ListenerName(name);
            }
            catch (InvalidOperationException ex)
            {
                _failures[name] = new MeshServiceFailure(true, ex.Message);
                OnTargetChanged(null);
                return;
            }

            Log.Watching(_logger, name, listenerName);
            var watcher = new XdsTargetWatcher(name, listenerName, _client, OnTargetChanged) { WatchedAt = _time.GetUtcNow() };
            _targets[name] = watcher;
            watcher.Start();
        });
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    public void Dispose() => _client.Dispose();

    /// <summary>The Listener a target watches (see <see cref="XdsTargets.ListenerName"/>).</summary>
    internal string ListenerName(string target) => XdsTargets.ListenerName(_client.Bootstrap, target);

    // Runs on the xDS client's serializer.
    private void OnTargetChanged(XdsTargetWatcher? changed)
    {
        var services = new Dictionary<string, MeshService>(StringComparer.OrdinalIgnoreCase);
        var clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase);
        var failed = new Dictionary<string, MeshServiceFailure>(_failures, StringComparer.OrdinalIgnoreCase);
        foreach (var target in _targets.Values)
        {
            if (target.Service is { } service)
            {
                services[target.Target] = service;
                foreach (var (name, cluster) in target.Clusters)
                {
                    clusters[name] = cluster;
                }
            }
            else if (target.Failure is { } failure)
            {
                failed[target.Target] = failure;
            }
        }

        var version = Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture);
        _tables.Publish(SourceName, new MeshSnapshot
        {
            Version = version,
            Source = SourceName,
            Services = services.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            Clusters = clusters.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            FailedServices = failed.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        });

        if (changed?.Service is not null)
        {
            Log.TargetReady(_logger, changed.Target, changed.Clusters.Count, version);
        }
        else if (changed?.Failure is { } why)
        {
            Log.TargetFailed(_logger, changed.Target, why.Message);
        }
    }

    private static Regex GlobToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
}
