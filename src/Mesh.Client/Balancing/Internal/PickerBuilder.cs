using Mesh.Client.Model;

namespace Mesh.Client.Balancing.Internal;

/// <summary>Builds the picker for one priority of a cluster from its usable endpoints.</summary>
internal static class PickerBuilder
{
    /// <summary>
    /// Builds a picker over <paramref name="candidates"/>, which all belong to one priority. Hash-based
    /// policies and <c>pick_first</c> see one flat list (locality weight folded into endpoint weight);
    /// the others choose a locality by weight first and balance within it.
    /// </summary>
    public static EndpointPicker Build(LoadBalancingPolicy policy, ReadOnlySpan<PickCandidate> candidates, MeshRandom random)
    {
        if (candidates.Length == 0)
        {
            return EmptyPicker.Instance;
        }

        switch (policy)
        {
            case RingHashPolicy ringHash:
                return new RingHashPicker(candidates, ringHash, random);
            case MaglevPolicy maglev:
                return new MaglevPicker(candidates, maglev, random);
            case PickFirstPolicy pickFirst:
                var first = pickFirst.ShuffleAddressList ? (int)random.NextInt64(candidates.Length) : 0;
                return new FixedPicker(first, candidates.Length);
        }

        var localityCount = CountLocalities(candidates);
        if (localityCount <= 1)
        {
            return BuildWithinLocality(policy, candidates, random);
        }

        var localityWeights = new uint[localityCount];
        var children = new EndpointPicker[localityCount];
        var globalIndex = new int[localityCount][];
        var members = new List<int>[localityCount];
        for (var l = 0; l < localityCount; l++)
        {
            members[l] = [];
        }

        var order = LocalityOrder(candidates);
        for (var i = 0; i < candidates.Length; i++)
        {
            var l = order[candidates[i].Locality];
            members[l].Add(i);
            localityWeights[l] = candidates[i].LocalityWeight;
        }

        for (var l = 0; l < localityCount; l++)
        {
            var local = new PickCandidate[members[l].Count];
            for (var j = 0; j < local.Length; j++)
            {
                local[j] = candidates[members[l][j]];
            }

            children[l] = BuildWithinLocality(policy, local, random);
            globalIndex[l] = [.. members[l]];
        }

        return new LocalityPicker(localityWeights, children, globalIndex, random);
    }

    private static EndpointPicker BuildWithinLocality(LoadBalancingPolicy policy, ReadOnlySpan<PickCandidate> candidates, MeshRandom random)
    {
        var weights = new uint[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
        {
            weights[i] = candidates[i].Weight;
        }

        return policy switch
        {
            LeastRequestPolicy leastRequest => new LeastRequestPicker(candidates, leastRequest.ChoiceCount, random),
            RandomPolicy => new RandomPicker(weights, random),
            _ => new RoundRobinPicker(weights, random),
        };
    }

    private static int CountLocalities(ReadOnlySpan<PickCandidate> candidates) => LocalityOrder(candidates).Count;

    /// <summary>Maps the locality indexes that occur to 0..n-1 in order of first appearance.</summary>
    private static Dictionary<int, int> LocalityOrder(ReadOnlySpan<PickCandidate> candidates)
    {
        var order = new Dictionary<int, int>();
        foreach (var c in candidates)
        {
            order.TryAdd(c.Locality, order.Count);
        }

        return order;
    }
}
