using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;

namespace Mesh.Client.Runtime.Internal;

/// <summary>The endpoints of one locality of one priority, as runtime states.</summary>
internal sealed record LocalityRuntime(LocalityName Name, uint Weight, EndpointState[] Endpoints);

/// <summary>
/// A cluster ready for the request path: its endpoints as runtime states (grouped by priority and locality)
/// and the picker the HttpClient front door uses. Immutable once built; rebuilt when the cluster's
/// configuration changes.
/// </summary>
internal sealed class ClusterRuntime
{
    private readonly EndpointState[] _candidates;

    public ClusterRuntime(MeshCluster config, LocalityRuntime[][] priorities, MeshRandom random)
        : this(config, priorities, random, new ClusterState(config.Name))
    {
    }

    public ClusterRuntime(MeshCluster config, LocalityRuntime[][] priorities, MeshRandom random, ClusterState state)
    {
        Config = config;
        Priorities = priorities;
        State = state;
        AllEndpoints = [.. priorities.SelectMany(p => p).SelectMany(l => l.Endpoints)];

        // The HttpClient front door has no connection state per endpoint: an endpoint is usable when its
        // configured health allows it and outlier detection has not ejected it.
        (ActivePriority, var candidates) = SelectPriority(priorities, static s => s.IsUsable);
        _candidates = [.. candidates.Select(c => c.State)];
        Picker = PickerBuilder.Build(config.LoadBalancing, candidates, random);
    }

    public MeshCluster Config { get; }

    // The attempt count of the service whose requests last came here (most clusters serve one).
    private ServiceAttempts? _httpAttempts;

    /// <summary>The count of HttpClient attempts of <paramref name="service"/> to this cluster.</summary>
    public Telemetry.Internal.AttemptCount HttpAttempts(Telemetry.Internal.MeshMetrics metrics, string service)
    {
        if (Volatile.Read(ref _httpAttempts) is { } last && ReferenceEquals(last.Service, service))
        {
            return last.Count;
        }

        var count = metrics.HttpAttempts(service, Name);
        Volatile.Write(ref _httpAttempts, new ServiceAttempts(service, count));
        return count;
    }

    private sealed record ServiceAttempts(string Service, Telemetry.Internal.AttemptCount Count);

    /// <summary>How connections to the endpoints make their TLS handshake; <see langword="null"/> for plaintext.</summary>
    public Security.Internal.ClusterTlsConnector? Tls { get; init; }

    /// <summary>State that outlives this snapshot: the circuit breaker's count.</summary>
    public ClusterState State { get; }

    public string Name => Config.Name;

    public LocalityRuntime[][] Priorities { get; }

    public EndpointState[] AllEndpoints { get; }

    /// <summary>The priority the HttpClient picker serves, or -1 when no endpoint is usable.</summary>
    public int ActivePriority { get; }

    public EndpointPicker Picker { get; }

    /// <summary>Picks an endpoint for an HttpClient request; <see langword="null"/> when none is usable.</summary>
    public EndpointState? Pick(in PickRequest request)
    {
        var index = Picker.Pick(request);
        return index < 0 ? null : _candidates[index];
    }

    /// <summary>
    /// The first priority with at least one usable endpoint in a locality of non-zero weight, and its
    /// candidates in locality order.
    /// </summary>
    public static (int Priority, PickCandidate[] Candidates) SelectPriority(LocalityRuntime[][] priorities, Func<EndpointState, bool> usable)
    {
        for (var p = 0; p < priorities.Length; p++)
        {
            var candidates = CollectCandidates(priorities[p], usable);
            if (candidates.Length > 0)
            {
                return (p, candidates);
            }
        }

        return (-1, []);
    }

    public static PickCandidate[] CollectCandidates(LocalityRuntime[] localities, Func<EndpointState, bool> usable)
    {
        // Count first, so that a cluster of thousands of endpoints fills one array instead of growing a list.
        var count = 0;
        foreach (var locality in localities)
        {
            if (locality.Weight != 0)
            {
                foreach (var state in locality.Endpoints)
                {
                    count += usable(state) ? 1 : 0;
                }
            }
        }

        var result = new PickCandidate[count];
        var at = 0;
        for (var l = 0; l < localities.Length && at < count; l++)
        {
            var locality = localities[l];
            if (locality.Weight == 0)
            {
                continue;
            }

            foreach (var state in locality.Endpoints)
            {
                if (at < count && usable(state))
                {
                    result[at++] = PickCandidate.From(state, l, locality.Weight);
                }
            }
        }

        return at == count ? result : result[..at];
    }
}
