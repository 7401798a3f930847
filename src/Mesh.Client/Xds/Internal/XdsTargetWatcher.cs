using Mesh.Client.Model;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Follows one target through the resource graph — Listener, its RouteConfiguration, every Cluster its
/// routes reach (through aggregate clusters too), and their endpoints — and produces the target's mesh
/// configuration only when that whole chain is complete, so that a request never sees half of an update
/// (gRFC A74). Until the chain completes again, the previous configuration stays. Runs on the xDS
/// client's serializer.
/// </summary>
internal sealed partial class XdsTargetWatcher
{
    private const int MaxAggregateDepth = 16;

    private readonly XdsClient _client;
    private readonly Action<XdsTargetWatcher> _onChanged;
    private readonly Watch _listener;
    private readonly Dictionary<string, Watch> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Watch> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Watch> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (XdsClusterUpdate? Cluster, object? Inputs, MeshCluster Model)> _built = new(StringComparer.Ordinal);

    // Routes completed with the connection manager's settings, by the decoded route they come from (by reference):
    // the runtime keeps compiled matchers by route instance, so an unchanged route must stay the same object.
    private Dictionary<MeshRoute, (XdsListenerUpdate Listener, MeshRoute Route)> _derived = new(ReferenceEqualityComparer.Instance);
    private bool _started;

    public XdsTargetWatcher(string target, string listenerName, XdsClient client, Action<XdsTargetWatcher> onChanged)
    {
        Target = target;
        ListenerName = listenerName;
        _client = client;
        _onChanged = onChanged;
        _listener = new Watch(this, XdsTypeUrls.Listener, listenerName);
    }

    public string Target { get; }

    public string ListenerName { get; }

    /// <summary>When the target was first asked for (for the health check's wait timeout).</summary>
    public DateTimeOffset WatchedAt { get; init; }

    /// <summary>The last complete configuration, or <see langword="null"/> while none has been complete.</summary>
    public MeshService? Service { get; private set; }

    /// <summary>The clusters <see cref="Service"/> routes to, by name.</summary>
    public IReadOnlyDictionary<string, MeshCluster> Clusters { get; private set; } = new Dictionary<string, MeshCluster>();

    /// <summary>Why the target has no configuration, when it has none for a reason.</summary>
    public MeshServiceFailure? Failure { get; private set; }

    public void Start()
    {
        if (!_started)
        {
            _started = true;
            _client.Watch(XdsTypeUrls.Listener, ListenerName, _listener);
        }
    }

    public void Stop()
    {
        _client.Unwatch(XdsTypeUrls.Listener, ListenerName, _listener);
        foreach (var watch in _routes.Values.Concat(_clusters.Values).Concat(_endpoints.Values))
        {
            _client.Unwatch(watch.TypeUrl, watch.Name, watch);
        }
    }

    private string Server => _client.CurrentServer.ServerUri;

