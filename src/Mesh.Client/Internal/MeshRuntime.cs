using System.Collections.Frozen;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using Mesh.Client.Routing.Internal;
using Microsoft.Extensions.Primitives;

namespace Mesh.Client.Internal;

/// <summary>
/// Holds the table the request path reads and publishes new ones. Publication is serialised and ends in
/// one reference swap; readers never lock. Endpoint runtime state (requests in flight) is carried over
/// from one table to the next for every endpoint that stays in its cluster.
/// </summary>
internal sealed class MeshRuntime : IAsyncDisposable, IDisposable
{
    private static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    /// <summary>The name of the appsettings.json source, which wins name clashes with other sources.</summary>
    public const string ConfigurationSource = "appsettings";

    private readonly Lock _publishLock = new();
    private readonly Dictionary<string, SourceTable> _sources = new(StringComparer.Ordinal);
    private readonly Lock _subscribersLock = new();
    private readonly MeshRandom _random;
    private MeshTable _table = MeshTable.Empty;
    private Action<MeshTable>[] _subscribers = [];
    private CancellationTokenSource _changeSource = new();

    private readonly TimeProvider _time;

    public MeshRuntime(MeshRandom random)
        : this(random, TimeProvider.System)
    {
    }

    public MeshRuntime(MeshRandom random, TimeProvider time)
    {
        _random = random;
        _time = time;
    }

    public MeshRandom Random => _random;

    public TimeProvider Time => _time;

    /// <summary>The process's fault injector: one, so that <c>max_active_faults</c> counts every faulted request.</summary>
    public Resilience.Internal.FaultInjector Faults => _faults ??= new Resilience.Internal.FaultInjector(_random);

    private Resilience.Internal.FaultInjector? _faults;

    /// <summary>
    /// Certificate provider instances (gRFC A29) that clusters' TLS settings name: the xDS bootstrap's and
    /// those of <c>Mesh:Tls:CertificateProviders</c>.
    /// </summary>
    public Security.Internal.CertificateProviderStore Certificates => _certificates ??= new Security.Internal.CertificateProviderStore(_time, LoggerFactory);

    /// <summary>The mesh's metrics; set by <c>AddMesh</c> from the application's <c>IMeterFactory</c>.</summary>
    public Telemetry.Internal.MeshMetrics Metrics { get; init; } = Telemetry.Internal.MeshMetrics.Unobserved;

    /// <summary>Where the runtime's own parts (certificate providers) log; set by <c>AddMesh</c> before first use.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    private Security.Internal.CertificateProviderStore? _certificates;

    /// <summary>The handler that carries HttpClient requests to TLS clusters (made on first use).</summary>
    public Security.Internal.MeshTlsHttpTransport TlsTransport
    {
        get
        {
            var transport = Volatile.Read(ref _tlsTransport);
            if (transport is null)
            {
                var created = new Security.Internal.MeshTlsHttpTransport();
                transport = Interlocked.CompareExchange(ref _tlsTransport, created, null) ?? created;
                if (!ReferenceEquals(transport, created))
                {
                    created.Dispose();
                }
            }

            return transport;
        }
    }

    private Security.Internal.MeshTlsHttpTransport? _tlsTransport;

    /// <summary>The table in force. One volatile read.</summary>
    public MeshTable Current => Volatile.Read(ref _table);

    /// <summary>The dynamic source that can look names up on demand (the xDS client), if any.</summary>
    public IMeshDiscovery? Discovery { get; set; }

    /// <summary>
    /// Asks the dynamic source for <paramref name="name"/> and waits until the table knows it (a service,
    /// or a failure) or <paramref name="timeout"/> passes. Returns the table that knows it, or
    /// <see langword="null"/> on timeout.
    /// </summary>
    public async Task<MeshTable?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var table = Current;
        if (table.Knows(name))
        {
            return table;
        }

