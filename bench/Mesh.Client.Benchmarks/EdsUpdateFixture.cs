using System.Collections.Frozen;
using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>The load-balancing policy of the cluster an EDS update is published into.</summary>
public enum UpdatePolicy
{
    /// <summary><c>round_robin</c>: per-locality pickers under a locality picker, no tables for equal weights.</summary>
    RoundRobin,

    /// <summary><c>ring_hash</c> with the default ring sizes (min 1,024): one ring point per endpoint at 10,000 endpoints.</summary>
    RingHash,

    /// <summary><c>maglev</c> with the default table of 65,537 entries.</summary>
    Maglev,
}

/// <summary>How the endpoint set of update B differs from that of update A.</summary>
public enum UpdateChange
{
    /// <summary>Every endpoint differs (other port): the runtime builds a new state for every endpoint.</summary>
    AllReplaced,

    /// <summary>One endpoint of 10,000 has another address: the runtime carries 9,999 states over.</summary>
    OneReplaced,
}

/// <summary>
/// Builds the ClusterLoadAssignments of the EDS benchmarks and replays, step by step, what the xDS client
/// does with one on the way to the request path: <see cref="XdsClient"/> parses the resource and decodes it
/// (<see cref="XdsResourceDecoder.Decode"/>), the <see cref="XdsTargetWatcher"/> wraps its priorities in a
/// <see cref="MeshCluster"/>, and <see cref="XdsMeshSource"/> publishes a snapshot into the <see cref="MeshRuntime"/>.
/// </summary>
internal static class EdsUpdateFixture
{
    public const string ClusterName = "echo";

    public const string ServiceName = "echo";

    /// <summary>
    /// The service the snapshot routes to the cluster. One instance for every publication, as the target
    /// watcher reuses the routes of an unchanged RouteConfiguration (the runtime then keeps their matchers).
    /// </summary>
    private static readonly MeshService Service = new()
    {
        Name = ServiceName,
        Routes = [new MeshRoute { Name = "default", Match = RouteMatch.Any, Clusters = [new WeightedCluster(ClusterName)] }],
    };

    private static long _version;

    public static LoadBalancingPolicy Policy(UpdatePolicy policy) => policy switch
    {
        UpdatePolicy.RingHash => new RingHashPolicy(),
        UpdatePolicy.Maglev => new MaglevPolicy(),
        _ => RoundRobinPolicy.Instance,
    };

    /// <summary>
    /// A ClusterLoadAssignment of <paramref name="localities"/> localities of one priority, each with
    /// <paramref name="perLocality"/> endpoints at distinct IPv4 addresses <c>10.l.x.y</c>, all on
    /// <paramref name="port"/>; locality and endpoint weights unset (1), health unset (UNKNOWN, usable).
    /// </summary>
    /// <param name="replaceLast">Gives the last endpoint the address <c>10.255.255.255</c> instead (last, so that
    /// the runtime's comparison of the old and new endpoint lists runs to the end before it finds the change).</param>
    public static ClusterLoadAssignment Assignment(int localities, int perLocality, uint port, bool replaceLast = false)
    {
        var assignment = new ClusterLoadAssignment { ClusterName = ClusterName };
        for (var l = 0; l < localities; l++)
        {
            var locality = new LocalityLbEndpoints
            {
                Locality = new Locality { Region = "region-1", Zone = "zone-" + l.ToString(CultureInfo.InvariantCulture) },
                LoadBalancingWeight = 1,
                Priority = 0,
            };
            for (var j = 0; j < perLocality; j++)
            {
                var host = replaceLast && l == localities - 1 && j == perLocality - 1
                    ? "10.255.255.255"
                    : string.Create(CultureInfo.InvariantCulture, $"10.{l}.{j / 250}.{j % 250}");
                locality.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = port } } },
                });
            }

            assignment.Endpoints.Add(locality);
        }

        return assignment;
    }

    /// <summary>The resource as a DiscoveryResponse carries it: an <see cref="Any"/>, serialised.</summary>
    public static byte[] AnyBytes(ClusterLoadAssignment assignment) => Any.Pack(assignment).ToByteArray();

    /// <summary>What <see cref="XdsClient"/> does per resource: the <see cref="Any"/> as parsed off the wire, then decoded.</summary>
    public static (Any Raw, XdsEndpointUpdate Update) ParseAndDecode(byte[] anyBytes)
    {
        var raw = Any.Parser.ParseFrom(anyBytes);
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.ClusterLoadAssignment, raw);
        return result.Update is XdsEndpointUpdate update
            ? (raw, update)
            : throw new InvalidOperationException($"The benchmark's ClusterLoadAssignment does not decode: {result.Error}");
    }

    /// <summary>The cluster as <see cref="XdsTargetWatcher"/> builds it for an EDS cluster (its BuildCluster and Leaves).</summary>
    public static MeshCluster Cluster(XdsEndpointUpdate update, LoadBalancingPolicy policy)
    {
        var priorities = new List<MeshPriority>();
        priorities.AddRange(update.Priorities);
        return new MeshCluster { Name = ClusterName, LoadBalancing = policy, Priorities = priorities };
    }

    /// <summary>The snapshot as <see cref="XdsMeshSource"/> publishes it: one service routed to the cluster.</summary>
    public static MeshSnapshot Snapshot(MeshCluster cluster) => new()
    {
        Version = Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture),
        Source = "xds",
        Services = new Dictionary<string, MeshService>(StringComparer.OrdinalIgnoreCase) { [ServiceName] = Service }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        Clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase) { [ClusterName] = cluster }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        FailedServices = FrozenDictionary<string, MeshServiceFailure>.Empty,
    };

    /// <summary>The whole way from the bytes of the resource to the table in force.</summary>
    public static (Any Raw, XdsEndpointUpdate Update, MeshCluster Cluster, MeshTable Table) Apply(MeshRuntime runtime, byte[] anyBytes, LoadBalancingPolicy policy)
    {
        var (raw, update) = ParseAndDecode(anyBytes);
        var cluster = Cluster(update, policy);
        var table = runtime.Tables.Publish(Snapshot(cluster));
        return (raw, update, cluster, table);
    }

    /// <summary>Throws unless the table's cluster was built from <paramref name="cluster"/> and picks among <paramref name="endpoints"/> endpoints.</summary>
    public static void Check(MeshTable table, MeshCluster cluster, int endpoints)
    {
        var runtime = table.Clusters[ClusterName];
        if (!ReferenceEquals(runtime.Config, cluster) || runtime.AllEndpoints.Length != endpoints || runtime.Picker.Count != endpoints
            || (endpoints > 0 && runtime.Pick(new Balancing.Internal.PickRequest(12345, hasHash: true)) is null))
        {
            throw new InvalidOperationException($"The published cluster does not have the {endpoints} endpoints of the update.");
        }
    }
}
