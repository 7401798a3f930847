using BenchmarkDotNet.Attributes;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// Applying a state-of-the-world EDS update of 10,000 endpoints (10 localities of 1,000, one priority):
/// from the bytes of the resource to the table the request path reads. Each step is also measured alone,
/// to see which one dominates. Every operation alternates between two endpoint sets A and B, so that each
/// publication really rebuilds the cluster (the runtime reuses a cluster whose endpoints have not changed).
/// </summary>
[MemoryDiagnoser]
// An operation takes 10-30 ms and a gen2 collection comes every dozen operations or so: 15 iterations
// instead of the default 5 keep the mean from depending on how many of them fell into the measured ones.
[IterationCount(15)]
public class EdsUpdateBenchmarks
{
    private const int Localities = 10;
    private const int PerLocality = 1_000;
    private const int Endpoints = Localities * PerLocality;

    // The two versions of the resource, by how they differ: [change][0] = A, [change][1] = B.
    private readonly byte[][][] _bytes = new byte[2][][];
    private readonly MeshSnapshot[][][] _snapshots = new MeshSnapshot[3][][];
    private readonly MeshRuntime[][] _runtimes = new MeshRuntime[3][];
    private readonly int[][] _next = [new int[2], new int[2], new int[2]];

    /// <summary>Serialises the two versions of the resource and, for <see cref="Publish"/>, decodes them once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bytes[(int)UpdateChange.AllReplaced] =
        [
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, PerLocality, port: 8080)),
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, PerLocality, port: 8081)),
        ];
        _bytes[(int)UpdateChange.OneReplaced] =
        [
            _bytes[(int)UpdateChange.AllReplaced][0],
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, PerLocality, port: 8080, replaceLast: true)),
        ];

        foreach (var policy in System.Enum.GetValues<UpdatePolicy>())
        {
            var p = (int)policy;
            _runtimes[p] = new MeshRuntime[2];
            _snapshots[p] = new MeshSnapshot[2][];
            foreach (var change in System.Enum.GetValues<UpdateChange>())
            {
                var c = (int)change;
                _snapshots[p][c] = [.. _bytes[c].Select(b => EdsUpdateFixture.Snapshot(EdsUpdateFixture.Cluster(EdsUpdateFixture.ParseAndDecode(b).Update, EdsUpdateFixture.Policy(policy))))];

                // Each case starts from a runtime that already holds version A of its cluster, as a client does
                // when an update arrives; the first operation then publishes B.
                _runtimes[p][c] = new MeshRuntime(MeshRandom.Shared);
                var a = _snapshots[p][c][0];
                EdsUpdateFixture.Check(_runtimes[p][c].Tables.Publish(a), a.Clusters[EdsUpdateFixture.ClusterName], Endpoints);
                _next[p][c] = 1;
            }
        }

        // The set-up must measure what it claims: both versions decode to 10,000 endpoints, and the ring
        // of ring_hash has one point per endpoint at the default minimum ring size.
        var ring = _runtimes[(int)UpdatePolicy.RingHash][0].Current.Clusters[EdsUpdateFixture.ClusterName].Picker;
        if (ring is not Balancing.Internal.RingHashPicker { RingSize: Endpoints })
        {
            throw new InvalidOperationException("The ring_hash picker does not have one point per endpoint.");
        }
    }

    /// <summary>Protobuf only: the <see cref="Any"/> off the wire and the ClusterLoadAssignment inside it.</summary>
    [Benchmark(Description = "parse (protobuf only)")]
    public object Parse()
    {
        var raw = Any.Parser.ParseFrom(NextBytes(UpdatePolicy.RoundRobin, UpdateChange.AllReplaced));
        return ClusterLoadAssignment.Parser.ParseFrom(raw.Value);
    }

    /// <summary>What the xDS client does per resource: parse, then <c>XdsResourceDecoder.Decode</c> (validation and the mesh model).</summary>
    [Benchmark(Description = "parse + decode/validate")]
    public object DecodeValidate() => EdsUpdateFixture.ParseAndDecode(NextBytes(UpdatePolicy.RoundRobin, UpdateChange.AllReplaced)).Update;

    /// <summary>The runtime alone: <c>MeshTableStore.Publish</c> of snapshots decoded in set-up.</summary>
    /// <param name="policy">The cluster's load-balancing policy.</param>
    /// <param name="change">How A and B differ.</param>
    [Benchmark(Description = "publish only")]
    [Arguments(UpdatePolicy.RoundRobin, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.RingHash, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.Maglev, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.RoundRobin, UpdateChange.OneReplaced)]
    public object Publish(UpdatePolicy policy, UpdateChange change)
    {
        var (p, c) = ((int)policy, (int)change);
        var version = Toggle(p, c);
        return _runtimes[p][c].Tables.Publish(_snapshots[p][c][version]);
    }

    /// <summary>The measure: parse, decode and validate, build the cluster, publish it.</summary>
    /// <param name="policy">The cluster's load-balancing policy.</param>
    /// <param name="change">How A and B differ.</param>
    [Benchmark(Description = "parse + decode/validate + publish")]
    [Arguments(UpdatePolicy.RoundRobin, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.RingHash, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.Maglev, UpdateChange.AllReplaced)]
    [Arguments(UpdatePolicy.RoundRobin, UpdateChange.OneReplaced)]
    public object DecodeValidatePublish(UpdatePolicy policy, UpdateChange change)
    {
        var (p, c) = ((int)policy, (int)change);
        var version = Toggle(p, c);
        var policyModel = _snapshots[p][c][version].Clusters[EdsUpdateFixture.ClusterName].LoadBalancing;
        return EdsUpdateFixture.Apply(_runtimes[p][c], _bytes[c][version], policyModel).Table;
    }

    private byte[] NextBytes(UpdatePolicy policy, UpdateChange change) => _bytes[(int)change][Toggle((int)policy, (int)change)];

    private int Toggle(int policy, int change)
    {
        var version = _next[policy][change];
        _next[policy][change] = 1 - version;
        return version;
    }
}