        Discovery?.Watch(name);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        while (true)
        {
            // Take the token before reading the table, so that a publication in between is not missed.
            var token = Volatile.Read(ref _changeSource).Token;
            table = Current;
            if (table.Knows(name))
            {
                return table;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeoutSource.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (timeoutSource.IsCancellationRequested)
                {
                    return Current.Knows(name) ? Current : null;
                }
            }
        }
    }

    public void Dispose()
    {
        if (Discovery is IDisposable disposable)
        {
            disposable.Dispose();
        }

        _certificates?.Dispose();
        _tlsTransport?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Discovery is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }

        _certificates?.Dispose();
        _tlsTransport?.Dispose();
    }

    /// <summary>A token that fires when the next table is published.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changeSource).Token);

    /// <summary>Calls <paramref name="subscriber"/> with every table published from now on.</summary>
    /// <remarks>
    /// Subscribers are called after the swap and outside every lock of the runtime, so they may call into
    /// code that holds its own locks. Two publications that race may reach a subscriber out of order; a
    /// subscriber that cares compares <see cref="MeshTable.Generation"/> or reads <see cref="Current"/>.
    /// </remarks>
    public IDisposable Subscribe(Action<MeshTable> subscriber)
    {
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return new Subscription(this, subscriber);
    }

    /// <summary>Compiles <paramref name="snapshot"/> as the whole configuration of its source (<see cref="MeshSnapshot.Source"/>) and makes the merged result the table in force.</summary>
    public MeshTable Publish(MeshSnapshot snapshot) => Publish(snapshot.Source, snapshot);

    /// <summary>
    /// Replaces the configuration of one source and publishes the merged table. Services of several
    /// sources are merged by name, the <c>appsettings</c> source first (local configuration overrides the
    /// control plane); each source's routes only ever reach that source's clusters.
    /// </summary>
    public MeshTable Publish(string source, MeshSnapshot snapshot)
    {
        MeshTable table;
        CancellationTokenSource previousSource;
        lock (_publishLock)
        {
            _sources.TryGetValue(source, out var previous);
            var compiled = Compile(source, snapshot, previous, rebuild: null);
            _sources[source] = compiled;
            table = Merge(_table.Generation + 1);
            Volatile.Write(ref _table, table);

            previousSource = _changeSource;
            Volatile.Write(ref _changeSource, new CancellationTokenSource());
        }

        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber(table);
        }

        previousSource.Cancel();
        previousSource.Dispose();
        return table;
    }

    /// <summary>
    /// Rebuilds the pickers of clusters whose endpoints changed without a configuration change (outlier
    /// detection ejected or returned one) and publishes the result.
    /// </summary>
    public void RefreshClusters(string source, string clusterName)
    {
        MeshTable table;
        CancellationTokenSource previousSource;
        lock (_publishLock)
        {
            if (!_sources.TryGetValue(source, out var previous) || !previous.Clusters.ContainsKey(clusterName))
            {
                return;
            }

            _sources[source] = Compile(source, previous.Snapshot, previous, rebuild: clusterName);
            table = Merge(_table.Generation + 1);
            Volatile.Write(ref _table, table);
            previousSource = _changeSource;
            Volatile.Write(ref _changeSource, new CancellationTokenSource());
        }

        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber(table);
        }

        previousSource.Cancel();
        previousSource.Dispose();
    }

    private SourceTable Compile(string source, MeshSnapshot snapshot, SourceTable? previous, string? rebuild)
    {
        var clusters = new Dictionary<string, ClusterRuntime>(NameComparer);
        foreach (var (name, cluster) in snapshot.Clusters)
        {
            ClusterRuntime? old = null;
            previous?.Clusters.TryGetValue(name, out old);
            clusters[name] = old is not null && ModelEquality.ClusterEquals(old.Config, cluster) && !NameComparer.Equals(name, rebuild)
                ? old
                : BuildCluster(source, cluster, old);
        }

        // Clusters that left the configuration stop their outlier detection.
        foreach (var (name, old) in previous?.Clusters ?? [])
        {
            if (!clusters.ContainsKey(name))
            {
                old.State.SetOutlierDetector(null);
            }
        }

        // Compiled matchers (regular expressions among them) are kept for routes the source hands over
        // unchanged, so that an endpoint update does not recompile every route.
        var matchers = new Dictionary<MeshRoute, RouteMatcher>(ReferenceEqualityComparer.Instance);
        var services = new Dictionary<string, ServiceRouteTable>(NameComparer);
        var byService = new Dictionary<MeshService, ServiceRouteTable>(ReferenceEqualityComparer.Instance);
        foreach (var (name, service) in snapshot.Services)
        {
            if (byService.TryGetValue(service, out var shared))
            {
                services[name] = shared;
                continue;
            }

            var routes = new CompiledRoute[service.Routes.Count];
            for (var r = 0; r < routes.Length; r++)
            {
                var route = service.Routes[r];
                var targets = new ClusterRuntime[route.Clusters.Count];
                for (var c = 0; c < targets.Length; c++)
                {
                    var clusterName = route.Clusters[c].Cluster;
                    if (!clusters.TryGetValue(clusterName, out var target))
                    {
                        // Sources publish complete configurations; a dangling reference still fails
                        // only the requests that take it, with "no endpoints".
                        target = BuildCluster(
                            source,
                            new MeshCluster { Name = clusterName, LoadBalancing = RoundRobinPolicy.Instance, Priorities = [] },
                            previous: null);
                        clusters[clusterName] = target;
                    }

                    targets[c] = target;
                }

                if (!matchers.TryGetValue(route, out var matcher) && (previous is null || !previous.Matchers.TryGetValue(route, out matcher)))
                {
                    matcher = new RouteMatcher(route.Match, _random);
                }

                matchers[route] = matcher;
                routes[r] = new CompiledRoute(route, matcher, targets, clusters);
            }

            var table = new ServiceRouteTable(service, routes);
            byService[service] = table;
            services[name] = table;
        }

        return new SourceTable(snapshot, clusters, services, matchers);
    }

    private MeshTable Merge(long generation)
    {
        if (_sources.Count == 1)
        {
            var only = _sources.Values.First();
            return new MeshTable(
                only.Snapshot,
                only.Services.ToFrozenDictionary(NameComparer),
                only.Clusters.ToFrozenDictionary(NameComparer),
                generation);
        }

        var ordered = _sources.OrderBy(s => s.Key == ConfigurationSource ? 0 : 1).ThenBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value).ToArray();
        var services = new Dictionary<string, ServiceRouteTable>(NameComparer);
        var clusters = new Dictionary<string, ClusterRuntime>(NameComparer);
        var modelServices = new Dictionary<string, MeshService>(NameComparer);
        var modelClusters = new Dictionary<string, MeshCluster>(NameComparer);
        foreach (var part in ordered)
        {
            foreach (var (name, service) in part.Services)
            {
                if (services.TryAdd(name, service))
                {
                    modelServices[name] = service.Config;
                }
            }

            foreach (var (name, cluster) in part.Clusters)
            {
                if (clusters.TryAdd(name, cluster))
                {
                    modelClusters[name] = cluster.Config;
                }
            }
        }

        var failed = new Dictionary<string, MeshServiceFailure>(NameComparer);
        foreach (var part in ordered)
        {
            foreach (var (name, failure) in part.Snapshot.FailedServices)
            {
                if (!services.ContainsKey(name))
                {
                    failed.TryAdd(name, failure);
                }
            }
        }

        var snapshot = new MeshSnapshot
        {
            FailedServices = failed.ToFrozenDictionary(NameComparer),
            Version = string.Join(",", ordered.Select(p => $"{p.Snapshot.Source}:{p.Snapshot.Version}")),
            Source = string.Join("+", ordered.Select(p => p.Snapshot.Source)),
            Services = modelServices.ToFrozenDictionary(NameComparer),
            Clusters = modelClusters.ToFrozenDictionary(NameComparer),
        };
        return new MeshTable(snapshot, services.ToFrozenDictionary(NameComparer), clusters.ToFrozenDictionary(NameComparer), generation);
    }

    private ClusterRuntime BuildCluster(string source, MeshCluster cluster, ClusterRuntime? previous)
    {
        var oldStates = new Dictionary<string, EndpointState>(previous?.AllEndpoints.Length ?? 0, StringComparer.Ordinal);
        if (previous is not null)
        {
            foreach (var state in previous.AllEndpoints)
            {
                oldStates.TryAdd(state.Address, state);
            }
        }

        var priorities = new LocalityRuntime[cluster.Priorities.Count][];
        for (var p = 0; p < priorities.Length; p++)
        {
            var localities = cluster.Priorities[p].Localities;
            priorities[p] = new LocalityRuntime[localities.Count];
            for (var l = 0; l < localities.Count; l++)
            {
                var locality = localities[l];
                var states = new EndpointState[locality.Endpoints.Count];
                for (var e = 0; e < states.Length; e++)
                {
                    var endpoint = locality.Endpoints[e];
                    var address = endpoint.Address;
                    if (!oldStates.TryGetValue(address, out var state))
                    {
                        state = new EndpointState(cluster.Name, endpoint, address);
                    }

                    state.Endpoint = endpoint;
                    state.Locality = locality.Name;
                    state.Priority = p;
                    states[e] = state;
                }

                priorities[p][l] = new LocalityRuntime(locality.Name, locality.Weight, states);
            }
        }

        // The cluster's lasting state (circuit-breaker count, outlier detector) carries over.
        var clusterState = previous?.State ?? new ClusterState(cluster.Name);
        var all = priorities.SelectMany(p => p).SelectMany(l => l.Endpoints).ToArray();
        if (cluster.OutlierDetection is { } outlierPolicy)
        {
            if (clusterState.OutlierDetector is { } detector)
            {
                detector.Update(outlierPolicy, all);
            }
            else
            {
                var name = cluster.Name;
                var created = new OutlierDetector(outlierPolicy, _time, _random, () => RefreshClusters(source, name), clusterState);
                created.Update(outlierPolicy, all);
                clusterState.SetOutlierDetector(created);
            }
        }
        else
        {
            clusterState.SetOutlierDetector(null);
        }

        return new ClusterRuntime(cluster, priorities, _random, clusterState)
        {
            Tls = cluster.Tls is { } tls ? new Security.Internal.ClusterTlsConnector(cluster.Name, tls, Certificates, _time) : null,
        };
    }

    private void Unsubscribe(Action<MeshTable> subscriber)
    {
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscriber)];
        }
    }

    private sealed class Subscription(MeshRuntime runtime, Action<MeshTable> subscriber) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                runtime.Unsubscribe(subscriber);
            }
        }
    }

    /// <summary>One source's compiled share of the table.</summary>
    private sealed record SourceTable(
        MeshSnapshot Snapshot,
        Dictionary<string, ClusterRuntime> Clusters,
        Dictionary<string, ServiceRouteTable> Services,
        Dictionary<MeshRoute, RouteMatcher> Matchers);
}
