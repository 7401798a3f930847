using System.Net;
using System.Net.Sockets;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Validates a ClusterLoadAssignment (gRFC A27, A76) and groups its endpoints into the mesh model's
/// priorities and localities.
/// </summary>
internal static class XdsEndpointDecoder
{
    /// <summary>The endpoint metadata namespace and key that carry an endpoint's ring-hash key (gRFC A76).</summary>
    public const string LbMetadataNamespace = "envoy.lb";

    public const string HashKeyField = "hash_key";

    public static XdsEndpointUpdate? Decode(ClusterLoadAssignment assignment, List<string> errors)
    {
        var errorCount = errors.Count;
        var priorities = new SortedDictionary<uint, List<MeshLocality>>();
        var addresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < assignment.Endpoints.Count; i++)
        {
            var localityEndpoints = assignment.Endpoints[i];
            var path = $"endpoints[{i}]";

            // A locality without weight takes no traffic; gRPC leaves it out altogether, and so it does not
            // count towards its priority either.
            var weight = localityEndpoints.LoadBalancingWeight ?? 0;
            if (weight == 0)
            {
                continue;
            }

            if (localityEndpoints.Locality is not { } localityProto)
            {
                AddError(errors, Field(path, "locality"), "field not present");
                continue;
            }

            var name = new LocalityName(localityProto.Region, localityProto.Zone, localityProto.SubZone);
            var endpoints = new List<MeshEndpoint>(localityEndpoints.LbEndpoints.Count);
            for (var j = 0; j < localityEndpoints.LbEndpoints.Count; j++)
            {
                if (DecodeEndpoint(localityEndpoints.LbEndpoints[j], Field(path, $"lb_endpoints[{j}]"), addresses, errors) is { } endpoint)
                {
                    endpoints.Add(endpoint);
                }
            }

            if (!priorities.TryGetValue(localityEndpoints.Priority, out var localities))
            {
                priorities[localityEndpoints.Priority] = localities = [];
            }

            if (localities.Exists(l => l.Name == name))
            {
                AddError(errors, path, $"duplicate locality {name} in priority {localityEndpoints.Priority}");
                continue;
            }

            localities.Add(new MeshLocality { Name = name, Weight = weight, Endpoints = endpoints });
        }

        // Priorities are positions in a failover list: a missing level would make "the next priority"
        // ambiguous, so gRPC rejects the assignment.
        if (priorities.Count > 0 && priorities.Keys.Last() != priorities.Count - 1)
        {
            AddError(errors, "endpoints", $"priorities must be contiguous: found {string.Join(", ", priorities.Keys)}");
        }

        foreach (var (priority, localities) in priorities)
        {
            ulong total = 0;
            foreach (var locality in localities)
            {
                total += locality.Weight;
            }

            if (total > uint.MaxValue)
            {
                AddError(errors, "endpoints", $"the sum of the locality weights of priority {priority} ({total}) must not exceed {uint.MaxValue}");
            }
        }

        // policy.drop_overloads is not read yet; a later change adds drops.
        return errors.Count > errorCount
            ? null
            : new XdsEndpointUpdate([.. priorities.Values.Select(localities => new MeshPriority(localities))]);
    }

    private static MeshEndpoint? DecodeEndpoint(LbEndpoint lbEndpoint, string path, HashSet<string> addresses, List<string> errors)
    {
        var errorCount = errors.Count;
        var weight = lbEndpoint.LoadBalancingWeight ?? 1;
        if (weight == 0)
        {
            AddError(errors, Field(path, "load_balancing_weight"), "must be 1 or more");
        }

        var endpointPath = Field(path, "endpoint");
        if (lbEndpoint.Endpoint is not { } endpoint)
        {
            AddError(errors, endpointPath, "field not present");
            return null;
        }

        // The address comes from socket_address only; endpoint.hostname is informational (gRPC uses it as
        // the authority at most), and additional_addresses (gRFC A61) are not read yet.
        var addressPath = Field(endpointPath, "address");
        if (endpoint.Address is not { } address)
        {
            AddError(errors, addressPath, "field not present");
            return null;
        }

        var socketPath = Field(addressPath, "socket_address");
        if (address.SocketAddress is not { } socketAddress)
        {
            AddError(errors, socketPath, "field not present");
            return null;
        }

        var host = socketAddress.Address;
        if (host.Length == 0)
        {
            AddError(errors, Field(socketPath, "address"), "must be non-empty");
        }
        else if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // One spelling per IPv6 address, without brackets, so that duplicates are found.
            host = ip.ToString();
        }

        if (socketAddress.PortSpecifierCase != Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.PortValue)
        {
            AddError(errors, Field(socketPath, "port_value"), "field not present");
        }
        else if (socketAddress.PortValue > 65535)
        {
            // Port 0 is accepted, as Envoy and gRPC accept it; such an endpoint is never picked.
            AddError(errors, Field(socketPath, "port_value"), $"must be at most 65535, found {socketAddress.PortValue}");
        }

        if (errors.Count > errorCount)
        {
            return null;
        }

        var result = new MeshEndpoint
        {
            Host = host,
            Port = (int)socketAddress.PortValue,
            Weight = weight,
            HashKey = HashKey(lbEndpoint),
        };

        if (!addresses.Add(result.Address))
        {
            AddError(errors, addressPath, $"duplicate endpoint address \"{result.Address}\"");
            return null;
        }

        // HEALTHY and UNKNOWN take traffic; gRPC drops the others from the list, the mesh keeps them marked.
        var health = (int)lbEndpoint.HealthStatus;
        if (health is < (int)EndpointHealth.Unknown or > (int)EndpointHealth.Degraded)
        {
            // A status newer than our protos: not known to be usable, so not used.
            return result with { Health = EndpointHealth.Unhealthy };
        }

        return result with { Health = (EndpointHealth)health };
    }

    private static string? HashKey(LbEndpoint lbEndpoint) =>
        lbEndpoint.Metadata?.FilterMetadata.TryGetValue(LbMetadataNamespace, out var lb) == true
        && lb.Fields.TryGetValue(HashKeyField, out var value)
        && value.KindCase == Value.KindOneofCase.StringValue
        && value.StringValue.Length > 0
            ? value.StringValue
            : null;
}
