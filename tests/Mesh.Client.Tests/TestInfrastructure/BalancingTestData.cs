using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Model builders, hash sources and statistical assertions for balancer and routing tests.</summary>
public static class BalancingTestData
{
    /// <summary>An endpoint whose address is derived from <paramref name="index"/> (10.1.x.y:20000+index).</summary>
    internal static MeshEndpoint Endpoint(int index, uint weight = 1, EndpointHealth health = EndpointHealth.Healthy, string? hashKey = null) => new()
    {
        Host = "10.1." + (index / 250) + "." + (index % 250),
        Port = 20000 + index,
        Weight = weight,
        Health = health,
        HashKey = hashKey,
    };

    /// <summary>Candidates in one locality of weight 1, in the given order.</summary>
    internal static PickCandidate[] FromEndpoints(params MeshEndpoint[] endpoints)
    {
        var result = new PickCandidate[endpoints.Length];
        for (var i = 0; i < endpoints.Length; i++)
        {
            result[i] = PickCandidate.From(new EndpointState("test", endpoints[i]), 0, 1);
        }

        return result;
    }

    /// <summary>A pick request carrying <paramref name="hash"/>.</summary>
    internal static PickRequest WithHash(ulong hash) => new(hash, hasHash: true);

    /// <summary>Reproducible 64-bit request hashes.</summary>
    internal static ulong[] RandomHashes(int count, int seed)
    {
        var random = MeshRandom.CreateSeeded(seed);
        var result = new ulong[count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = random.NextUInt64();
        }

        return result;
    }

    /// <summary>
    /// The share of the 64-bit hash space each candidate owns, measured by picking at <paramref name="samples"/>
    /// evenly spaced hashes. The error per candidate is at most (points it owns) / samples.
    /// </summary>
    internal static double[] HashSpaceShares(EndpointPicker picker, int samples = 1 << 18)
    {
        var counts = new int[picker.Count];
        var step = ulong.MaxValue / (ulong)samples;
        for (var i = 0; i < samples; i++)
        {
            counts[picker.Pick(WithHash((ulong)i * step))]++;
        }

        return [.. counts.Select(c => (double)c / samples)];
    }

    internal static MeshLocality Locality(string zone, uint weight, params MeshEndpoint[] endpoints) => new()
    {
        Name = new LocalityName("region", zone),
        Weight = weight,
        Endpoints = endpoints,
    };

    internal static MeshPriority Priority(params MeshLocality[] localities) => new(localities);

    internal static MeshCluster Cluster(string name, LoadBalancingPolicy policy, params MeshPriority[] priorities) => new()
    {
        Name = name,
        LoadBalancing = policy,
        Priorities = priorities,
    };

    internal static MeshSnapshot Snapshot(params MeshCluster[] clusters) => new()
    {
        Version = "test",
        Source = "test",
        Services = new Dictionary<string, MeshService>(),
        Clusters = clusters.ToDictionary(c => c.Name),
    };

    /// <summary>Publishes a snapshot holding <paramref name="cluster"/> and returns the cluster's runtime.</summary>
    internal static ClusterRuntime Publish(MeshRuntime runtime, MeshCluster cluster) =>
        runtime.Tables.Publish(Snapshot(cluster)).Clusters[cluster.Name];

    /// <summary>A cluster runtime with no endpoints, for route tests that only need cluster identities.</summary>
    internal static ClusterRuntime EmptyCluster(string name) =>
        new(Cluster(name, RoundRobinPolicy.Instance), [], MeshRandom.CreateSeeded(0));

    /// <summary>
    /// Asserts that <paramref name="observed"/> successes out of <paramref name="trials"/> Bernoulli trials of
    /// probability <paramref name="p"/> lie within <paramref name="sigmas"/> standard deviations
    /// (sigma = sqrt(trials * p * (1 - p))) of the expected count.
    /// </summary>
    public static void AssertBinomial(long observed, long trials, double p, double sigmas, string what)
    {
        var expected = trials * p;
        var sigma = Math.Sqrt(trials * p * (1 - p));
        var tolerance = sigmas * sigma;
        Assert.True(
            Math.Abs(observed - expected) <= tolerance,
            $"{what}: observed {observed} of {trials}, expected {expected:F1} ± {tolerance:F1} ({sigmas} sigma, sigma {sigma:F2})");
    }
}
