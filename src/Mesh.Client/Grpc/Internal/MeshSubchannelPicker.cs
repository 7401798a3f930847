using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Grpc.Internal;

/// <summary>Routes each call by its method path and metadata, then picks within the chosen cluster.</summary>
internal sealed class MeshSubchannelPicker(
    ServiceRouteTable service,
    GrpcClusterPicker[][] routePickers,
    IReadOnlyDictionary<ClusterRuntime, GrpcClusterPicker> headerPickers,
    MeshRandom random,
    ulong channelId) : SubchannelPicker
{
    public override PickResult Pick(PickContext context)
    {
        var request = context.Request;
        if (request is null)
        {
            return routePickers.Length > 0 && routePickers[0].Length > 0
                ? routePickers[0][0].Pick(default)
                : NoRoute("(none)");
        }

        var attempt = MeshCallContext.Current;
        var path = request.RequestUri?.AbsolutePath ?? "/";
        var index = attempt is { RouteIndex: >= 0 } && ReferenceEquals(attempt.Service, service) ? attempt.RouteIndex : service.MatchIndex(path, request);
        if (index < 0)
        {
            return NoRoute(path);
        }

        var route = service.Routes[index];
        if (route.Config.ErrorMessage is { } routeError)
        {
            return Failure(MeshRequestMessages.RouteError(service.Name, routeError));
        }

        if (route.Clusters.Length == 0)
        {
            return NoRoute(path);
        }

        var choice = route.ChooseCluster(new HttpRequestView(request), random);
        GrpcClusterPicker? clusterPicker;
        if (choice.Index >= 0)
        {
            clusterPicker = routePickers[index][choice.Index];
        }
        else if (choice.Cluster is null || !headerPickers.TryGetValue(choice.Cluster, out clusterPicker))
        {
            var header = route.Config.ClusterHeader!;
            return Failure(choice.Named is null
                ? MeshRequestMessages.ClusterHeaderMissing(service.Name, header, MeshRequestMessages.Call)
                : MeshRequestMessages.ClusterHeaderUnknown(service.Name, header, choice.Named));
        }

        var result = clusterPicker.Pick(route.ComputeHash(request, channelId), out var endpoint);
        if (attempt is not null)
        {
            attempt.Endpoint = endpoint;
            attempt.Tls = clusterPicker.Tls;
            attempt.Dropped = result.Type == PickResultType.Drop;
        }

        return result;
    }

    private PickResult NoRoute(string path) => Failure(MeshRequestMessages.NoRoute(service.Name, $"'{path}'"));

    private static PickResult Failure(string detail) => PickResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, detail)));
}
