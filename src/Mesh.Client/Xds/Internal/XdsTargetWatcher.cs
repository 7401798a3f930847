using Mesh.Client.Model;
using Mesh.Client.Model.Internal;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Follows one target through the resource graph — Listener, its RouteConfiguration, every Cluster its
/// routes reach (through aggregate clusters too), and their endpoints — and produces the target's mesh
/// configuration only when that whole chain is complete, so that a request never sees half of an update
/// (gRFC A74). Until the chain completes again, the previous configuration stays. Runs on the xDS
/// client's serializer.
/// </summary>
internal sealed class XdsTargetWatcher
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

    /// <summary>
    /// The virtual host's routes, each completed by <see cref="DeriveRoute"/>. A route is derived again only
    /// when its decoded route or the Listener changed; otherwise the instance from the last time is reused.
    /// </summary>
    private IReadOnlyList<MeshRoute> DeriveRoutes(XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        var derived = new Dictionary<MeshRoute, (XdsListenerUpdate Listener, MeshRoute Route)>(ReferenceEqualityComparer.Instance);
        var routes = new MeshRoute[virtualHost.Routes.Count];
        for (var i = 0; i < routes.Length; i++)
        {
            var source = virtualHost.Routes[i];

            // The decoded route stands for its whole RouteConfiguration (a new one decodes new routes), hence
            // for its virtual host's overrides too; the Listener is the other input.
            if (!_derived.TryGetValue(source, out var entry) || !ReferenceEquals(entry.Listener, listener))
            {
                entry = (listener, DeriveRoute(source, virtualHost, listener));
            }

            derived[source] = entry;
            routes[i] = entry.Route;
        }

        _derived = derived;
        return routes;
    }

    /// <summary>
    /// Completes a decoded route with what the connection manager contributes: the faults its fault filters
    /// inject there (gRFC A33, A39: the most specific config wins — weighted cluster, route, virtual host, then
    /// the filter's own) and, when the route sets no stream duration, the connection manager's
    /// <c>max_stream_duration</c> (gRFC A31). Returns <paramref name="route"/> itself when nothing changes.
    /// </summary>
    internal static MeshRoute DeriveRoute(MeshRoute route, XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        if (route.ErrorMessage is not null)
        {
            // Its requests fail before any filter or timeout would matter.
            return route;
        }

        var extras = virtualHost.RouteExtras.GetValueOrDefault(route);
        var fault = EffectiveFault(extras, virtualHost, listener);
        var maxStreamDuration = extras is { SetsMaxStreamDuration: true }
            ? route.MaxStreamDuration
            : listener.MaxStreamDuration is { } hcmDuration && hcmDuration > TimeSpan.Zero ? hcmDuration : null;
        return Equals(fault, route.Fault) && maxStreamDuration == route.MaxStreamDuration
            ? route
            : route with { Fault = fault, MaxStreamDuration = maxStreamDuration };
    }

    private static FaultPolicy? EffectiveFault(XdsRouteExtras? extras, XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        // The model holds one fault policy per route: with several fault filters, the first one that injects
        // anything is taken (Envoy would run each in turn; one fault filter is what control planes send).
        foreach (var filter in listener.FaultFilters)
        {
            var policy = ClusterOverride(extras, filter.Name)
                ?? extras?.FaultOverrides.GetValueOrDefault(filter.Name)
                ?? virtualHost.FaultOverrides.GetValueOrDefault(filter.Name)
                ?? filter.Policy;
            if (XdsFaultOverrides.InjectsFaults(policy))
            {
                return policy;
            }
        }

        return null;
    }

    /// <summary>
    /// The weighted clusters' override of a filter, when every cluster of the route has the same one. The model
    /// cannot hold a fault policy per cluster of a route, so when the clusters differ (or only some override the
    /// filter), the route's own setting applies to all of them: an approximation of gRFC A39, where the cluster
    /// picked for the request decides.
    /// </summary>
    private static FaultPolicy? ClusterOverride(XdsRouteExtras? extras, string filterName)
    {
        if (extras is null || extras.ClusterFaultOverrides.Count == 0)
        {
            return null;
        }

        FaultPolicy? common = null;
        foreach (var overrides in extras.ClusterFaultOverrides)
        {
            if (!overrides.TryGetValue(filterName, out var policy) || (common is not null && !Equals(common, policy)))
            {
                return null;
            }

            common = policy;
        }

        return common;
    }

    /// <summary>Subscribes to <paramref name="name"/> and what it needs; returns whether all of it is known.</summary>
    private bool Walk(string name, int depth, HashSet<string> path, HashSet<string> wantedClusters, HashSet<string> wantedEndpoints)
    {
        wantedClusters.Add(name);
        var watch = Ensure(_clusters, XdsTypeUrls.Cluster, name);
        if (watch.Data is not XdsClusterUpdate cluster)
        {
            return watch.Missing || watch.Error is not null;
        }

        switch (cluster.Kind)
        {
            case XdsClusterKind.Eds:
                var serviceName = cluster.EdsServiceName ?? cluster.Name;
                wantedEndpoints.Add(serviceName);
                var endpoints = Ensure(_endpoints, XdsTypeUrls.ClusterLoadAssignment, serviceName);
                return endpoints.Data is not null || endpoints.Missing || endpoints.Error is not null;
            case XdsClusterKind.Aggregate:
                if (depth >= MaxAggregateDepth || !path.Add(name))
                {
                    // A cycle or an absurd depth: the cluster fails; nothing more to wait for.
                    return true;
                }

                var complete = true;
                foreach (var child in cluster.AggregateChildren)
                {
                    complete &= Walk(child, depth + 1, path, wantedClusters, wantedEndpoints);
                }

                path.Remove(name);
                return complete;
            default:
                return true;
        }
    }

    private MeshCluster BuildCluster(string name)
    {
        var watch = _clusters[name];
        var cluster = watch.Data as XdsClusterUpdate;

        // Reuse the model object when nothing it is built from has changed, so that the runtime keeps
        // the cluster's pickers without comparing every endpoint.
        var inputs = Inputs(name, 0, []);
        if (_built.TryGetValue(name, out var built) && ReferenceEquals(built.Cluster, cluster) && Equals(built.Inputs, inputs))
        {
            return built.Model;
        }

        MeshCluster model;
        if (cluster is null)
        {
            model = Failed(name, watch.Missing ? $"xDS server {Server}: cluster '{name}' does not exist" : watch.Error!);
        }
        else
        {
            var priorities = new List<MeshPriority>();
            var errors = new List<string>();
            var leaf = Leaves(name, 0, [], priorities, errors);
            model = priorities.Count == 0 && errors.Count > 0
                ? Failed(name, string.Join("; ", errors))
                : new MeshCluster
                {
                    Name = name,
                    LoadBalancing = leaf?.LoadBalancing ?? cluster.LoadBalancing,
                    Protocol = leaf?.Protocol ?? cluster.Protocol,

                    // Like the policy, the circuit breaker and outlier detection of an aggregate cluster are its
                    // first leaf's (gRPC applies each leaf's to that leaf's priorities; the model has one per cluster).
                    MaxRequests = leaf?.MaxRequests ?? cluster.MaxRequests,
                    OutlierDetection = leaf is null ? cluster.OutlierDetection : leaf.OutlierDetection,

                    // TLS belongs to the endpoints, hence to the leaves: an aggregate cluster's own transport_socket
                    // is not used. The model has one TLS setting per cluster, so an aggregate takes its first leaf's,
                    // and Leaves leaves out the endpoints of leaves whose TLS differs (see there).
                    Tls = leaf is null ? cluster.Tls : leaf.Tls,
                    Priorities = priorities,
                };
        }

        _built[name] = (cluster, inputs, model);
        return model;
    }

    /// <summary>
    /// Collects the priorities of a cluster; an aggregate cluster lists its children's priorities in
    /// order (gRFC A37), leaving out leaves whose TLS differs from the first leaf's. Returns the first leaf:
    /// its load-balancing policy, HTTP version and TLS serve the whole aggregate, since the leaves hold the
    /// endpoints.
    /// </summary>
    private XdsClusterUpdate? Leaves(string name, int depth, HashSet<string> path, List<MeshPriority> priorities, List<string> errors)
    {
        if (!_clusters.TryGetValue(name, out var watch) || watch.Data is not XdsClusterUpdate cluster)
        {
            errors.Add(watch is { Missing: false, Error: { } error } ? error : $"xDS server {Server}: cluster '{name}' does not exist");
            return null;
        }

        switch (cluster.Kind)
        {
            case XdsClusterKind.Eds:
                var endpoints = _endpoints.GetValueOrDefault(cluster.EdsServiceName ?? cluster.Name);
                if (endpoints?.Data is XdsEndpointUpdate update)
                {
                    priorities.AddRange(update.Priorities);
                }
                else if (endpoints?.Error is { } endpointError)
                {
                    errors.Add(endpointError);
                }

                // Endpoints that do not exist are no endpoints (the cluster then has none to pick).
                return cluster;
            case XdsClusterKind.LogicalDns:
                priorities.Add(new MeshPriority([new MeshLocality
                {
                    Name = LocalityName.Default,
                    Endpoints = [new MeshEndpoint { Host = cluster.DnsHost!, Port = cluster.DnsPort }],
                }]));
                return cluster;
            default:
                if (depth >= MaxAggregateDepth || !path.Add(name))
                {
                    errors.Add($"aggregate cluster '{name}' is part of a cycle or nested more than {MaxAggregateDepth} deep");
                    return null;
                }

                XdsClusterUpdate? first = null;
                foreach (var child in cluster.AggregateChildren)
                {
                    var childPriorities = new List<MeshPriority>();
                    var childLeaf = Leaves(child, depth + 1, path, childPriorities, errors);
                    first ??= childLeaf;
                    if (childLeaf is not null && !ModelEquality.TlsEquals(first!.Tls, childLeaf.Tls))
                    {
                        // gRPC gives each leaf's endpoints that leaf's TLS (gRFC A37); the model holds one TLS setting
                        // for the whole aggregate (the first leaf's). Reaching this leaf's endpoints with another
                        // leaf's settings could send plaintext where TLS was asked for, or trust the wrong roots, so
                        // its endpoints are left out: failover to it is lost, security is not.
                        errors.Add($"cluster '{child}' is left out of aggregate cluster '{name}': its TLS settings differ from those of its first cluster '{first.Name}'");
                        continue;
                    }

                    priorities.AddRange(childPriorities);
                }

                path.Remove(name);
                return first;
        }
    }

    /// <summary>The identities of every resource a cluster is built from, for change detection.</summary>
    private InputList Inputs(string name, int depth, HashSet<string> path)
    {
        var list = new InputList();
        Collect(name, depth, path);
        return list;

        void Collect(string clusterName, int level, HashSet<string> seen)
        {
            var watch = _clusters.GetValueOrDefault(clusterName);
            list.Add(watch?.Data);
            list.Add(watch?.Error);
            if (watch?.Data is not XdsClusterUpdate cluster)
            {
                return;
            }

            if (cluster.Kind == XdsClusterKind.Eds)
            {
                var endpoints = _endpoints.GetValueOrDefault(cluster.EdsServiceName ?? cluster.Name);
                list.Add(endpoints?.Data);
                list.Add(endpoints?.Error);
            }
            else if (cluster.Kind == XdsClusterKind.Aggregate && level < MaxAggregateDepth && seen.Add(clusterName))
            {
                foreach (var child in cluster.AggregateChildren)
                {
                    Collect(child, level + 1, seen);
                }
            }
        }
    }

    private static MeshCluster Failed(string name, string message) =>
        new() { Name = name, LoadBalancing = RoundRobinPolicy.Instance, Priorities = [], ErrorMessage = message };

    private static MeshRoute ErrorRoute(string message) =>
        new() { Name = "unavailable", Match = RouteMatch.Any, Clusters = [], ErrorMessage = message };

    /// <summary>
    /// Chooses the virtual host for <paramref name="target"/> as gRPC and Envoy do: an exact domain first,
    /// then the longest <c>*suffix</c>, then the longest <c>prefix*</c>, then <c>*</c>. Case is ignored.
    /// </summary>
    internal static XdsVirtualHost? SelectVirtualHost(IReadOnlyList<XdsVirtualHost> virtualHosts, string target)
    {
        XdsVirtualHost? best = null;
        var bestRank = int.MaxValue;
        var bestLength = -1;
        foreach (var virtualHost in virtualHosts)
        {
            foreach (var domain in virtualHost.Domains)
            {
                var (rank, length) = MatchDomain(domain, target);
                if (rank < bestRank || (rank == bestRank && length > bestLength))
                {
                    (best, bestRank, bestLength) = (virtualHost, rank, length);
                }
            }
        }

        return bestRank == int.MaxValue ? null : best;
    }

    private static (int Rank, int Length) MatchDomain(string domain, string target)
    {
        const int NoMatch = int.MaxValue;
        if (domain.Length == 0)
        {
            return (NoMatch, 0);
        }

        if (domain == "*")
        {
            return (3, 1);
        }

        var wildcards = domain.Count(c => c == '*');
        if (wildcards == 0)
        {
            return string.Equals(domain, target, StringComparison.OrdinalIgnoreCase) ? (0, domain.Length) : (NoMatch, 0);
        }

        if (wildcards > 1)
        {
            return (NoMatch, 0);
        }

        if (domain[0] == '*')
        {
            var suffix = domain.AsSpan(1);
            return target.Length > suffix.Length && target.AsSpan().EndsWith(suffix, StringComparison.OrdinalIgnoreCase) ? (1, domain.Length) : (NoMatch, 0);
        }

        if (domain[^1] == '*')
        {
            var prefix = domain.AsSpan(0, domain.Length - 1);
            return target.Length > prefix.Length && target.AsSpan().StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? (2, domain.Length) : (NoMatch, 0);
        }

        return (NoMatch, 0);
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

    /// <summary>A list compared by the identity of its items.</summary>
    private sealed class InputList : List<object?>
    {
        public override bool Equals(object? obj) =>
            obj is InputList other && other.Count == Count && this.Zip(other).All(p => ReferenceEquals(p.First, p.Second) || Equals(p.First, p.Second));

        public override int GetHashCode() => Count;
    }
}
