using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing;

public static partial class XdsResources
{
    /// <summary>
    /// A ClusterLoadAssignment with one locality (zone <c>default</c>, weight 1, priority 0) holding
    /// <paramref name="addresses"/>, each healthy and of weight 1.
    /// </summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <param name="addresses"><c>host:port</c> addresses, e.g. <c>127.0.0.1:5001</c>; none makes an empty assignment.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName, params string[] addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        return addresses.Length == 0
            ? ClusterLoadAssignment(clusterName)
            : ClusterLoadAssignment(clusterName, new XdsLocality("default", [.. addresses.Select(a => new XdsEndpoint(a))]));
    }

    /// <summary>A ClusterLoadAssignment with no endpoints: the cluster exists but has nowhere to send requests.</summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName) =>
        ClusterLoadAssignment(clusterName, Array.Empty<XdsLocality>());

    /// <summary>A ClusterLoadAssignment with the given localities, priorities, weights and health.</summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <param name="localities">The localities, in order.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName, params XdsLocality[] localities)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        ArgumentNullException.ThrowIfNull(localities);
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        foreach (var locality in localities)
        {
            ArgumentNullException.ThrowIfNull(locality, nameof(localities));
            var group = new LocalityLbEndpoints
            {
                Locality = new Locality { Region = locality.Region, Zone = locality.Zone, SubZone = locality.SubZone },
                LoadBalancingWeight = locality.Weight == 0 ? null : locality.Weight,
                Priority = locality.Priority,
            };
            foreach (var endpoint in locality.Endpoints)
            {
                ArgumentNullException.ThrowIfNull(endpoint, nameof(localities));
                var (host, port) = ParseAddress(endpoint.Address, clusterName, nameof(localities));
                group.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint
                    {
                        Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = port } },
                    },
                    HealthStatus = (HealthStatus)endpoint.Health,
                    LoadBalancingWeight = endpoint.Weight == 0 ? null : endpoint.Weight,
                });
            }

            assignment.Endpoints.Add(group);
        }

        return Any.Pack(assignment);
    }

    /// <summary>Splits <c>host:port</c> or <c>[v6]:port</c>.</summary>
    private static (string Host, uint Port) ParseAddress(string address, string clusterName, string parameterName)
    {
        string host;
        string portText;
        if (address.StartsWith('['))
        {
            var close = address.IndexOf(']', StringComparison.Ordinal);
            host = close > 1 ? address[1..close] : string.Empty;
            portText = close > 0 && close + 1 < address.Length && address[close + 1] == ':' ? address[(close + 2)..] : string.Empty;
        }
        else
        {
            var colon = address.LastIndexOf(':');
            host = colon > 0 && address.IndexOf(':', StringComparison.Ordinal) == colon ? address[..colon] : string.Empty;
            portText = colon > 0 ? address[(colon + 1)..] : string.Empty;
        }

        if (host.Length == 0
            || !uint.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is 0 or > 65535)
        {
            throw new ArgumentException(
                $"Cluster load assignment '{clusterName}': endpoint address '{address}' is not host:port (IPv6 as [address]:port, port 1-65535).",
                parameterName);
        }

        return (host, port);
    }
}
