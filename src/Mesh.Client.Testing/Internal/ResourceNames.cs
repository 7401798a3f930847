using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing.Internal;

/// <summary>Reads the name a client subscribes to out of a packed resource.</summary>
internal static class ResourceNames
{
    public static string Of(Any resource)
    {
        try
        {
            var name = resource.TypeUrl switch
            {
                XdsTypeUrls.Listener => resource.Unpack<Listener>().Name,
                XdsTypeUrls.RouteConfiguration => resource.Unpack<RouteConfiguration>().Name,
                XdsTypeUrls.Cluster => resource.Unpack<Cluster>().Name,
                XdsTypeUrls.ClusterLoadAssignment => resource.Unpack<ClusterLoadAssignment>().ClusterName,
                _ => throw new ArgumentException(
                    $"Cannot tell the name of a resource of type '{resource.TypeUrl}'; pass the type URL and name explicitly.",
                    nameof(resource)),
            };
            return string.IsNullOrEmpty(name)
                ? throw new ArgumentException($"The {resource.TypeUrl} resource has no name.", nameof(resource))
                : name;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ArgumentException($"The {resource.TypeUrl} resource does not parse: {ex.Message}", nameof(resource), ex);
        }
    }
}
