using Mesh.Client.Balancing.Internal;
using Microsoft.Extensions.Primitives;
namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// Runtime state of one cluster that outlives its configuration snapshots: requests in flight for the
/// circuit breaker (gRFC A32) and its overflow count, the outlier detector, and the cluster runtime in force.
/// Kept by the <see cref="MeshTableCompiler"/> per source and cluster name.
/// </summary>
/// <remarks>
/// When outlier detection ejects or returns an endpoint, only this cluster changes: its runtime in force
/// rebuilds its HttpClient picker, and whoever watches <see cref="GetChangeToken"/> (the gRPC balancers of
/// the channels that reach the cluster, service discovery) rebuilds what it made from the cluster. No table
/// is published.
/// </remarks>
internal sealed class ClusterState(string name)
{
    private int _active;
    private long _overflows;
    private long _ejections;
    private readonly Lock _endpointsLock = new();
    private ClusterRuntime? _current;
    private long _endpointsVersion;
    private CancellationTokenSource _endpointsChanged = new();

    public string Name { get; } = name;

    /// <summary>Requests in flight to the cluster.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Requests refused because the cluster was at its limit.</summary>
    public long Overflows => Volatile.Read(ref _overflows);

    /// <summary>Takes a slot unless <paramref name="maxRequests"/> are in flight; counts an overflow otherwise.</summary>
    public bool TryAcquire(uint maxRequests)
    {
        if (Interlocked.Increment(ref _active) <= maxRequests)
        {
            return true;
        }

        Interlocked.Decrement(ref _active);
        Interlocked.Increment(ref _overflows);
        return false;
    }

    /// <summary>Whether a request would be refused now (checked at pick time by the gRPC front door).</summary>
    public bool IsAtLimit(uint maxRequests) => Volatile.Read(ref _active) >= maxRequests;

    /// <summary>Endpoints of the cluster outlier detection has ejected, in all.</summary>
    public long Ejections => Volatile.Read(ref _ejections);

    /// <summary>Counts an ejection.</summary>
    public void CountEjection() => Interlocked.Increment(ref _ejections);

    /// <summary>Counts a request refused without <see cref="TryAcquire"/>.</summary>
    public void CountOverflow() => Interlocked.Increment(ref _overflows);

    public void Acquire() => Interlocked.Increment(ref _active);

    public void Release() => Interlocked.Decrement(ref _active);

    /// <summary>The cluster's outlier detector, while its configuration asks for one.</summary>
    public OutlierDetector? OutlierDetector { get; private set; }

    /// <summary>Replaces the outlier detector; the old one stops and returns the endpoints it ejected.</summary>
    public void SetOutlierDetector(OutlierDetector? detector)
    {
        if (!ReferenceEquals(OutlierDetector, detector))
        {
            OutlierDetector?.Dispose();
            OutlierDetector = detector;
        }
    }

    /// <summary>Increases by one every time an endpoint's usability changes without a configuration change.</summary>
    public long EndpointsVersion => Volatile.Read(ref _endpointsVersion);

    /// <summary>The cluster runtime most recently built on this state.</summary>
    public ClusterRuntime? Current => Volatile.Read(ref _current);

    /// <summary>A token that fires when an endpoint of the cluster is ejected or returned.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _endpointsChanged).Token);

    /// <summary>Makes <paramref name="runtime"/> the cluster's runtime in force; rebuilds its pickers if an ejection changed since it was built.</summary>
    public void Attach(ClusterRuntime runtime)
    {
        lock (_endpointsLock)
        {
            Volatile.Write(ref _current, runtime);
            if (runtime.PickersVersion != _endpointsVersion)
            {
                runtime.RefreshPickers(_endpointsVersion);
            }
        }
    }

    /// <summary>Outlier detection ejected or returned an endpoint: the runtime in force rebuilds its pickers, then watchers are told.</summary>
    public void NotifyEndpointsChanged()
    {
        CancellationTokenSource fired;
        lock (_endpointsLock)
        {
            var version = Interlocked.Increment(ref _endpointsVersion);
            Volatile.Read(ref _current)?.RefreshPickers(version);
            fired = _endpointsChanged;
            Volatile.Write(ref _endpointsChanged, new CancellationTokenSource());
        }

        // Not disposed: a reader may be taking its token right now (a source without a timer needs no disposal).
        fired.Cancel();
    }
}
