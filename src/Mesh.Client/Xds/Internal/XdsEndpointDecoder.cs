using System.Net;
using System.Net.Sockets;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
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
        var endpointCount = 0;
        foreach (var locality in assignment.Endpoints)
        {
            endpointCount += locality.LbEndpoints.Count;
        }

        var addresses = new HashSet<(string Host, int Port)>(endpointCount, AddressComparer.Instance);
        for (var i = 0; i < assignment.Endpoints.Count; i++)
        {
            var localityEndpoints = assignment.Endpoints[i];
            // A locality without weight takes no traffic; gRPC leaves it out altogether, and so it does not
            // count towards its priority either.
            var weight = localityEndpoints.LoadBalancingWeight ?? 0;
            if (weight == 0)
            {
                continue;
            }

            if (localityEndpoints.Locality is not { } localityProto)
            {
                AddError(errors, $"endpoints[{i}].locality", "field not present");
                continue;
            }

            var name = new LocalityName(localityProto.Region, localityProto.Zone, localityProto.SubZone);
            var endpoints = new List<MeshEndpoint>(localityEndpoints.LbEndpoints.Count);
            for (var j = 0; j < localityEndpoints.LbEndpoints.Count; j++)
            {
                if (DecodeEndpoint(localityEndpoints.LbEndpoints[j], i, j, addresses, errors) is { } endpoint)
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
                AddError(errors, $"endpoints[{i}]", $"duplicate locality {name} in priority {localityEndpoints.Priority}");
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

    /// <summary>Host and port, compared as an address is: host without regard to case.</summary>
    private sealed class AddressComparer : IEqualityComparer<(string Host, int Port)>
    {
        public static AddressComparer Instance { get; } = new();

        public bool Equals((string Host, int Port) x, (string Host, int Port) y) =>
            x.Port == y.Port && string.Equals(x.Host, y.Host, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((string Host, int Port) obj) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Host), obj.Port);
    }

    // Field paths are built only when an error is recorded: this runs once per endpoint of every update.
    private static MeshEndpoint? DecodeEndpoint(LbEndpoint lbEndpoint, int locality, int index, HashSet<(string Host, int Port)> addresses, List<string> errors)
    {
        var errorCount = errors.Count;
        var weight = lbEndpoint.LoadBalancingWeight ?? 1;
        if (weight < ModelRules.MinEndpointWeight)
        {
            AddError(errors, Path(".load_balancing_weight"), "must be 1 or more");
        }

        if (lbEndpoint.Endpoint is not { } endpoint)
        {
            AddError(errors, Path(".endpoint"), "field not present");
            return null;
        }

        // The address comes from socket_address only; endpoint.hostname is informational (gRPC uses it as
        // the authority at most), and additional_addresses (gRFC A61) are not read yet.
        if (endpoint.Address is not { } address)
        {
            AddError(errors, Path(".endpoint.address"), "field not present");
            return null;
        }

        if (address.SocketAddress is not { } socketAddress)
        {
            AddError(errors, Path(".endpoint.address.socket_address"), "field not present");
            return null;
        }

        var host = socketAddress.Address;
        if (host.Length == 0)
        {
            AddError(errors, Path(".endpoint.address.socket_address.address"), "must be non-empty");
        }
        else if (host.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // One spelling per IPv6 address, without brackets, so that duplicates are found.
            host = ip.ToString();
        }

        if (socketAddress.PortSpecifierCase != Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.PortValue)
        {
            AddError(errors, Path(".endpoint.address.socket_address.port_value"), "field not present");
        }
        else if (socketAddress.PortValue > 65535)
        {
            // Port 0 is accepted, as Envoy and gRPC accept it; such an endpoint is never picked.
            AddError(errors, Path(".endpoint.address.socket_address.port_value"), $"must be at most 65535, found {socketAddress.PortValue}");
        }

        if (errors.Count > errorCount)
        {
            return null;
        }

        var port = (int)socketAddress.PortValue;
        if (!addresses.Add((host, port)))
        {
            var text = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
            AddError(errors, Path(".endpoint.address"), $"duplicate endpoint address \"{text}\"");
            return null;
        }

        // HEALTHY and UNKNOWN take traffic; gRPC drops the others from the list, the mesh keeps them marked.
        // A status newer than our protos is not known to be usable, so it is not used.
        var health = (int)lbEndpoint.HealthStatus;
        return new MeshEndpoint
        {
            Host = host,
            Port = port,
            Weight = weight,
            HashKey = HashKey(lbEndpoint),
            Health = health is < (int)EndpointHealth.Unknown or > (int)EndpointHealth.Degraded ? EndpointHealth.Unhealthy : (EndpointHealth)health,
        };

        string Path(string tail) => $"endpoints[{locality}].lb_endpoints[{index}]{tail}";
    }

    private static string? HashKey(LbEndpoint lbEndpoint) =>
        lbEndpoint.Metadata?.FilterMetadata.TryGetValue(LbMetadataNamespace, out var lb) == true
        && lb.Fields.TryGetValue(HashKeyField, out var value)
        && value.KindCase == Value.KindOneofCase.StringValue
        && value.StringValue.Length > 0
            ? value.StringValue
            : null;
}
