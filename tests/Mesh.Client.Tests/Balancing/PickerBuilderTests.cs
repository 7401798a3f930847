using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class PickerBuilderTests
{
    // The model types are internal; xUnit's data members and test methods are public, so the data is typed object.
    public static TheoryData<object> AllPolicies { get; } =
    [
        RoundRobinPolicy.Instance,
        new LeastRequestPolicy(),
        RandomPolicy.Instance,
        new RingHashPolicy(),
        new MaglevPolicy(),
        new PickFirstPolicy(),
    ];

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Build_NoCandidates_PickReturnsMinusOne(object policyValue)
    {
        var policy = (LoadBalancingPolicy)policyValue;
        var picker = PickerBuilder.Build(policy, [], MeshRandom.CreateSeeded(101));

        Assert.Equal(0, picker.Count);
        Assert.Equal(-1, picker.Pick(PickRequest.None));
        Assert.Equal(-1, picker.Pick(BalancingTestData.WithHash(7)));
    }

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Build_AnyPolicy_PicksValidIndexes(object policyValue)
    {
        var policy = (LoadBalancingPolicy)policyValue;
        var candidates = Candidates.Make(6, locality: i => i % 3, localityWeight: l => (uint)(l + 1));
        var picker = PickerBuilder.Build(policy, candidates, MeshRandom.CreateSeeded(102));

        Assert.Equal(6, picker.Count);
        for (var i = 0; i < 1000; i++)
        {
            Assert.InRange(picker.Pick(BalancingTestData.WithHash((ulong)i * 0x9E3779B97F4A7C15)), 0, 5);
        }
    }

    [Fact]
    public void Build_OneLocality_PolicyPickerWithoutLocalityLayer()
    {
        var candidates = Candidates.Make(3);
        var random = MeshRandom.CreateSeeded(103);

        Assert.IsType<RoundRobinPicker>(PickerBuilder.Build(RoundRobinPolicy.Instance, candidates, random));
        Assert.IsType<RandomPicker>(PickerBuilder.Build(RandomPolicy.Instance, candidates, random));
        Assert.IsType<LeastRequestPicker>(PickerBuilder.Build(new LeastRequestPolicy(), candidates, random));
        Assert.IsType<RingHashPicker>(PickerBuilder.Build(new RingHashPolicy(), candidates, random));
        Assert.IsType<MaglevPicker>(PickerBuilder.Build(new MaglevPolicy(), candidates, random));
        Assert.IsType<FixedPicker>(PickerBuilder.Build(new PickFirstPolicy(), candidates, random));
    }

    [Fact]
    public void Build_SeveralLocalities_NonHashPoliciesGetLocalityLayer()
    {
        var candidates = Candidates.Make(4, locality: i => i % 2);
        var random = MeshRandom.CreateSeeded(104);

        Assert.IsType<LocalityPicker>(PickerBuilder.Build(RoundRobinPolicy.Instance, candidates, random));
        Assert.IsType<LocalityPicker>(PickerBuilder.Build(RandomPolicy.Instance, candidates, random));
        Assert.IsType<LocalityPicker>(PickerBuilder.Build(new LeastRequestPolicy(), candidates, random));
    }

    [Fact]
    public void Build_RingHashOverLocalitiesWeighted1And3_FlatRingWithLocalityWeightFolded()
    {
        // One endpoint per locality, locality weights 1 and 3: the flat ring weighs the endpoints 1 * 1 and 1 * 3
        // and gets 256 and 768 of 1,024 points. The light endpoint's share is Beta(256, 768): mean 0.25, sd ≈ 0.0135;
        // 4 sd gives [0.196, 0.304].
        var candidates = Candidates.Make(2, locality: i => i, localityWeight: l => l == 0 ? 1u : 3u);

        var picker = PickerBuilder.Build(new RingHashPolicy(), candidates, MeshRandom.CreateSeeded(105));

        var ring = Assert.IsType<RingHashPicker>(picker);
        Assert.Equal(1024, ring.RingSize);
        Assert.InRange(BalancingTestData.HashSpaceShares(picker)[0], 0.196, 0.304);
    }

    [Fact]
    public void Build_RingHashLocalityAndEndpointWeights_Multiplied()
    {
        // Locality 0 (weight 3) holds an endpoint of weight 1, locality 1 (weight 1) one of weight 3: both weigh 3,
        // so each gets 512 of 1,024 points. Share ~ Beta(512, 512): sd ≈ 0.0156; 4 sd gives [0.4375, 0.5625].
        var candidates = Candidates.Make(2, weight: i => i == 0 ? 1u : 3u, locality: i => i, localityWeight: l => l == 0 ? 3u : 1u);

        var picker = PickerBuilder.Build(new RingHashPolicy(), candidates, MeshRandom.CreateSeeded(106));

        Assert.InRange(BalancingTestData.HashSpaceShares(picker)[0], 0.4375, 0.5625);
    }

    [Fact]
    public void Build_MaglevOverLocalitiesWeighted1And3_SlotsSplit25To75()
    {
        // Maglev's table split follows the folded weights to within 2 slots (see MaglevPickerTests):
        // 65,537 / 4 ≈ 16,384.25 slots for the light endpoint.
        var candidates = Candidates.Make(2, locality: i => i, localityWeight: l => l == 0 ? 1u : 3u);

        var picker = Assert.IsType<MaglevPicker>(PickerBuilder.Build(new MaglevPolicy(), candidates, MeshRandom.CreateSeeded(107)));

        var light = 0;
        foreach (var owner in picker.Table)
        {
            light += owner == 0 ? 1 : 0;
        }

        Assert.InRange(light, 16_382, 16_387);
    }
}
