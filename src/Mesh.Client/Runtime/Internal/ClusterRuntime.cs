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
    private readonly MeshRandom _random;
    private HttpPickers _pickers;

    public ClusterRuntime(MeshCluster config, LocalityRuntime[][] priorities, MeshRandom random)
        : this(config, priorities, random, new ClusterState(config.Name))
    {
    }

    public ClusterRuntime(MeshCluster config, LocalityRuntime[][] priorities, MeshRandom random, ClusterState state)
    {
        Config = config;
        Priorities = priorities;
        State = state;
        _random = random;
        AllEndpoints = [.. priorities.SelectMany(p => p).SelectMany(l => l.Endpoints)];
        PickersVersion = state.EndpointsVersion;
        _pickers = BuildPickers();
    }

    public MeshCluster Config { get; }

    /// <summary>How connections to the endpoints make their TLS handshake; <see langword="null"/> for plaintext.</summary>
    /// <remarks>
    /// Per-cluster runtime state like the pickers: compiled once from the cluster's TLS settings (SAN matchers, the
    /// runtime's number for the settings) and shared by every request to the cluster.
    /// </remarks>
    public Security.Internal.ClusterTlsConnector? Tls { get; init; }

    /// <summary>State that outlives this snapshot: the circuit breaker's count, outlier detection.</summary>
    public ClusterState State { get; }

    public string Name => Config.Name;

    public LocalityRuntime[][] Priorities { get; }

    public EndpointState[] AllEndpoints { get; }

    /// <summary>The <see cref="ClusterState.EndpointsVersion"/> the HttpClient pickers were last built at.</summary>
    internal long PickersVersion { get; private set; }

    /// <summary>The priority the HttpClient picker serves, or -1 when no endpoint is usable.</summary>
    public int ActivePriority => Volatile.Read(ref _pickers).Priority;

    public EndpointPicker Picker => Volatile.Read(ref _pickers).Picker;

    /// <summary>Picks an endpoint for an HttpClient request; <see langword="null"/> when none is usable.</summary>
    public EndpointState? Pick(in PickRequest request)
    {
        var pickers = Volatile.Read(ref _pickers);
        var index = pickers.Picker.Pick(request);
        return index < 0 ? null : pickers.Candidates[index];
    }

    /// <summary>
    /// Rebuilds the HttpClient picker over the endpoints usable now (outlier detection ejected or returned one)
    /// and swaps it in with one reference write. Called by <see cref="ClusterState"/> under its lock.
    /// </summary>
    internal void RefreshPickers(long version)
    {
        PickersVersion = version;
        Volatile.Write(ref _pickers, BuildPickers());
    }

    private HttpPickers BuildPickers()
    {
        // The HttpClient front door has no connection state per endpoint: an endpoint is usable when its
        // configured health allows it and outlier detection has not ejected it.
        var (priority, candidates) = SelectPriority(Priorities, static s => s.IsUsable);
        return new HttpPickers(priority, [.. candidates.Select(c => c.State)], PickerBuilder.Build(Config.LoadBalancing, candidates, _random));
    }

    /// <summary>The HttpClient front door's pick over the usable endpoints of one moment: swapped whole.</summary>
    private sealed record HttpPickers(int Priority, EndpointState[] Candidates, EndpointPicker Picker);

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
