using Mesh.Client.Balancing.Internal;
namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// Runtime state of one cluster that outlives its configuration snapshots: requests in flight for the
/// circuit breaker (gRFC A32) and its overflow count. Kept by <see cref="MeshRuntime"/> per source
/// and cluster name.
/// </summary>
internal sealed class ClusterState(string name)
{
    private int _active;
    private long _overflows;

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

    private long _ejections;

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
}
