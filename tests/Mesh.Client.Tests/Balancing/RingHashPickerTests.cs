using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Balancing;

public class RingHashPickerTests
{
    private static readonly RingHashPolicy DefaultPolicy = new();

    [Fact]
    public void Pick_SameHash_SameEndpoint()
    {
        // Two pickers over the same endpoints, built with different random sources, agree on every hash, and a
        // repeated pick agrees with itself.
        var a = new RingHashPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(31));
        var b = new RingHashPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(32));

        foreach (var hash in RandomHashes(2000, seed: 33))
        {
            var first = a.Pick(WithHash(hash));
            Assert.Equal(first, a.Pick(WithHash(hash)));
            Assert.Equal(first, b.Pick(WithHash(hash)));
        }
    }

    [Fact]
    public void Pick_CandidatesInOtherOrder_SameEndpointPerHash()
    {
        // Placement depends on each endpoint's key, not its position in the list.
        var forward = Candidates.Make(10);
        var reversed = Enumerable.Reverse(forward).ToArray();
        var a = new RingHashPicker(forward, DefaultPolicy, MeshRandom.CreateSeeded(34));
        var b = new RingHashPicker(reversed, DefaultPolicy, MeshRandom.CreateSeeded(34));

        foreach (var hash in RandomHashes(2000, seed: 35))
        {
            Assert.Same(forward[a.Pick(WithHash(hash))].State, reversed[b.Pick(WithHash(hash))].State);
        }
    }

    [Fact]
    public void Pick_HashAboveLastPoint_WrapsToFirstPoint()
    {
        // The owner of the lowest point serves both hash 0 (first point at or after 0) and ulong.MaxValue (past
        // the last point, so the ring wraps).
        var picker = new RingHashPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(36));

        Assert.Equal(picker.Pick(WithHash(0)), picker.Pick(WithHash(ulong.MaxValue)));
    }

    [Fact]
    public void RingShares_TenEqualEndpoints_WithinBetaBound()
    {
        // Ten equal endpoints on a ~1,030-point ring own ~103 points each. With points spread like uniform random
        // values, an endpoint's share of the hash space is Beta(103, 927): mean 0.1, sd ≈ 0.0093. 4 sd gives
        // [0.063, 0.137]. Shares are measured by picking at 2^20 evenly spaced hashes (error < 103 / 2^20 ≈ 1e-4).
        var picker = new RingHashPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(37));

        var shares = HashSpaceShares(picker, 1 << 20);

        Assert.All(shares, s => Assert.InRange(s, 0.063, 0.137));
    }

    [Fact]
    public void Pick_NoHash_RandomHashesFollowRingShares()
    {
        // Without a request hash the picker draws a random one, so each endpoint is picked with probability equal
        // to its share of the ring. Over 100,000 picks: sigma = sqrt(n s (1 - s)) ≈ 95 for s ≈ 0.1, and 4 sigma
        // ≈ 380 picks dwarfs the share measurement error (1e-4 * 100,000 = 10 picks).
        const int picks = 100_000;
        var picker = new RingHashPicker(Candidates.Make(10), DefaultPolicy, MeshRandom.CreateSeeded(38));
        var shares = HashSpaceShares(picker, 1 << 20);

        var counts = Candidates.Histogram(picker, picks);

        for (var i = 0; i < counts.Length; i++)
        {
            AssertBinomial(counts[i], picks, shares[i], 4, $"endpoint {i} (ring share {shares[i]:F4})");
        }
    }

    [Fact]
    public void Pick_Weights1To2_RoughlyOneToTwo()
    {
        // Weights 1:2 on the default ring: 342 and 684 points of 1,026. The light endpoint's share is
        // Beta(342, 684): mean 1/3, sd ≈ 0.0147; 100,000 random hashes add a sampling sd of ≈ 0.0015. Bound:
        // 1/3 ± 4 * (0.0147 + 0.0015) ≈ 1/3 ± 0.065.
        const int picks = 100_000;
        var picker = new RingHashPicker(Candidates.Make(2, weight: i => (uint)(i + 1)), DefaultPolicy, MeshRandom.CreateSeeded(39));

        var counts = Candidates.Histogram(picker, picks);

        Assert.InRange(counts[0] / (double)picks, (1.0 / 3) - 0.065, (1.0 / 3) + 0.065);
    }

    [Fact]
    public void Pick_AddOneEndpointToTenOnDefaultRing_RemapsNewShareAndDroppedPoints()
    {
        // gRFC A42 (like Envoy) sizes the ring from min_ring_size, not per endpoint: 10 endpoints get ~103 points
        // each (ring 1,030), 11 get ~94 (ring 1,034). Each old endpoint keeps points key_0..key_93 and drops the
        // rest (its point set shrinks to a subset), so a key moves when (a) the new endpoint's points now cover
        // it, ~1/(N+1), or (b) its point was dropped, a share d = 1 - 94/103 ≈ 0.087 of the ring. The moved
        // fraction is therefore ~1/(N+1) + d ≈ 2/(N+1), not 1/(N+1). Bounds: at least half the new endpoint's
        // expected share; at most 1.5 * (1/(N+1) + d). Moves between two old endpoints can only come from (b):
        // at most 1.5 * d. The slack covers the ~10% relative spread of arc sizes with ~100 points per endpoint.
        const int n = 10;
        var before = new RingHashPicker(Candidates.Make(n), DefaultPolicy, MeshRandom.CreateSeeded(40));
        var after = new RingHashPicker(Candidates.Make(n + 1), DefaultPolicy, MeshRandom.CreateSeeded(40));
        var dropped = 1 - ((double)after.RingSize / (n + 1) / ((double)before.RingSize / n));
        var hashes = RandomHashes(10_000, seed: 41);

        var (moved, movedBetweenOld) = CountMoves(before, after, hashes, newIndex: n);

        var movedFraction = (double)moved / hashes.Length;
        Assert.InRange(movedFraction, 0.5 / (n + 1), 1.5 * ((1.0 / (n + 1)) + dropped));
        Assert.InRange((double)movedBetweenOld / hashes.Length, 0, 1.5 * dropped);
    }

    [Fact]
    public void Pick_AddOneEndpointWithFixedPointsPerEndpoint_OnlyKeysToNewEndpointMove()
    {
        // With min_ring_size 1 and a weight-1 endpoint the scale is the total weight, so every endpoint gets
        // exactly as many points as its weight (100), whatever the number of endpoints: the classic consistent
        // hash. Then a key may only move to the new endpoint, and the moved fraction is the new endpoint's share,
        // Beta(100, 901): mean 100/1001 ≈ 1/(N+1), relative sd ≈ 10%. [0.5, 1.6] / (N+1) is beyond 5 sd each way.
        const int n = 10;
        var policy = new RingHashPolicy { MinRingSize = 1 };
        var before = new RingHashPicker(Candidates.Make(n, weight: AnchorWeights), policy, MeshRandom.CreateSeeded(42));
        var after = new RingHashPicker(Candidates.Make(n + 1, weight: AnchorWeights), policy, MeshRandom.CreateSeeded(42));
        var hashes = RandomHashes(10_000, seed: 43);

        var (moved, movedBetweenOld) = CountMoves(before, after, hashes, newIndex: n);

        Assert.Equal(901, before.RingSize);
        Assert.Equal(1001, after.RingSize);
        Assert.Equal(0, movedBetweenOld);
        Assert.InRange((double)moved / hashes.Length, 0.5 / (n + 1), 1.6 / (n + 1));
    }

    [Fact]
    public void Pick_RemoveOneEndpointWithFixedPointsPerEndpoint_OnlyKeysOnItMove()
    {
        // Same fixed-points ring as above: removing endpoint 4 of 11 must move exactly the keys it owned.
        const int removed = 4;
        var policy = new RingHashPolicy { MinRingSize = 1 };
        var all = Candidates.Make(11, weight: AnchorWeights);
        var remaining = all.Where((_, i) => i != removed).ToArray();
        var before = new RingHashPicker(all, policy, MeshRandom.CreateSeeded(44));
        var after = new RingHashPicker(remaining, policy, MeshRandom.CreateSeeded(44));

        var onRemoved = 0;
        foreach (var hash in RandomHashes(10_000, seed: 45))
        {
            var owner = all[before.Pick(WithHash(hash))].State;
            var newOwner = remaining[after.Pick(WithHash(hash))].State;
            if (owner == all[removed].State)
            {
                onRemoved++;
            }
            else
            {
                Assert.Same(owner, newOwner);
            }
        }

        Assert.True(onRemoved > 0, "the removed endpoint owned no sampled key");
    }

    [Fact]
    public void Pick_RemoveOneEndpointOnDefaultRing_OtherKeysMoveOnlyToAddedPoints()
    {
        // On the default ring removing one of 11 endpoints grows the others from ~94 to ~103 points; keys that were
        // not on the removed endpoint can only move to those added points, a share a = 1 - 94/103 ≈ 0.087 of the
        // new ring. Bound: 1.5 * a (same slack as above).
        const int removed = 4;
        var all = Candidates.Make(11);
        var remaining = all.Where((_, i) => i != removed).ToArray();
        var before = new RingHashPicker(all, DefaultPolicy, MeshRandom.CreateSeeded(46));
        var after = new RingHashPicker(remaining, DefaultPolicy, MeshRandom.CreateSeeded(46));
        var added = 1 - ((double)before.RingSize / 11 / ((double)after.RingSize / 10));
        var hashes = RandomHashes(10_000, seed: 47);

        var movedOthers = 0;
        foreach (var hash in hashes)
        {
            var owner = all[before.Pick(WithHash(hash))].State;
            var newOwner = remaining[after.Pick(WithHash(hash))].State;
            if (owner != all[removed].State && owner != newOwner)
            {
                movedOthers++;
            }
        }

        Assert.InRange((double)movedOthers / hashes.Length, 0, 1.5 * added);
    }

    [Fact]
    public void Pick_HashKeySet_PlacesByHashKeyNotAddress()
    {
        // Five endpoints keep their hash keys while their addresses rotate: every hash keeps the same hash-key owner.
        const int n = 5;
        var original = FromEndpoints([.. Enumerable.Range(0, n).Select(i => Endpoint(i, hashKey: "node-" + i))]);
        var rotated = FromEndpoints([.. Enumerable.Range(0, n).Select(i => Endpoint((i + 1) % n, hashKey: "node-" + i))]);
        var byAddress = FromEndpoints([.. Enumerable.Range(0, n).Select(i => Endpoint(i))]);
        var a = new RingHashPicker(original, DefaultPolicy, MeshRandom.CreateSeeded(48));
        var b = new RingHashPicker(rotated, DefaultPolicy, MeshRandom.CreateSeeded(48));
        var c = new RingHashPicker(byAddress, DefaultPolicy, MeshRandom.CreateSeeded(48));

        var differentFromAddressRing = 0;
        var hashes = RandomHashes(10_000, seed: 49);
        foreach (var hash in hashes)
        {
            var owner = original[a.Pick(WithHash(hash))];
            Assert.Equal(owner.HashKey, rotated[b.Pick(WithHash(hash))].HashKey);
            if (owner.State.Address != byAddress[c.Pick(WithHash(hash))].State.Address)
            {
                differentFromAddressRing++;
            }
        }

        // Two unrelated placements of 5 endpoints agree on a key with probability ~1/5; require that at least
        // 30% of keys land elsewhere (expected ~80%) to show the hash key, not the address, drives placement.
        Assert.True(differentFromAddressRing > 0.3 * hashes.Length, $"only {differentFromAddressRing} keys placed differently");
    }

    [Theory]
    [InlineData(10, 1024)]
    [InlineData(3, 1024)]
    [InlineData(1, 1024)]
    [InlineData(7, 5000)]
    public void RingSize_EqualWeights_AtLeastMinAndBelowMinPlusCount(int count, long minRingSize)
    {
        // Equal weights: scale = ceil(min / N) * N, i.e. the smallest multiple of N not below min_ring_size.
        var picker = new RingHashPicker(Candidates.Make(count), new RingHashPolicy { MinRingSize = minRingSize }, MeshRandom.CreateSeeded(50));

        Assert.InRange(picker.RingSize, minRingSize, minRingSize + count - 1);
    }

    [Fact]
    public void RingSize_SkewedWeightsUncapped_TwoPointsForLightEndpoint()
    {
        // Weights 1 and 1,000 with min_ring_size 1,024: the light endpoint's ceil(1,024 / 1,001) = 2 points set the
        // scale at 2 * 1,001 = 2,002.
        var picker = new RingHashPicker(Candidates.Make(2, weight: i => i == 0 ? 1u : 1000u), DefaultPolicy, MeshRandom.CreateSeeded(51));

        Assert.Equal(2002, picker.RingSize);
    }

    [Theory]
    [InlineData(new uint[] { 1, 1000 }, 1024, 1500)]
    [InlineData(new uint[] { 77, 42, 7, 69, 34, 96, 61 }, 64, 100)]
    public void RingSize_ScaleCappedAtMaxRingSize_ExactlyMax(uint[] weights, long minRingSize, long maxRingSize)
    {
        // Uncapped, these rings would need 2,002 and ~110 points; the scale is capped at exactly max_ring_size, so
        // the ring must have exactly that many points (RingHashPolicy.MaxRingSize: "maximum number of ring
        // entries"). Both cases place one point too many today: the running target (sum of scale * w / W in
        // floating point) ends a hair above max_ring_size, e.g. 1,500.0000000000002, and the loop places one more.
        var policy = new RingHashPolicy { MinRingSize = minRingSize, MaxRingSize = maxRingSize };
        var picker = new RingHashPicker(Candidates.Make(weights.Length, weight: i => weights[i]), policy, MeshRandom.CreateSeeded(52));

        Assert.Equal(maxRingSize, picker.RingSize);
    }

    [Fact]
    public void Pick_NoEndpoints_ReturnsMinusOne()
    {
        var picker = new RingHashPicker([], DefaultPolicy, MeshRandom.CreateSeeded(53));

        Assert.Equal(-1, picker.Pick(WithHash(12345)));
        Assert.Equal(-1, picker.Pick(PickRequest.None));
        Assert.Equal(0, picker.RingSize);
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysZero()
    {
        var picker = new RingHashPicker(Candidates.Make(1), DefaultPolicy, MeshRandom.CreateSeeded(54));

        Assert.All(RandomHashes(100, seed: 55), h => Assert.Equal(0, picker.Pick(WithHash(h))));
    }

    /// <summary>Endpoint 0 weighs 1 so that, with min_ring_size 1, the ring scale equals the total weight.</summary>
    private static uint AnchorWeights(int index) => index == 0 ? 1u : 100u;

    private static (int Moved, int MovedBetweenOld) CountMoves(EndpointPicker before, EndpointPicker after, ulong[] hashes, int newIndex)
    {
        // Candidates.Make gives endpoint i the same address in both lists, so indexes compare directly.
        int moved = 0, movedBetweenOld = 0;
        foreach (var hash in hashes)
        {
            var a = before.Pick(WithHash(hash));
            var b = after.Pick(WithHash(hash));
            if (a != b)
            {
                moved++;
                if (b != newIndex)
                {
                    movedBetweenOld++;
                }
            }
        }

        return (moved, movedBetweenOld);
    }
}
