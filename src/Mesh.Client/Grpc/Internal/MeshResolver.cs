using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Grpc.Internal;

/// <summary>Creates the resolver for <c>xds:</c> targets.</summary>
internal sealed class MeshResolverFactory(MeshRuntime runtime) : ResolverFactory
{
    public override string Name => MeshGrpc.Scheme;

    public override Resolver Create(ResolverOptions options) =>
        new MeshResolver(TargetName(options.Address), runtime, options.LoggerFactory.CreateLogger<MeshResolver>(), MeshGrpcTls.Prepare(options.ChannelOptions));

    /// <summary>
    /// <c>xds:///catalog</c> names <c>catalog</c>. A target with an authority, <c>xds://corp/catalog</c>, keeps
    /// it (<c>xds://corp/catalog</c>), so that the control plane looks it up in that authority (gRFC A47).
    /// </summary>
    internal static string TargetName(Uri address)
    {
        var name = Uri.UnescapeDataString(address.AbsolutePath.TrimStart('/'));
        return address.Authority.Length == 0 ? name : $"xds://{address.Authority}/{name}";
    }
}

/// <summary>
/// Resolves a mesh target for one channel: on every published table it hands the channel the endpoints
/// of every cluster the service's routes can reach, and passes the table itself to the mesh balancer
/// (a <see cref="MeshResolution"/>), so that addresses and routes always come from the same snapshot.
/// </summary>
/// <remarks>
/// The channel starts a resolver while holding its own lock, and a resolver result takes that lock, so
/// results are delivered without holding any lock of ours: one caller at a time runs the delivery pump
/// and always delivers the newest table, and a caller that finds the pump running leaves it a note.
/// </remarks>
internal sealed partial class MeshResolver : Resolver
{
    private const int Idle = 0;
    private const int Running = 1;
    private const int RunningWithMore = 2;

    private static readonly BalancerAttributesKey<string> HostOverrideKey = new("HostOverride");

    private readonly string _name;
    private readonly MeshRuntime _runtime;
    private readonly ILogger _logger;
    private Action<ResolverResult>? _listener;
    private IDisposable? _subscription;
    private int _pump;
    private int _lookUpStarted;
    private bool _waitExpired;
    private bool _pendingDelivered;

    // Touched only by the pump's current runner.
    private long _deliveredGeneration = -1;
    private ServiceRouteTable? _lastService;
    private ClusterRuntime[] _lastClusters = [];

    private readonly string? _tlsUnavailable;

    public MeshResolver(string name, MeshRuntime runtime, ILogger<MeshResolver> logger, string? tlsUnavailable = null)
    {
        _name = name;
        _runtime = runtime;
        _logger = logger;
        _tlsUnavailable = tlsUnavailable;
    }

    public override void Start(Action<ResolverResult> listener)
    {
        _listener = listener;
        _subscription = _runtime.Subscribe(_ => RequestDelivery());
        RequestDelivery();
    }

    protected override void Dispose(bool disposing)
    {
        _subscription?.Dispose();
        base.Dispose(disposing);
    }

    private void RequestDelivery()
    {
        while (true)
        {
            var state = Volatile.Read(ref _pump);
            if (state == Idle && Interlocked.CompareExchange(ref _pump, Running, Idle) == Idle)
            {
                break;
            }

            if (state == Running && Interlocked.CompareExchange(ref _pump, RunningWithMore, Running) == Running)
            {
                return;
            }

            if (state == RunningWithMore)
            {
                return;
            }
        }

        while (true)
        {
            DeliverLatest();
            if (Interlocked.CompareExchange(ref _pump, Idle, Running) == Running)
            {
                return;
            }

            Volatile.Write(ref _pump, Running);
        }
    }

    private string Display => _name.StartsWith("xds://", StringComparison.Ordinal) ? _name : "xds:///" + _name;

    private void StartLookUp(IMeshDiscovery discovery)
    {
        if (Interlocked.Exchange(ref _lookUpStarted, 1) != 0)
        {
            return;
        }

        // Off the channel's lock: the channel starts its resolver while holding it.
        _ = Task.Run(async () =>
        {
            var table = await _runtime.WaitForNameAsync(_name, discovery.ConfigWaitTimeout, CancellationToken.None).ConfigureAwait(false);
            if (table is null)
            {
                Volatile.Write(ref _waitExpired, true);
                RequestDelivery();
            }
        });
    }

    private void DeliverLatest()
    {
        var table = _runtime.Current;
        var listener = _listener;
        if (listener is null || (table.Generation <= _deliveredGeneration && !Volatile.Read(ref _waitExpired)))
        {
            return;
        }

        if (!table.Services.TryGetValue(_name, out var service))
        {
            DeliverMissing(table, listener);
            return;
        }

        _deliveredGeneration = table.Generation;
        var clusters = ReachableClusters(table, service);
        if (ReferenceEquals(service, _lastService) && clusters.SequenceEqual(_lastClusters))
        {
            return;
        }

        _lastService = service;
        _lastClusters = clusters;
        var addresses = Addresses(clusters);
        var serviceConfig = new ServiceConfig { LoadBalancingConfigs = { new MeshLoadBalancingConfig(new MeshResolution(table, service, _tlsUnavailable)) } };
        Log.Resolved(_logger, _name, addresses.Count, table.Snapshot.Version);
        listener(ResolverResult.ForResult(addresses, serviceConfig, serviceConfigStatus: null));
    }

