using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Grpc.Internal;

/// <summary>Routes each call by its method path and metadata, then picks within the chosen cluster.</summary>
internal sealed class MeshSubchannelPicker(
    ServiceRouteTable service,
    GrpcClusterPicker[][] routePickers,
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

        var path = request.RequestUri?.AbsolutePath ?? "/";
        var index = service.MatchIndex(path, request);
        if (index < 0)
        {
            return NoRoute(path);
        }

        var route = service.Routes[index];
        if (route.Config.ErrorMessage is { } routeError)
        {
            return PickResult.ForFailure(new Status(StatusCode.Unavailable, $"Mesh service '{service.Name}': {routeError}"));
        }

        if (route.Clusters.Length == 0)
        {
            return NoRoute(path);
        }

        var cluster = route.ChooseCluster(random);
        return routePickers[index][cluster].Pick(route.ComputeHash(request, channelId));
    }

    private PickResult NoRoute(string path) =>
        PickResult.ForFailure(new Status(StatusCode.Unavailable, $"No route of mesh service '{service.Name}' matches '{path}'."));
}
