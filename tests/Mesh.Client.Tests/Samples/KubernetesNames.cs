namespace Mesh.Client.Tests.Samples;

/// <summary>
/// How Kubernetes and Istio name what the manifests declare, as a proxyless client sees it: Service hosts,
/// and istiod's names for a service port's route table and its subsets' clusters.
/// </summary>
public static class KubernetesNames
{
    /// <summary>The cluster domain Istio and Kubernetes use by default.</summary>
    public const string ClusterDomain = "svc.cluster.local";

    /// <summary>The Service's host: <c>name.namespace.svc.cluster.local</c>.</summary>
    /// <param name="service">The Service name.</param>
    /// <param name="ns">Its namespace.</param>
    /// <returns>The host.</returns>
    public static string ServiceHost(string service, string ns) => $"{service}.{ns}.{ClusterDomain}";

    /// <summary>
    /// Splits a Service host <c>name.namespace.svc.cluster.local</c> into its Service and namespace; anything else
    /// (a short name, an external host) gives <see langword="null"/>.
    /// </summary>
    /// <param name="host">The host.</param>
    /// <returns>The Service and namespace.</returns>
    public static (string Service, string Namespace)? ParseServiceHost(string host)
    {
        var suffix = "." + ClusterDomain;
        if (!host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var parts = host[..^suffix.Length].Split('.');
        return parts is [{ Length: > 0 } service, { Length: > 0 } ns] ? (service, ns) : null;
    }

    /// <summary>
    /// An Istio host (VirtualService <c>hosts</c>, destination <c>host</c>, DestinationRule <c>host</c>) as the
    /// full Service host: a short name is taken in <paramref name="ns"/>, <c>name.namespace</c> gets the cluster domain.
    /// </summary>
    /// <param name="host">The host as written.</param>
    /// <param name="ns">The namespace of the object that wrote it.</param>
    /// <returns>The full host.</returns>
    public static string ResolveIstioHost(string host, string ns) => host.Split('.').Length switch
    {
        1 => ServiceHost(host, ns),
        2 => $"{host}.{ClusterDomain}",
        3 when host.EndsWith(".svc", StringComparison.Ordinal) => $"{host[..^4]}.{ClusterDomain}",
        _ => host,
    };

    /// <summary>istiod's cluster for a subset of a service port: <c>outbound|port|subset|host</c>.</summary>
    /// <param name="port">The Service port.</param>
    /// <param name="subset">The DestinationRule subset; empty for the whole service.</param>
    /// <param name="host">The Service host.</param>
    /// <returns>The cluster name.</returns>
    public static string IstioCluster(int port, string subset, string host) => $"outbound|{port}|{subset}|{host}";

    /// <summary>
    /// The RouteConfiguration istiod names in a proxyless client's Listener for a service port: the cluster name
    /// without a subset (Istio's grpcgen: <c>RouteConfigName: clusterKey(host, port)</c>).
    /// </summary>
    /// <param name="port">The Service port.</param>
    /// <param name="host">The Service host.</param>
    /// <returns>The route configuration name.</returns>
    public static string IstioRouteConfiguration(int port, string host) => IstioCluster(port, string.Empty, host);
}
