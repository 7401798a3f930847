using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// The gRPC view of one cluster for one channel: the priority chosen by subchannel readiness, a picker
/// over its ready endpoints, and one cached <see cref="PickResult"/> per endpoint so that a pick
/// allocates nothing.
/// </summary>
internal sealed class GrpcClusterPicker
{
    private static readonly PickResult QueueResult = PickResult.ForQueue();

    private readonly EndpointPicker? _picker;
    private readonly PickResult?[] _results;
    private readonly EndpointState[] _states;
    private readonly EndpointState[] _fallbackStates;
    private readonly ClusterState? _cluster;
    private readonly uint _maxRequests;
    private readonly PickResult? _drop;
    private readonly bool[] _failed;
    private readonly EndpointPicker? _fallback;
    private readonly PickResult[] _fallbackResults;
    private readonly PickResult? _failure;

    private GrpcClusterPicker(PickMode mode, EndpointPicker? picker, PickResult?[] results, EndpointState[] states, bool[] failed, EndpointPicker? fallback, PickResult[] fallbackResults, EndpointState[] fallbackStates, PickResult? failure, ClusterRuntime? cluster = null, string service = "")
    {
        Mode = mode;
        _picker = picker;
        _results = results;
        _states = states;
        _fallbackStates = fallbackStates;
        _cluster = cluster?.State;
        _maxRequests = cluster?.Config.MaxRequests ?? uint.MaxValue;
        _drop = cluster is null ? null : PickResult.ForDrop(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable,
            MeshRequestMessages.CircuitBreakerOpen(service, cluster.Name, cluster.Config.MaxRequests, MeshRequestMessages.Call))));
        _failed = failed;
        _fallback = fallback;
        _fallbackResults = fallbackResults;
        _failure = failure;
    }

    public enum PickMode
    {
        /// <summary>Some endpoint is ready: picks complete.</summary>
        Ready,

        /// <summary>The preferred priority is still connecting: calls wait.</summary>
        Queue,

        /// <summary>Nothing can take the call.</summary>
        Fail,
    }

    public PickMode Mode { get; }

    /// <summary>The cluster's TLS settings, whose verified peers the call's telemetry reports.</summary>
    public Security.Internal.ClusterTlsConnector? Tls { get; init; }

    public PickResult Pick(in PickRequest request) => Pick(request, out _);

    /// <summary>Picks for a call; <paramref name="endpoint"/> is the endpoint a completed pick chose.</summary>
    public PickResult Pick(in PickRequest request, out EndpointState? endpoint)
    {
        endpoint = null;
        if (_cluster is not null && _cluster.IsAtLimit(_maxRequests))
        {
            // Circuit breaking (gRFC A32): a drop, which gRPC never retries.
            _cluster.CountOverflow();
            return _drop!;
        }

        if (_picker is not null)
        {
            var index = _picker.Pick(request);
            if (index >= 0)
            {
                if (_results[index] is { } result)
                {
                    endpoint = _states[index];
                    return result;
                }

                // A hash-based pick landed on an endpoint that is not ready. Wait for it while it connects
                // (so that a key keeps its endpoint); past a failure, take the next ready one.
                if (_fallback is null || !_failed[index])
                {
                    return QueueResult;
                }

                var next = _fallback.Pick(request);
                if (next >= 0)
                {
                    endpoint = _fallbackStates[next];
                    return _fallbackResults[next];
                }
            }
        }

        return Mode == PickMode.Fail ? _failure! : QueueResult;
    }

    /// <summary>
    /// Walks the priorities in order, as gRPC's priority policy does: the first priority with a ready
    /// endpoint serves; a priority whose endpoints are still connecting makes calls wait; a priority whose
    /// endpoints have all failed (or are unhealthy) is skipped.
    /// </summary>
    /// <remarks>
    /// Round robin, random and least request balance over the ready endpoints only. Ring hash and Maglev
    /// place every usable endpoint, ready or not, so that a key's endpoint does not move while connections
    /// come up (gRFC A42); a pick that lands on a failed endpoint goes to a table over the ready ones.
    /// </remarks>
    public static GrpcClusterPicker Build(string service, ClusterRuntime cluster, IReadOnlyDictionary<string, MeshLoadBalancer.SubchannelEntry> subchannels, MeshRandom random, string? tlsUnavailable = null)
    {
        if (cluster.Tls is not null && tlsUnavailable is not null)
        {
            // Fail closed: never plaintext to a cluster that asks for TLS.
            return Failed(MeshRequestMessages.TlsUnavailable(service, cluster.Name, tlsUnavailable));
        }

        var builder = new Builder(service, cluster, subchannels, random);
        string? lastError = null;
        foreach (var priority in cluster.Priorities)
        {
            if (builder.ForPriority(priority, ref lastError) is { } picker)
            {
                return picker;
            }
        }

        return Failed(cluster.Config.ErrorMessage is null && cluster.AllEndpoints.Any(e => e.Endpoint.IsUsable)
            ? MeshRequestMessages.NoReachableEndpoint(service, cluster.Name, lastError)
            : MeshRequestMessages.NoHealthyEndpoint(service, cluster.Name, cluster.Config.ErrorMessage));
    }

    private static GrpcClusterPicker Failed(string detail) =>
        new(PickMode.Fail, null, [], [], [], null, [], [], PickResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, detail))));

    /// <summary>Builds the picker of one priority from the channel's subchannels for the cluster's endpoints.</summary>
    private sealed class Builder(string service, ClusterRuntime cluster, IReadOnlyDictionary<string, MeshLoadBalancer.SubchannelEntry> subchannels, MeshRandom random)
    {
        // The subchannel of an endpoint for this cluster: the one with the cluster's TLS settings (or none).
        private readonly string _suffix = cluster.Tls is { } tls ? "|tls" + tls.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty;

        /// <summary>The priority's picker, or <see langword="null"/> when none of its endpoints is ready or connecting (<paramref name="lastError"/>: the latest subchannel failure seen).</summary>
        public GrpcClusterPicker? ForPriority(LocalityRuntime[] priority, ref string? lastError)
        {
            var policy = cluster.Config.LoadBalancing;
            var usable = ClusterRuntime.CollectCandidates(priority, s => s.IsUsable && subchannels.ContainsKey(KeyOf(s)));
            var ready = usable.Where(c => StateOf(c) == ConnectivityState.Ready).ToArray();
            var connecting = usable.Any(c => StateOf(c) is ConnectivityState.Connecting or ConnectivityState.Idle);
            foreach (var candidate in usable)
            {
                if (StateOf(candidate) == ConnectivityState.TransientFailure)
                {
                    lastError = subchannels[KeyOf(candidate.State)].LastStatus.Detail;
                }
            }

            if (ready.Length == 0 && !connecting)
            {
                return null;
            }

            var readyResults = ResultsFor(ready);
            var readyStates = ready.Select(c => c.State).ToArray();
            var readyPicker = ready.Length > 0 ? PickerBuilder.Build(policy, ready, random) : null;
            var mode = ready.Length > 0 ? PickMode.Ready : PickMode.Queue;
            if (!policy.IsHashBased)
            {
                return new GrpcClusterPicker(mode, readyPicker, readyResults, readyStates, [], null, [], [], null, cluster, service) { Tls = cluster.Tls };
            }

            var all = PickerBuilder.Build(policy, usable, random);
            var results = new PickResult?[usable.Length];
            var failed = new bool[usable.Length];
            for (var i = 0; i < usable.Length; i++)
            {
                var state = StateOf(usable[i]);
                results[i] = state == ConnectivityState.Ready ? ResultFor(usable[i]) : null;
                failed[i] = state == ConnectivityState.TransientFailure;
            }

            return new GrpcClusterPicker(mode, all, results, [.. usable.Select(c => c.State)], failed, readyPicker, readyResults, readyStates, null, cluster, service) { Tls = cluster.Tls };
        }

        private string KeyOf(EndpointState state) => _suffix.Length == 0 ? state.Address : state.Address + _suffix;

        private ConnectivityState StateOf(in PickCandidate candidate) =>
            subchannels.TryGetValue(KeyOf(candidate.State), out var entry) ? entry.State : ConnectivityState.Shutdown;

        private PickResult ResultFor(in PickCandidate candidate) =>
            PickResult.ForSubchannel(subchannels[KeyOf(candidate.State)].Subchannel!, new EndpointCallTracker(candidate.State, cluster.State));

        private PickResult[] ResultsFor(PickCandidate[] candidates)
        {
            var results = new PickResult[candidates.Length];
            for (var i = 0; i < candidates.Length; i++)
            {
                results[i] = ResultFor(candidates[i]);
            }

            return results;
        }
    }

    /// <summary>
    /// Counts calls in flight on an endpoint (<c>least_request</c>) and on its cluster (circuit breaking), and
    /// records transport failures for outlier detection. When the mesh's interceptor runs the call, it records
    /// the outcome from the call's status instead, since a gRPC error arrives as a trailer, not a transport error.
    /// </summary>
    private sealed class EndpointCallTracker(EndpointState state, ClusterState cluster) : ISubchannelCallTracker
    {
        public void Start()
        {
            state.OnStart();
            cluster.Acquire();
        }

        public void Complete(CompletionContext context)
        {
            state.OnEnd();
            cluster.Release();
            if (context.Error is not null)
            {
                OutcomeRecorder.Record(state, AttemptOutcome.TransportError);
            }
            else if (MeshCallContext.Current is null)
            {
                OutcomeRecorder.Record(state, AttemptOutcome.Grpc(0, dropped: false, committed: false));
            }
        }
    }
}