    private void Recompute()
    {
        var listener = _listener.Data as XdsListenerUpdate;
        if (listener is null)
        {
            if (_listener.Missing || (_listener.Error is not null && Service is null))
            {
                Service = null;
                Clusters = new Dictionary<string, MeshCluster>();
                Failure = _listener.Missing
                    ? new MeshServiceFailure(true, $"xDS server {Server}: listener '{ListenerName}' does not exist")
                    : new MeshServiceFailure(false, _listener.Error!);
                _derived = new(ReferenceEqualityComparer.Instance);
                Retain(_routes, []);
                Retain(_clusters, []);
                Retain(_endpoints, []);
                _onChanged(this);
            }

            return;
        }

        // The route configuration: inline, or fetched over RDS.
        XdsRouteConfigUpdate? routeConfig = listener.InlineRouteConfig;
        string? routeError = null;
        if (routeConfig is null)
        {
            var routeWatch = Ensure(_routes, XdsTypeUrls.RouteConfiguration, listener.RouteConfigName!);
            Retain(_routes, [listener.RouteConfigName!]);
            routeConfig = routeWatch.Data as XdsRouteConfigUpdate;
            if (routeConfig is null)
            {
                if (routeWatch.Missing)
                {
                    routeError = $"xDS server {Server}: route configuration '{listener.RouteConfigName}' does not exist";
                }
                else if (routeWatch.Error is not null)
                {
                    routeError = routeWatch.Error;
                }
                else
                {
                    return;
                }
            }
        }
        else
        {
            Retain(_routes, []);
        }

        IReadOnlyList<MeshRoute> routes;
        if (routeError is not null)
        {
            routes = [ErrorRoute(routeError)];
            _derived = new(ReferenceEqualityComparer.Instance);
        }
        else if (SelectVirtualHost(routeConfig!.VirtualHosts, XdsTargets.DataPlaneAuthority(Target)) is { } virtualHost)
        {
            routes = DeriveRoutes(virtualHost, listener);
        }
        else
        {
            routes = [ErrorRoute($"no virtual host of route configuration '{routeConfig.Name}' matches '{XdsTargets.DataPlaneAuthority(Target)}'")];
            _derived = new(ReferenceEqualityComparer.Instance);
        }

        // Every cluster the routes reach, through aggregate clusters to the leaves, must be known.
        var complete = true;
        var wantedClusters = new HashSet<string>(StringComparer.Ordinal);
        var wantedEndpoints = new HashSet<string>(StringComparer.Ordinal);
        var top = routes.SelectMany(r => r.Clusters).Select(c => c.Cluster).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var name in top)
        {
            complete &= Walk(name, 0, [], wantedClusters, wantedEndpoints);
        }

        Retain(_clusters, wantedClusters);
        Retain(_endpoints, wantedEndpoints);
        if (!complete)
        {
            return;
        }

        var clusters = new Dictionary<string, MeshCluster>(StringComparer.Ordinal);
        foreach (var name in top)
        {
            clusters[name] = BuildCluster(name);
        }

        foreach (var stale in _built.Keys.Where(k => !clusters.ContainsKey(k)).ToArray())
        {
            _built.Remove(stale);
        }

        Service = new MeshService { Name = Target, Routes = routes };
        Clusters = clusters;
        Failure = null;
        _onChanged(this);
    }

    private Watch Ensure(Dictionary<string, Watch> watches, string typeUrl, string name)
    {
        if (!watches.TryGetValue(name, out var watch))
        {
            watch = new Watch(this, typeUrl, name);
            watches[name] = watch;
            _client.Watch(typeUrl, name, watch);
        }

        return watch;
    }

    private void Retain(Dictionary<string, Watch> watches, IReadOnlyCollection<string> keep)
    {
        foreach (var (name, watch) in watches.Where(w => !keep.Contains(w.Key)).ToArray())
        {
            watches.Remove(name);
            _client.Unwatch(watch.TypeUrl, name, watch);
        }
    }

    /// <summary>One subscription of this target, with what has been heard of it.</summary>
    private sealed class Watch(XdsTargetWatcher owner, string typeUrl, string name) : IXdsWatcher
    {
        public string TypeUrl { get; } = typeUrl;

        public string Name { get; } = name;

        public XdsResourceUpdate? Data { get; private set; }

        public bool Missing { get; private set; }

        public string? Error { get; private set; }

        public void OnUpdate(XdsResourceUpdate update)
        {
            Data = update;
            Missing = false;
            Error = null;
            Changed();
        }

        public void OnDoesNotExist()
        {
            Data = null;
            Missing = true;
            Error = null;
            Changed();
        }

        public void OnError(string message)
        {
            // Data already held stays in use; the error only matters to what has none.
            Error = message;
            if (Data is null)
            {
                Changed();
            }
        }

        private void Changed()
        {
            // An event for a subscription the target has since dropped changes nothing.
            var current = TypeUrl switch
            {
                XdsTypeUrls.Listener => owner._listener,
                XdsTypeUrls.RouteConfiguration => owner._routes.GetValueOrDefault(Name),
                XdsTypeUrls.Cluster => owner._clusters.GetValueOrDefault(Name),
                _ => owner._endpoints.GetValueOrDefault(Name),
            };
            if (ReferenceEquals(current, this))
            {
                owner.Recompute();
            }
        }
    }
}
