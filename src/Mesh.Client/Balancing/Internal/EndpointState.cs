using Mesh.Client.Model;

namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// Runtime state of one endpoint of one cluster: requests in flight and cached request prefixes.
/// It outlives configuration snapshots for as long as the endpoint stays in its cluster, so counters
/// are not reset by unrelated config changes.
/// </summary>
internal sealed class EndpointState
{
    private int _inFlight;
    private long _started;

    private string? _httpPrefix;
    private string? _httpsPrefix;

    public EndpointState(string clusterName, MeshEndpoint endpoint)
        : this(clusterName, endpoint, endpoint.Address)
    {
    }

    // The address is passed in when the caller has formatted it already.
    public EndpointState(string clusterName, MeshEndpoint endpoint, string address)
    {
        ClusterName = clusterName;
        Address = address;
        Endpoint = endpoint;
    }

    public string ClusterName { get; }

    /// <summary><c>host:port</c>, the key this state is kept under.</summary>
    public string Address { get; }

    /// <summary>The endpoint as the current configuration describes it (weight, health may change).</summary>
    public MeshEndpoint Endpoint { get; set; }

    /// <summary>The locality the endpoint sits in under the current configuration.</summary>
    public LocalityName Locality { get; set; } = LocalityName.Default;

    /// <summary>Priority under the current configuration.</summary>
    public int Priority { get; set; }

    // Made on first use: most endpoints of a large xDS cluster may never see an HttpClient request.
    public string HttpPrefix => _httpPrefix ??= "http://" + Address;

    public string HttpsPrefix => _httpsPrefix ??= "https://" + Address;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests started on this endpoint since it joined its cluster.</summary>
    public long Started => Volatile.Read(ref _started);

    public void OnStart()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _started);
    }

    public void OnEnd() => Interlocked.Decrement(ref _inFlight);

    public override string ToString() => $"{ClusterName}/{Address}";
}
