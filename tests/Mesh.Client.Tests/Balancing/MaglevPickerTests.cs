using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Balancing;

public class MaglevPickerTests
{
    private static readonly MaglevPolicy DefaultPolicy = new();

    [Fact]
    public void Table_DefaultPolicy_HasPrimeLengthAndEverySlotValid()
    {
        var picker = new MaglevPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(61));

        Assert.Equal(MaglevPolicy.DefaultTableSize, picker.Table.Length);
        Assert.Equal(65537, picker.Table.Length);
        foreach (var owner in picker.Table)
        {
            Assert.InRange(owner, 0, 9);
        }
    }

    [Fact]
    public void Table_TenEqualEndpoints_EachOwnsFloorOrCeilingOfSizeOverN()
    {
        // Equal weights take one slot per turn, in turn, until the table is full: 65,537 = 10 * 6,553 + 7, so
        // seven endpoints own 6,554 slots and three own 6,553.
        var picker = new MaglevPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(62));

        var slots = SlotCounts(picker);

        Assert.All(slots, s => Assert.InRange(s, 6553, 6554));
        Assert.Equal(65537, slots.Sum());
    }

    [Fact]
    public void Table_Weights123_SlotsWithinTwoOfExactShare()
    {
        // An endpoint takes a slot each time its credit reaches the largest weight, so after r rounds endpoint i
        // holds floor(r * w_i / w_max) slots; the table fills part-way through a round. Each count is therefore
        // within 2 of 65,537 * w / 6 (10,922.8, 21,845.7 and 32,768.5).
        var picker = new MaglevPicker(Candidates.Make(3, weight: i => (uint)(i + 1)), DefaultPolicy, MeshRandom.CreateSeeded(63));

        var slots = SlotCounts(picker);

        for (var i = 0; i < 3; i++)
        {
            var expected = 65537.0 * (i + 1) / 6;
            Assert.InRange(slots[i], expected - 2, expected + 2);
        }
    }

    [Fact]
    public void Pick_Weights123_RequestsFollowWeights()
    {
        // Random hashes pick table slots uniformly, so endpoint i is picked with p = w / 6 (exact to 2 / 65,537):
        // sigma = sqrt(n p (1 - p)) ≈ 117.9, 149.1 and 158.1 for 100,000 picks.
        const int picks = 100_000;
        var picker = new MaglevPicker(Candidates.Make(3, weight: i => (uint)(i + 1)), DefaultPolicy, MeshRandom.CreateSeeded(64));

        var counts = Candidates.Histogram(picker, picks);

        for (var i = 0; i < 3; i++)
        {
            AssertBinomial(counts[i], picks, (i + 1) / 6.0, 4, $"endpoint {i} (weight {i + 1})");
        }
    }

    [Fact]
    public void Table_AddOneEndpointToTen_RemapsAboutOneOverNPlusOne()
    {
        // The new endpoint must take ~1/(N+1) of the slots (5,957 of 65,537). Maglev fills the table greedily, so
        // a few slots also change hands between old endpoints; the Maglev paper reports near-minimal, not minimal,
        // disruption. Bounds: [0.5, 2] / (N+1) of the slots change owner, and at most 1/(N+1) change between two
        // old endpoints.
        const int n = 10;
        var before = new MaglevPicker(Candidates.Make(n), DefaultPolicy, MeshRandom.CreateSeeded(65));
        var after = new MaglevPicker(Candidates.Make(n + 1), DefaultPolicy, MeshRandom.CreateSeeded(65));

        int changed = 0, betweenOld = 0;
        for (var slot = 0; slot < before.Table.Length; slot++)
        {
            if (before.Table[slot] != after.Table[slot])
            {
                changed++;
                if (after.Table[slot] != n)
                {
                    betweenOld++;
                }
            }
        }

        var size = (double)before.Table.Length;
        Assert.InRange(changed / size, 0.5 / (n + 1), 2.0 / (n + 1));
        Assert.InRange(betweenOld / size, 0, 1.0 / (n + 1));
    }

    [Fact]
    public void Table_TwoBuilds_Identical()
    {
        // The table depends only on the endpoints' keys and weights, not on the random source.
        var a = new MaglevPicker(Candidates.Make(10, weight: i => (uint)(1 + (i % 3))), DefaultPolicy, MeshRandom.CreateSeeded(66));
        var b = new MaglevPicker(Candidates.Make(10, weight: i => (uint)(1 + (i % 3))), DefaultPolicy, MeshRandom.CreateSeeded(67));

        Assert.True(a.Table.SequenceEqual(b.Table));
    }

    [Fact]
    public void Pick_SameHash_SameEndpoint()
    {
        var picker = new MaglevPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(68));

        foreach (var hash in RandomHashes(1000, seed: 69))
        {
            var owner = picker.Pick(WithHash(hash));
            Assert.Equal(picker.Table[(int)(hash % (ulong)picker.Table.Length)], owner);
            Assert.Equal(owner, picker.Pick(WithHash(hash)));
        }
    }

    [Fact]
    public void Table_HashKeySet_PlacesByHashKeyNotAddress()
    {
        // Addresses rotate, hash keys stay: every slot keeps its hash-key owner.
        const int n = 5;
        var original = FromEndpoints([.. Enumerable.Range(0, n).Select(i => Endpoint(i, hashKey: "node-" + i))]);
        var rotated = FromEndpoints([.. Enumerable.Range(0, n).Select(i => Endpoint((i + 1) % n, hashKey: "node-" + i))]);
        var a = new MaglevPicker(original, DefaultPolicy, MeshRandom.CreateSeeded(70));
        var b = new MaglevPicker(rotated, DefaultPolicy, MeshRandom.CreateSeeded(70));

        for (var slot = 0; slot < a.Table.Length; slot++)
        {
            Assert.Equal(original[a.Table[slot]].HashKey, rotated[b.Table[slot]].HashKey);
        }
    }

    [Fact]
    public void Table_SmallPrimeSize_FilledCompletely()
    {
        var picker = new MaglevPicker(Candidates.Make(3), new MaglevPolicy { TableSize = 13 }, MeshRandom.CreateSeeded(71));

        Assert.Equal(13, picker.Table.Length);
        // Turns go 0, 1, 2, 0, ...: the 13th slot is endpoint 0's fifth.
        Assert.Equal(new[] { 5, 4, 4 }, SlotCounts(picker));
    }

    [Fact]
    public void Pick_NoEndpoints_ReturnsMinusOne()
    {
        var picker = new MaglevPicker([], DefaultPolicy, MeshRandom.CreateSeeded(72));

        Assert.Equal(-1, picker.Pick(WithHash(1)));
        Assert.Equal(0, picker.Table.Length);
    }

    private static int[] SlotCounts(MaglevPicker picker)
    {
        var counts = new int[picker.Count];
        foreach (var owner in picker.Table)
        {
            counts[owner]++;
        }

        return counts;
    }
}
