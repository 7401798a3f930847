namespace Mesh.Client.Testing;

/// <summary>The type URLs of the four xDS v3 resource types a gRPC client subscribes to.</summary>
public static class XdsTypeUrls
{
    /// <summary>LDS: <c>envoy.config.listener.v3.Listener</c>.</summary>
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";

    /// <summary>RDS: <c>envoy.config.route.v3.RouteConfiguration</c>.</summary>
    public const string RouteConfiguration = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

    /// <summary>CDS: <c>envoy.config.cluster.v3.Cluster</c>.</summary>
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

    /// <summary>EDS: <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</summary>
    public const string ClusterLoadAssignment = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary>
    /// Whether an empty subscription for <paramref name="typeUrl"/> means "every resource" (LDS and CDS), and
    /// whether a response for it must list every subscribed resource that exists, absence meaning deletion.
    /// </summary>
    internal static bool IsFullStateType(string typeUrl) =>
        typeUrl is Listener or Cluster;
}
