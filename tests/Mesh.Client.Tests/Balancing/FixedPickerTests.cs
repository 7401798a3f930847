using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Balancing;

public class FixedPickerTests
{
    [Fact]
    public void Pick_PickFirstWithoutShuffle_AlwaysFirstCandidate()
    {
        var picker = PickerBuilder.Build(new PickFirstPolicy(), Candidates.Make(5), MeshRandom.CreateSeeded(81));

        Assert.IsType<FixedPicker>(picker);
        Assert.Equal(new[] { 1000, 0, 0, 0, 0 }, Candidates.Histogram(picker, 1000));
    }

    [Fact]
    public void Pick_PickFirstWithoutShuffle_SeedDoesNotMatter()
    {
        var firsts = Enumerable.Range(1, 16)
            .Select(seed => PickerBuilder.Build(new PickFirstPolicy(), Candidates.Make(5), MeshRandom.CreateSeeded(seed)).Pick(PickRequest.None))
            .Distinct();

        Assert.Equal(0, Assert.Single(firsts));
    }

    [Fact]
    public void Pick_PickFirstIgnoresLocalities_FirstCandidateEvenInLighterLocality()
    {
        // pick_first sees one flat list: locality weights do not matter.
        var candidates = Candidates.Make(4, locality: i => i % 2, localityWeight: l => l == 0 ? 1u : 100u);

        var picker = PickerBuilder.Build(new PickFirstPolicy(), candidates, MeshRandom.CreateSeeded(82));

        Assert.Equal(new[] { 100, 0, 0, 0 }, Candidates.Histogram(picker, 100));
    }

    [Fact]
    public void Pick_ShuffleAddressList_StableForOnePickerAndSpreadAcrossSeeds()
    {
        // Each build chooses one candidate uniformly and then sticks to it. Over 16 seeds and 10 candidates,
        // 3 or fewer distinct choices has probability below C(10,3) * (3/10)^16 ≈ 5e-7.
        var policy = new PickFirstPolicy { ShuffleAddressList = true };
        var firsts = new HashSet<int>();
        for (var seed = 1; seed <= 16; seed++)
        {
            var picker = PickerBuilder.Build(policy, Candidates.Make(10), MeshRandom.CreateSeeded(seed));
            var counts = Candidates.Histogram(picker, 50);
            var chosen = Array.FindIndex(counts, c => c == 50);
            Assert.True(chosen >= 0, $"seed {seed}: picks spread over several candidates: {string.Join(",", counts)}");
            firsts.Add(chosen);
        }

        Assert.True(firsts.Count >= 4, $"only {firsts.Count} distinct choices over 16 seeds");
    }

    [Fact]
    public void Pick_NoCandidates_ReturnsMinusOne()
    {
        Assert.Equal(-1, new FixedPicker(0, 0).Pick(PickRequest.None));
        Assert.Equal(-1, PickerBuilder.Build(new PickFirstPolicy(), [], MeshRandom.CreateSeeded(83)).Pick(PickRequest.None));
    }
}
