using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Balancing;

/// <summary>Picks are on every request's path: after warm-up they must not allocate.</summary>
public class PickAllocationTests
{
    [Theory]
    [InlineData(LoadBalancingPolicyNames.RoundRobin)]
    [InlineData(LoadBalancingPolicyNames.LeastRequest)]
    [InlineData(LoadBalancingPolicyNames.Random)]
    [InlineData(LoadBalancingPolicyNames.RingHash)]
    [InlineData(LoadBalancingPolicyNames.Maglev)]
    [InlineData(LoadBalancingPolicyNames.PickFirst)]
    public void Pick_AfterWarmUp_AllocatesNothing(string policyName)
    {
        // Two localities with unequal weights, so non-hash policies go through the locality layer and weighted
        // schedules; some load so least_request compares.
        var candidates = Candidates.Make(8, weight: i => (uint)(1 + (i % 3)), locality: i => i % 2, localityWeight: l => (uint)(l + 1));
        candidates[1].State.OnStart();
        var picker = PickerBuilder.Build(Policy(policyName), candidates, MeshRandom.Shared);
        var hashes = RandomHashes(256, seed: 123);

        var measured = Allocations.Measure(i =>
        {
            picker.Pick(WithHash(hashes[i & 255]));
            picker.Pick(PickRequest.None);
        });

        Assert.True(measured.RoundsThatAllocated <= 1, measured.ToString());
    }

    [Theory]
    [InlineData(LoadBalancingPolicyNames.RingHash)]
    [InlineData(LoadBalancingPolicyNames.Maglev)]
    public void Pick_HashPolicyWithSeededRandomAndNoHash_AllocatesNothing(string policyName)
    {
        // Without a request hash the picker draws one from the (seeded, locked) random source.
        var picker = PickerBuilder.Build(Policy(policyName), Candidates.Make(8), MeshRandom.CreateSeeded(121));

        var measured = Allocations.Measure(_ => picker.Pick(PickRequest.None));

        Assert.True(measured.RoundsThatAllocated <= 1, measured.ToString());
    }

    [Theory]
    [InlineData(LoadBalancingPolicyNames.RingHash)]
    [InlineData(LoadBalancingPolicyNames.Maglev)]
    [InlineData(LoadBalancingPolicyNames.RoundRobin)]
    public void ClusterRuntimePick_WithHashAfterWarmUp_AllocatesNothing(string policyName)
    {
        var runtime = new MeshRuntime(MeshRandom.Shared);
        var cluster = Publish(runtime, Cluster(
            "c",
            Policy(policyName),
            Priority(Locality("a", 1, Endpoint(0), Endpoint(1)), Locality("b", 2, Endpoint(2), Endpoint(3)))));
        var hashes = RandomHashes(256, seed: 122);

        var measured = Allocations.Measure(i => cluster.Pick(WithHash(hashes[i & 255])));

        Assert.True(measured.RoundsThatAllocated <= 1, measured.ToString());
    }

    private static LoadBalancingPolicy Policy(string name) => name switch
    {
        LoadBalancingPolicyNames.RoundRobin => RoundRobinPolicy.Instance,
        LoadBalancingPolicyNames.LeastRequest => new LeastRequestPolicy { ChoiceCount = 3 },
        LoadBalancingPolicyNames.Random => RandomPolicy.Instance,
        LoadBalancingPolicyNames.RingHash => new RingHashPolicy(),
        LoadBalancingPolicyNames.Maglev => new MaglevPolicy(),
        LoadBalancingPolicyNames.PickFirst => new PickFirstPolicy { ShuffleAddressList = true },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown policy"),
    };
}
