using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Mesh.Client.Grpc.Internal;

/// <summary>Creates the mesh balancer for a channel.</summary>
internal sealed class MeshLoadBalancerFactory(MeshRuntime runtime) : LoadBalancerFactory
{
    public override string Name => MeshGrpc.LoadBalancingPolicyName;

    public override LoadBalancer Create(LoadBalancerOptions options) =>
        new MeshLoadBalancer(options.Controller, runtime.Random, options.LoggerFactory.CreateLogger<MeshLoadBalancer>());
}

/// <summary>
/// The gRPC front door's balancer: one subchannel per endpoint address (shared by every cluster that
/// lists it), kept across updates while the address stays; a picker that routes each call with the same
/// route tables and balancing policies as the HttpClient front door, over the endpoints whose
/// subchannel is ready.
/// </summary>
/// <remarks>
/// The channel calls a balancer while holding its own lock; this class takes its lock only around its own
/// fields and calls back into the channel (create, connect, update state) outside it.
/// </remarks>
internal sealed partial class MeshLoadBalancer : LoadBalancer
{
    private readonly IChannelControlHelper _controller;
    private readonly MeshRandom _random;
    private readonly ILogger _logger;
    private readonly ulong _channelId;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SubchannelEntry> _subchannels = new(StringComparer.Ordinal);
    private readonly Lock _watchLock = new();
    private readonly Dictionary<ClusterState, IDisposable> _watches = new(ReferenceEqualityComparer.Instance);
    private Dictionary<ClusterRuntime, GrpcClusterPicker> _clusterPickers = [];
    private ServiceRouteTable? _service;
    private MeshTable? _table;
    private string _version = string.Empty;
    private string? _tlsUnavailable;
    private bool _disposed;

    public MeshLoadBalancer(IChannelControlHelper controller, MeshRandom random, ILogger<MeshLoadBalancer> logger)
    {
        _controller = controller;
        _random = random;
        _logger = logger;
        _channelId = random.NextUInt64();
    }

    public override void UpdateChannelState(ChannelState state)
    {
        var resolution = state.Status.StatusCode == StatusCode.OK ? MeshLoadBalancingConfig.Read(state.LoadBalancingConfig) : null;
        if (resolution is { IsPending: true })
        {
            // Configuration is on its way: calls wait for a picker, within their deadlines.
            _controller.UpdateState(new BalancerState(ConnectivityState.Connecting, QueuePicker.Instance));
            return;
        }

        if (resolution is not { Table: { } table, Service: { } service })
        {
            FailChannel(state.Status);
            return;
        }

        var created = new List<SubchannelEntry>();
        var removed = new List<SubchannelEntry>();
        if (!TakeResolution(resolution, table, service, state.Addresses ?? [], created, removed))
        {
            return;
        }

        foreach (var entry in removed)
        {
            entry.Registration?.Dispose();
            entry.Subchannel?.Dispose();
        }

        foreach (var entry in created)
        {
            var subchannel = _controller.CreateSubchannel(new SubchannelOptions([entry.Address]));
            entry.Subchannel = subchannel;
            entry.Registration = subchannel.OnStateChanged(s => OnSubchannelStateChanged(entry, s));
        }

        Log.Updated(_logger, service.Name, _version, created.Count, removed.Count);
        UpdatePicker();
        WatchClusters();

        foreach (var entry in created)
        {
            entry.Subchannel!.RequestConnection();
        }
    }

    /// <summary>The resolver gave an error or no mesh configuration: every call fails with its status.</summary>
    private void FailChannel(Status resolverStatus)
    {
        var status = resolverStatus.StatusCode != StatusCode.OK
            ? resolverStatus
            : new Status(StatusCode.Unavailable, "The mesh resolver gave no mesh configuration.");
        // The mesh resolver reports an error only when the service itself is gone (deleted by the control
        // plane, removed from appsettings) or never had configuration; an unreachable control plane leaves
        // the last good configuration in the table (gRFC A57), so there is nothing to keep here.
        lock (_lock)
        {
            _service = null;
        }

        Log.ResolverError(_logger, status.Detail);
        _controller.UpdateState(new BalancerState(ConnectivityState.TransientFailure, new FailurePicker(status)));
    }

