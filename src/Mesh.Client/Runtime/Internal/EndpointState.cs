using Mesh.Client.Model;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// Runtime state of one endpoint of one cluster: its configuration in force (<see cref="Config"/>, swapped
/// whole), requests in flight, outlier-detection outcomes and ejection. It outlives configuration snapshots
/// for as long as the endpoint stays in its cluster, so counters are not reset by unrelated config changes.
/// </summary>
internal sealed class EndpointState
{
    private EndpointConfig _config;
    private int _inFlight;
    private long _started;
    private TlsAddress? _tlsPrefix;

    // ---- Outlier detection (gRFC A50): outcomes of the current interval, and ejection. ----
    private long _successes;
    private long _failures;
    private bool _ejected;

    public EndpointState(string clusterName, MeshEndpoint endpoint)
        : this(clusterName, endpoint, endpoint.Address)
    {
    }

    // The address is passed in when the caller has formatted it already.
    public EndpointState(string clusterName, MeshEndpoint endpoint, string address)
    {
        ClusterName = clusterName;
        Address = address;
        _config = new EndpointConfig(address, endpoint, LocalityName.Default, priority: 0);
    }

    public string ClusterName { get; }

    /// <summary><c>host:port</c>, the key this state is kept under.</summary>
    public string Address { get; }

    /// <summary>The endpoint's configuration in force. One volatile read; read it once where several of its parts are used together.</summary>
    public EndpointConfig Config => Volatile.Read(ref _config);

    /// <summary>The endpoint as the current configuration describes it (weight, health may change).</summary>
    public MeshEndpoint Endpoint => Config.Endpoint;

    /// <summary>The locality the endpoint sits in under the current configuration.</summary>
    public LocalityName Locality => Config.Locality;

    /// <summary>Priority under the current configuration.</summary>
    public int Priority => Config.Priority;

    /// <summary>The port as an object, boxed once (a span attribute).</summary>
    public object BoxedPort => Config.BoxedPort;

    /// <summary>The locality as gRPC's metrics label it (gRFC A78): <c>{region="…", zone="…", sub_zone="…"}</c>.</summary>
    public string LocalityLabel => Config.LocalityLabel;

    public string HttpPrefix => Config.HttpPrefix;

    public string HttpsPrefix => Config.HttpsPrefix;

    /// <summary>Takes the configuration a new snapshot gives the endpoint: one reference write, and none when nothing changed.</summary>
    public void Configure(MeshEndpoint endpoint, LocalityName locality, int priority)
    {
        var current = Config;
        if (!current.Matches(endpoint, locality, priority))
        {
            Volatile.Write(ref _config, new EndpointConfig(Address, endpoint, locality, priority));
        }
    }

    private sealed record TlsAddress(int Id, string Prefix);

    /// <summary>
    /// The address HttpClient requests to this endpoint over <paramref name="tls"/> are sent to: a name
    /// under <c>mesh-tls.invalid</c> of this endpoint and these TLS settings (see <c>MeshTlsHttpTransport</c>).
    /// </summary>
    public string TlsPrefix(Security.Internal.ClusterTlsConnector tls)
    {
        if (Volatile.Read(ref _tlsPrefix) is { } cached && cached.Id == tls.Id)
        {
            return cached.Prefix;
        }

        var prefix = $"http://e{tls.AddressId(Address)}.t{tls.Id}.{Security.Internal.MeshTlsHttpTransport.Domain}:{Endpoint.Port}";
        Volatile.Write(ref _tlsPrefix, new TlsAddress(tls.Id, prefix));
        return prefix;
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Whether new requests may go to the endpoint: configured usable and not ejected.</summary>
    public bool IsUsable => Endpoint.IsUsable && !IsEjected;

    /// <summary>Requests started on this endpoint since it joined its cluster.</summary>
    public long Started => Volatile.Read(ref _started);

    public void OnStart()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _started);
    }

    public void OnEnd() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Records a request that succeeded, for outlier detection.</summary>
    public void RecordSuccess() => Interlocked.Increment(ref _successes);

    /// <summary>Records a request that failed (a connection failure, a 5xx, a gRPC error status), for outlier detection.</summary>
    public void RecordFailure() => Interlocked.Increment(ref _failures);

    /// <summary>Successes counted in the current outlier-detection interval, read without taking them (for status pages).</summary>
    public long IntervalSuccesses => Interlocked.Read(ref _successes);

    /// <summary>Failures counted in the current outlier-detection interval, read without taking them (for status pages).</summary>
    public long IntervalFailures => Interlocked.Read(ref _failures);

    /// <summary>Takes the outcomes counted since the last call and starts counting afresh.</summary>
    public (long Successes, long Failures) TakeOutcomes() =>
        (Interlocked.Exchange(ref _successes, 0), Interlocked.Exchange(ref _failures, 0));

    /// <summary>Whether outlier detection has ejected the endpoint: it gets no new requests until un-ejected.</summary>
    public bool IsEjected => Volatile.Read(ref _ejected);

    /// <summary>How many times in a row the endpoint has been ejected; multiplies the ejection time.</summary>
    public int EjectionMultiplier { get; set; }

    /// <summary>When the current ejection began.</summary>
    public DateTimeOffset EjectedAt { get; private set; }

    public void Eject(DateTimeOffset now)
    {
        EjectedAt = now;
        EjectionMultiplier++;
        Volatile.Write(ref _ejected, true);
    }

    public void Uneject() => Volatile.Write(ref _ejected, false);

    public override string ToString() => $"{ClusterName}/{Address}";
}