    /// <summary>The table has no service of the target's name: a pending result while the control plane may still answer, else a failure saying why.</summary>
    private void DeliverMissing(MeshTable table, Action<ResolverResult> listener)
    {
        if (!table.Snapshot.FailedServices.ContainsKey(_name) && _runtime.Discovery is { } discovery && !Volatile.Read(ref _waitExpired))
        {
            // The control plane has not answered yet. The channel gets a result that makes calls
            // wait for a picker, so that each call's deadline bounds its wait; the wait timeout
            // below bounds calls without one.
            StartLookUp(discovery);
            if (!_pendingDelivered)
            {
                _pendingDelivered = true;
                listener(ResolverResult.ForResult([], new ServiceConfig { LoadBalancingConfigs = { new MeshLoadBalancingConfig(MeshResolution.Pending) } }, serviceConfigStatus: null));
            }

            return;
        }

        var message = MissingServiceMessage(table);
        _deliveredGeneration = table.Generation;
        _lastService = null;
        _lastClusters = [];
        Log.NotConfigured(_logger, _name, message);
        listener(ResolverResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, message))));
    }

    /// <summary>Why the target has no service: its source's error, the control plane's silence, or no such service.</summary>
    private string MissingServiceMessage(MeshTable table)
    {
        if (table.Snapshot.FailedServices.TryGetValue(_name, out var failure))
        {
            return $"{Display}: {failure.Message}";
        }

        if (_runtime.Discovery is { } discovery)
        {
            return $"{Display}: no configuration from {discovery.Description} within {discovery.ConfigWaitTimeout.TotalSeconds:0.#} s.";
        }

        return $"{Display}: no mesh service named '{_name}' is configured (source: {table.Snapshot.Source}, version {table.Snapshot.Version}). {UnknownServiceMessage.ForGrpcTarget(_runtime)}";
    }

    /// <summary>The clusters the service's routes can reach: every cluster of the table when a route takes its cluster from a header.</summary>
    private static ClusterRuntime[] ReachableClusters(MeshTable table, ServiceRouteTable service) =>
        service.Routes.Any(r => r.Config.ClusterHeader is not null)
            ? [.. table.Clusters.Values]
            : service.Routes.SelectMany(r => r.Clusters).Distinct().ToArray();

    /// <summary>
    /// One address per endpoint. The channel's connection pool knows an endpoint by host and port only, so
    /// an endpoint that two clusters reach with different TLS settings gets one of them: TLS before
    /// plaintext, else the first cluster's; the other cluster's picker then leaves the endpoint out.
    /// </summary>
    private List<BalancerAddress> Addresses(ClusterRuntime[] clusters)
    {
        var addresses = new List<BalancerAddress>();
        var byAddress = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var cluster in clusters)
        {
            var tls = cluster.Tls;
            if (tls is not null && _tlsUnavailable is not null)
            {
                // The channel cannot secure connections: it gets no address of a TLS cluster (whose calls fail, saying why).
                continue;
            }

            foreach (var state in cluster.AllEndpoints)
            {
                if (byAddress.TryGetValue(state.Address, out var index))
                {
                    if (tls is null || addresses[index].Attributes.TryGetValue(MeshGrpcTls.TlsAttribute, out _))
                    {
                        continue;
                    }
                }

                var address = new BalancerAddress(state.Endpoint.Host, state.Endpoint.Port);
                address.Attributes.Set(HostOverrideKey, XdsTargets.DataPlaneAuthority(_name));
                if (tls is not null)
                {
                    address.Attributes.Set(MeshGrpcTls.TlsAttribute, tls);
                }

                if (byAddress.TryGetValue(state.Address, out index))
                {
                    addresses[index] = address;
                }
                else
                {
                    byAddress[state.Address] = addresses.Count;
                    addresses.Add(address);
                }
            }
        }

        return addresses;
    }
}

/// <summary>What the resolver hands the balancer of one channel with a result: the table and the service its addresses come from.</summary>
/// <param name="Table">The table the result was made from; <see langword="null"/> while the configuration is on its way.</param>
/// <param name="Service">The target's service in <paramref name="Table"/>; <see langword="null"/> while the configuration is on its way.</param>
/// <param name="TlsUnavailable">Why the channel cannot make TLS connections to mesh endpoints, or null when it can.</param>
internal sealed record MeshResolution(MeshTable? Table, ServiceRouteTable? Service, string? TlsUnavailable)
{
    /// <summary>The target's configuration is still on its way: calls wait for a picker.</summary>
    public static MeshResolution Pending { get; } = new(null, null, null);

    public bool IsPending => Service is null;
}

/// <summary>
/// Carries a <see cref="MeshResolution"/> from the resolver to the balancer of one channel, in the one place
/// grpc-dotnet passes from one to the other: the load-balancing config the channel chooses the balancer by.
/// </summary>
/// <remarks>
/// grpc-dotnet (2.85, and its main branch) builds the balancer's <see cref="ChannelState"/> with empty attributes
/// whatever <see cref="ResolverResult.Attributes"/> holds (<c>ConnectionManager.OnResolverResult</c>), so those
/// attributes cannot carry it; the config's inner dictionary holds this one typed entry and nothing else.
/// </remarks>
internal sealed class MeshLoadBalancingConfig : LoadBalancingConfig
{
    private const string ResolutionKey = "resolution";

    public MeshLoadBalancingConfig(MeshResolution resolution)
        : base(MeshGrpc.LoadBalancingPolicyName)
    {
        ((IDictionary<string, object>)Inner[MeshGrpc.LoadBalancingPolicyName])[ResolutionKey] = resolution;
    }

    /// <summary>The resolution <paramref name="config"/> carries, if it is the mesh's.</summary>
    public static MeshResolution? Read(LoadBalancingConfig? config) =>
        config is not null &&
        config.Inner.TryGetValue(MeshGrpc.LoadBalancingPolicyName, out var value) &&
        value is IDictionary<string, object> inner &&
        inner.TryGetValue(ResolutionKey, out var resolution) ? resolution as MeshResolution : null;
}
