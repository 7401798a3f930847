using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Balancing.Internal;
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
            return PickResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, $"Mesh service '{service.Name}': {routeError}")));
        }

        if (route.Clusters.Length == 0)
        {
            return NoRoute(path);
        }

        GrpcClusterPicker clusterPicker;
        if (route.Config.ClusterHeader is not null)
        {
            var view = new HttpRequestView(request);
            var named = route.ClusterFromHeader(view, out var name);
            if (named is null || !headerPickers.TryGetValue(named, out clusterPicker!))
            {
                return PickResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, name is null
                    ? $"Mesh service '{service.Name}': the route takes its cluster from header '{route.Config.ClusterHeader}', which the call does not have."
                    : $"Mesh service '{service.Name}': header '{route.Config.ClusterHeader}' names cluster '{name}', which is not configured.")));
            }
        }
        else
        {
            clusterPicker = routePickers[index][route.ChooseCluster(random)];
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

    private PickResult NoRoute(string path) =>
        PickResult.ForFailure(ControlPlaneStatus.Sanitize(new Status(StatusCode.Unavailable, $"No route of mesh service '{service.Name}' matches '{path}'.")));
}
