using Mesh.Client.Balancing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Routing.Internal;

/// <summary>Why the mesh could not send a request; <see cref="None"/> when it could.</summary>
internal enum RouteFailure : byte
{
    /// <summary>The decision succeeded.</summary>
    None,

    /// <summary>The route takes its cluster from a header the request does not have.</summary>
    ClusterHeaderMissing,

    /// <summary>The route's cluster header names a cluster that is not configured.</summary>
    ClusterHeaderUnknown,

    /// <summary>The cluster's circuit breaker (max_requests) is full.</summary>
    CircuitBreakerOpen,

    /// <summary>The cluster has no usable endpoint.</summary>
    NoEndpoint,
}

/// <summary>
/// The cluster a request goes to: by weight (<see cref="Index"/> into <see cref="CompiledRoute.Clusters"/>) or
/// named by the route's cluster header (<see cref="Index"/> is -1). A failure keeps the name the header gave.
/// </summary>
internal readonly struct ClusterChoice
{
    private ClusterChoice(ClusterRuntime? cluster, int index, string? named, RouteFailure failure)
    {
        Cluster = cluster;
        Index = index;
        Named = named;
        Failure = failure;
    }

    public ClusterRuntime? Cluster { get; }

    public int Index { get; }

    /// <summary>The cluster name the header carried, if the route reads one.</summary>
    public string? Named { get; }

    public RouteFailure Failure { get; }

    public static ClusterChoice ByWeight(ClusterRuntime cluster, int index) => new(cluster, index, null, RouteFailure.None);

    public static ClusterChoice ByHeader(ClusterRuntime? cluster, string? named) => new(
        cluster, -1, named, cluster is not null ? RouteFailure.None : named is null ? RouteFailure.ClusterHeaderMissing : RouteFailure.ClusterHeaderUnknown);
}

/// <summary>
/// One attempt's route decision for a front door that picks endpoints itself (HttpClient): cluster (weight or
/// header) → circuit breaker → hash → pick, avoiding the previous attempt's endpoint. A success holds a slot of
/// the cluster's circuit breaker, which the caller gives back with <see cref="ClusterState.Release"/> when the
/// attempt ends. The gRPC door shares the cluster step (<see cref="CompiledRoute.ChooseCluster{TRequest}(in TRequest, MeshRandom)"/>)
/// and the messages; its picker picks among ready subchannels and counts the breaker in its call tracker (gRFC A32).
/// </summary>
internal readonly struct RouteDecision
{
    private RouteDecision(ClusterRuntime? cluster, EndpointState? endpoint, string? named, RouteFailure failure)
    {
        Cluster = cluster;
        Endpoint = endpoint;
        Named = named;
        Failure = failure;
    }

    public ClusterRuntime? Cluster { get; }

    public EndpointState? Endpoint { get; }

    /// <summary>The cluster name the route's header carried, for the failure message.</summary>
    public string? Named { get; }

    public RouteFailure Failure { get; }

    public static RouteDecision Decide<TRequest>(CompiledRoute route, in TRequest request, MeshRandom random, ulong channelId, EndpointState? previous)
        where TRequest : struct, IRequestView
    {
        var choice = route.ChooseCluster(request, random);
        if (choice.Cluster is not { } cluster)
        {
            return new RouteDecision(null, null, choice.Named, choice.Failure);
        }

        if (!cluster.State.TryAcquire(cluster.Config.MaxRequests))
        {
            return new RouteDecision(cluster, null, null, RouteFailure.CircuitBreakerOpen);
        }

        var endpoint = PickAvoiding(cluster, route.ComputeHash(request, channelId), previous);
        if (endpoint is null)
        {
            cluster.State.Release();
            return new RouteDecision(cluster, null, null, RouteFailure.NoEndpoint);
        }

        return new RouteDecision(cluster, endpoint, null, RouteFailure.None);
    }

    /// <summary>The message a caller sees for a failed decision (see <see cref="MeshRequestMessages"/>).</summary>
    public string Message(string service, string? header, string unit) => Failure switch
    {
        RouteFailure.ClusterHeaderMissing => MeshRequestMessages.ClusterHeaderMissing(service, header!, unit),
        RouteFailure.ClusterHeaderUnknown => MeshRequestMessages.ClusterHeaderUnknown(service, header!, Named!),
        RouteFailure.CircuitBreakerOpen => MeshRequestMessages.CircuitBreakerOpen(service, Cluster!.Name, Cluster.Config.MaxRequests, unit),
        _ => MeshRequestMessages.NoHealthyEndpoint(service, Cluster!.Name, Cluster.Config.ErrorMessage),
    };

    /// <summary>A retry prefers an endpoint the previous attempt did not use (as Envoy's previous-hosts predicate): up to three more draws.</summary>
    private static EndpointState? PickAvoiding(ClusterRuntime cluster, PickRequest hash, EndpointState? previous)
    {
        var endpoint = cluster.Pick(hash);
        for (var i = 0; i < 3 && endpoint is not null && ReferenceEquals(endpoint, previous) && cluster.Picker.Count > 1; i++)
        {
            endpoint = cluster.Pick(hash.HasHash ? new PickRequest(hash.Hash + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL, true) : hash);
        }

        return endpoint;
    }
}
