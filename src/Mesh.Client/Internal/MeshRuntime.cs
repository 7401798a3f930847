using System.Collections.Frozen;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Microsoft.Extensions.Primitives;

namespace Mesh.Client.Internal;

/// <summary>
/// Holds the table the request path reads and publishes new ones. Publication is serialised and ends in
/// one reference swap; readers never lock. Endpoint runtime state (requests in flight) is carried over
/// from one table to the next for every endpoint that stays in its cluster.
/// </summary>
internal sealed class MeshRuntime
{
    private static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    private readonly Lock _publishLock = new();
    private readonly Lock _subscribersLock = new();
    private readonly MeshRandom _random;
    private MeshTable _table = MeshTable.Empty;
    private Action<MeshTable>[] _subscribers = [];
    private CancellationTokenSource _changeSource = new();

    public MeshRuntime(MeshRandom random)
    {
        _random = random;
    }

    public MeshRandom Random => _random;

    /// <summary>The table in force. One volatile read.</summary>
    public MeshTable Current => Volatile.Read(ref _table);

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

    /// <summary>Compiles <paramref name="snapshot"/> and makes it the table in force.</summary>
    public MeshTable Publish(MeshSnapshot snapshot)
    {
        MeshTable table;
        CancellationTokenSource previousSource;
        lock (_publishLock)
        {
            var previous = _table;
            var clusters = new Dictionary<string, ClusterRuntime>(NameComparer);
            foreach (var (name, cluster) in snapshot.Clusters)
            {
                clusters[name] = previous.Clusters.TryGetValue(name, out var old) && ModelEquality.ClusterEquals(old.Config, cluster)
                    ? old
                    : BuildCluster(cluster, previous.Clusters.GetValueOrDefault(name));
            }

            var services = new Dictionary<string, ServiceRouteTable>(NameComparer);
            foreach (var (name, service) in snapshot.Services)
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
                            target = BuildCluster(
                                new MeshCluster { Name = clusterName, LoadBalancing = RoundRobinPolicy.Instance, Priorities = [] },
                                previous: null);
                            clusters[clusterName] = target;
                        }

                        targets[c] = target;
                    }

                    routes[r] = new CompiledRoute(route, targets);
                }

                services[name] = new ServiceRouteTable(service, routes);
            }

            table = new MeshTable(
                snapshot,
                services.ToFrozenDictionary(NameComparer),
                clusters.ToFrozenDictionary(NameComparer),
                previous.Generation + 1);
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

    private ClusterRuntime BuildCluster(MeshCluster cluster, ClusterRuntime? previous)
    {
        var oldStates = new Dictionary<string, EndpointState>(StringComparer.Ordinal);
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
                    if (!oldStates.TryGetValue(endpoint.Address, out var state))
                    {
                        state = new EndpointState(cluster.Name, endpoint);
                    }

                    state.Endpoint = endpoint;
                    state.Locality = locality.Name;
                    state.Priority = p;
                    states[e] = state;
                }

                priorities[p][l] = new LocalityRuntime(locality.Name, locality.Weight, states);
            }
        }

        return new ClusterRuntime(cluster, priorities, _random);
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
}
