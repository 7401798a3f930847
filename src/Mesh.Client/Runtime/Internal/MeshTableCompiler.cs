using System.Collections.Frozen;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Runtime.Internal;

/// <summary>One source's compiled share of the table.</summary>
internal sealed record CompiledSource(
    MeshSnapshot Snapshot,
    Dictionary<string, ClusterRuntime> Clusters,
    Dictionary<string, ServiceRouteTable> Services,
    Dictionary<MeshRoute, RouteMatcher> Matchers);

/// <summary>
/// Turns snapshots into what the request path reads: each source's snapshot into route tables and cluster
/// runtimes (reusing, from the source's previous compilation, every cluster whose configuration did not change
/// and the state of every endpoint that stays in its cluster), and the sources' shares into one
/// <see cref="MeshTable"/>. Called by <see cref="MeshTableStore"/> under its publication lock.
/// </summary>
internal sealed class MeshTableCompiler
{
    private static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    private readonly MeshRandom _random;
    private readonly TimeProvider _time;
    private readonly CertificateProviderStore _certificates;

    public MeshTableCompiler(MeshRandom random, TimeProvider time, CertificateProviderStore certificates, MeshTlsNames tlsNames)
    {
        _random = random;
        _time = time;
        _certificates = certificates;
        TlsNames = tlsNames;
    }

    /// <summary>The runtime's numbering of TLS settings and addresses, pruned by <see cref="Prune"/>.</summary>
    public MeshTlsNames TlsNames { get; }

    /// <summary>Compiles <paramref name="snapshot"/> as the whole configuration of <paramref name="source"/>.</summary>
    public CompiledSource Compile(string source, MeshSnapshot snapshot, CompiledSource? previous)
    {
        var clusters = new Dictionary<string, ClusterRuntime>(NameComparer);
        foreach (var (name, cluster) in snapshot.Clusters)
        {
            ClusterRuntime? old = null;
            previous?.Clusters.TryGetValue(name, out old);
            clusters[name] = old is not null && ModelEquality.ClusterEquals(old.Config, cluster)
                ? old
                : BuildCluster(cluster, old);
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
            if (!byService.TryGetValue(service, out var table))
            {
                table = CompileService(service, clusters, matchers, previous);
                byService[service] = table;
            }

            services[name] = table;
        }

        return new CompiledSource(snapshot, clusters, services, matchers);
    }

    /// <summary>
    /// Merges the sources' shares by name, the <c>appsettings</c> source first (local configuration overrides the
    /// control plane); each source's routes only ever reach that source's clusters.
    /// </summary>
    public static MeshTable Merge(IReadOnlyDictionary<string, CompiledSource> sources, long generation)
    {
        if (sources.Count == 1)
        {
            var only = sources.Values.First();
            return new MeshTable(
                only.Snapshot,
                only.Services.ToFrozenDictionary(NameComparer),
                only.Clusters.ToFrozenDictionary(NameComparer),
                generation);
        }

        var ordered = sources.OrderBy(s => s.Key == MeshTableStore.ConfigurationSource ? 0 : 1).ThenBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value).ToArray();
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

    /// <summary>
    /// Forgets the TLS numbers of settings and addresses no cluster of <paramref name="sources"/> has any more, so
    /// that they hold what the configuration in force holds however often endpoints are replaced.
    /// </summary>
    public void Prune(IEnumerable<CompiledSource> sources)
    {
        if (TlsNames.SettingsCount == 0 && TlsNames.AddressCount == 0)
        {
            return;
        }

        var settings = new HashSet<string>(StringComparer.Ordinal);
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            foreach (var cluster in source.Clusters.Values)
            {
                if (cluster.Tls is { } tls)
                {
                    settings.Add(tls.Key);
                    foreach (var endpoint in cluster.AllEndpoints)
                    {
                        addresses.Add(endpoint.Address);
                    }
                }
            }
        }

        TlsNames.Retain(settings, addresses);
    }

    private ServiceRouteTable CompileService(MeshService service, Dictionary<string, ClusterRuntime> clusters, Dictionary<MeshRoute, RouteMatcher> matchers, CompiledSource? previous)
    {
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
                    target = BuildCluster(new MeshCluster { Name = clusterName, LoadBalancing = RoundRobinPolicy.Instance, Priorities = [] }, previous: null);
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

        return new ServiceRouteTable(service, routes);
    }

    private ClusterRuntime BuildCluster(MeshCluster cluster, ClusterRuntime? previous)
    {
        var priorities = BuildPriorities(cluster, PreviousStates(previous));

        // The cluster's lasting state (circuit-breaker count, outlier detector) carries over.
        var clusterState = previous?.State ?? new ClusterState(cluster.Name);
        ConfigureOutlierDetection(clusterState, cluster.OutlierDetection, priorities);
        var runtime = new ClusterRuntime(cluster, priorities, _random, clusterState)
        {
            Tls = cluster.Tls is { } tls ? new ClusterTlsConnector(cluster.Name, tls, _certificates, _time, TlsNames) : null,
        };
        clusterState.Attach(runtime);
        return runtime;
    }

    /// <summary>The previous cluster's endpoint states by address, for the endpoints that stay to keep theirs.</summary>
    private static Dictionary<string, EndpointState> PreviousStates(ClusterRuntime? previous)
    {
        var oldStates = new Dictionary<string, EndpointState>(previous?.AllEndpoints.Length ?? 0, StringComparer.Ordinal);
        if (previous is not null)
        {
            foreach (var state in previous.AllEndpoints)
            {
                oldStates.TryAdd(state.Address, state);
            }
        }

        return oldStates;
    }

    /// <summary>The cluster's priorities and localities, each endpoint with its old state when it had one, configured anew.</summary>
    private static LocalityRuntime[][] BuildPriorities(MeshCluster cluster, Dictionary<string, EndpointState> oldStates)
    {
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

                    state.Configure(endpoint, locality.Name, p);
                    states[e] = state;
                }

                priorities[p][l] = new LocalityRuntime(locality.Name, locality.Weight, states);
            }
        }

        return priorities;
    }

    /// <summary>Gives the cluster's lasting state the outlier detector its policy asks for (updated when it has one), or none.</summary>
    private void ConfigureOutlierDetection(ClusterState clusterState, OutlierDetectionPolicy? policy, LocalityRuntime[][] priorities)
    {
        if (policy is null)
        {
            clusterState.SetOutlierDetector(null);
            return;
        }

        var all = priorities.SelectMany(p => p).SelectMany(l => l.Endpoints).ToArray();
        if (clusterState.OutlierDetector is { } detector)
        {
            detector.Update(policy, all);
        }
        else
        {
            var created = new OutlierDetector(policy, _time, _random, clusterState.NotifyEndpointsChanged, clusterState);
            created.Update(policy, all);
            clusterState.SetOutlierDetector(created);
        }
    }
}