    /// <summary>
    /// Under the lock, takes the resolution's table and service and matches the subchannels to its addresses:
    /// <paramref name="created"/> gets an entry per new address, <paramref name="removed"/> those whose address went
    /// away (both to be made or disposed outside the lock). False when the balancer is disposed.
    /// </summary>
    private bool TakeResolution(MeshResolution resolution, MeshTable table, ServiceRouteTable service, IReadOnlyList<BalancerAddress> addresses, List<SubchannelEntry> created, List<SubchannelEntry> removed)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            _service = service;
            _table = table;
            _tlsUnavailable = resolution.TlsUnavailable;
            _version = table.Snapshot.Version;
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (var address in addresses)
            {
                // An endpoint whose TLS settings change gets a new subchannel: its connections are made anew.
                var key = AddressKey(address.EndPoint.Host, address.EndPoint.Port);
                if (address.Attributes.TryGetValue(MeshGrpcTls.TlsAttribute, out var tls))
                {
                    key += "|tls" + tls.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                wanted.Add(key);
                if (!_subchannels.ContainsKey(key))
                {
                    var entry = new SubchannelEntry(key, address);
                    _subchannels[key] = entry;
                    created.Add(entry);
                }
            }

            foreach (var (key, entry) in _subchannels)
            {
                if (!wanted.Contains(key))
                {
                    removed.Add(entry);
                }
            }

            foreach (var entry in removed)
            {
                _subchannels.Remove(entry.Key);
            }
        }

        return true;
    }

    public override void RequestConnection()
    {
        SubchannelEntry[] entries;
        lock (_lock)
        {
            entries = [.. _subchannels.Values];
        }

        foreach (var entry in entries)
        {
            if (entry.State == ConnectivityState.Idle)
            {
                entry.Subchannel?.RequestConnection();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        SubchannelEntry[] entries;
        lock (_lock)
        {
            _disposed = true;
            entries = [.. _subchannels.Values];
            _subchannels.Clear();
        }

        foreach (var entry in entries)
        {
            entry.Registration?.Dispose();
            entry.Subchannel?.Dispose();
        }

        WatchClusters();
        base.Dispose(disposing);
    }

    private void OnSubchannelStateChanged(SubchannelEntry entry, SubchannelState state)
    {
        lock (_lock)
        {
            if (!_subchannels.TryGetValue(entry.Key, out var current) || current != entry)
            {
                return;
            }

            entry.State = state.State;
            entry.LastStatus = state.Status;
        }

        if (state.State == ConnectivityState.Idle)
        {
            // Stay connected to every endpoint, as round_robin does: reconnect when a connection drops.
            entry.Subchannel?.RequestConnection();
        }

        UpdatePicker();
    }

    private void UpdatePicker()
    {
        MeshSubchannelPicker picker;
        ConnectivityState aggregate;
        lock (_lock)
        {
            if (_service is null || _disposed)
            {
                return;
            }

            var clusterPickers = new Dictionary<ClusterRuntime, GrpcClusterPicker>();
            foreach (var route in _service.Routes)
            {
                foreach (var cluster in route.Clusters)
                {
                    if (!clusterPickers.ContainsKey(cluster))
                    {
                        clusterPickers[cluster] = GrpcClusterPicker.Build(_service.Name, cluster, _subchannels, _random, _tlsUnavailable);
                    }
                }
            }

            // Routes that take their cluster from a header may reach any cluster of the table.
            if (_table is not null && _service.Routes.Any(r => r.Config.ClusterHeader is not null))
            {
                foreach (var cluster in _table.Clusters.Values)
                {
                    if (!clusterPickers.ContainsKey(cluster))
                    {
                        clusterPickers[cluster] = GrpcClusterPicker.Build(_service.Name, cluster, _subchannels, _random, _tlsUnavailable);
                    }
                }
            }

            (aggregate, picker) = Compose(_service, clusterPickers);
        }

        _controller.UpdateState(new BalancerState(aggregate, picker));
    }

    /// <summary>
    /// Outlier detection ejected or returned an endpoint of the cluster of <paramref name="state"/>: rebuilds that
    /// cluster's picker only, and the channel's picker around it. No table is published for it.
    /// </summary>
    private void OnClusterChanged(ClusterState state)
    {
        MeshSubchannelPicker picker;
        ConnectivityState aggregate;
        lock (_lock)
        {
            if (_service is null || _disposed || !_clusterPickers.Keys.Any(c => ReferenceEquals(c.State, state)))
            {
                return;
            }

            var clusterPickers = new Dictionary<ClusterRuntime, GrpcClusterPicker>(_clusterPickers);
            foreach (var cluster in _clusterPickers.Keys)
            {
                if (ReferenceEquals(cluster.State, state))
                {
                    clusterPickers[cluster] = GrpcClusterPicker.Build(_service.Name, cluster, _subchannels, _random, _tlsUnavailable);
                }
            }

            (aggregate, picker) = Compose(_service, clusterPickers);
        }

        _controller.UpdateState(new BalancerState(aggregate, picker));
    }

    /// <summary>The channel's picker over <paramref name="clusterPickers"/>, which become the ones in force. Called under the lock.</summary>
    private (ConnectivityState, MeshSubchannelPicker) Compose(ServiceRouteTable service, Dictionary<ClusterRuntime, GrpcClusterPicker> clusterPickers)
    {
        var routePickers = new GrpcClusterPicker[service.Routes.Length][];
        for (var r = 0; r < routePickers.Length; r++)
        {
            var clusters = service.Routes[r].Clusters;
            routePickers[r] = new GrpcClusterPicker[clusters.Length];
            for (var c = 0; c < clusters.Length; c++)
            {
                routePickers[r][c] = clusterPickers[clusters[c]];
            }
        }

        _clusterPickers = clusterPickers;
        return (Aggregate(clusterPickers.Values), new MeshSubchannelPicker(service, routePickers, clusterPickers, _random, _channelId));
    }

    /// <summary>Watches the clusters the channel's picker serves for ejections, and stops watching the others.</summary>
    private void WatchClusters()
    {
        HashSet<ClusterState> wanted;
        lock (_lock)
        {
            wanted = _disposed ? [] : [.. _clusterPickers.Keys.Select(c => c.State)];
        }

        lock (_watchLock)
        {
            foreach (var (state, watch) in _watches.Where(w => !wanted.Contains(w.Key)).ToArray())
            {
                watch.Dispose();
                _watches.Remove(state);
            }

            foreach (var state in wanted)
            {
                if (!_watches.ContainsKey(state))
                {
                    _watches[state] = ChangeToken.OnChange(state.GetChangeToken, OnClusterChanged, state);
                }
            }
        }
    }

    private static ConnectivityState Aggregate(IEnumerable<GrpcClusterPicker> pickers)
    {
        var any = false;
        var connecting = false;
        foreach (var picker in pickers)
        {
            any = true;
            if (picker.Mode == GrpcClusterPicker.PickMode.Ready)
            {
                return ConnectivityState.Ready;
            }

            connecting |= picker.Mode == GrpcClusterPicker.PickMode.Queue;
        }

        return connecting || !any ? ConnectivityState.Connecting : ConnectivityState.TransientFailure;
    }

    internal static string AddressKey(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>One subchannel and what the balancer knows of it.</summary>
    internal sealed class SubchannelEntry(string key, BalancerAddress address)
    {
        public string Key { get; } = key;

        /// <summary>The TLS settings connections to this endpoint use; null for cleartext.</summary>
        public Security.Internal.ClusterTlsConnector? Tls { get; } = address.Attributes.TryGetValue(MeshGrpcTls.TlsAttribute, out var tls) ? tls : null;

        public BalancerAddress Address { get; } = address;

        public Subchannel? Subchannel { get; set; }

        public IDisposable? Registration { get; set; }

        public ConnectivityState State { get; set; } = ConnectivityState.Idle;

        public Status LastStatus { get; set; }
    }
}
