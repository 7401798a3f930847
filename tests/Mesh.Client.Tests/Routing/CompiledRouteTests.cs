using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using static Mesh.Client.Tests.Routing.HeaderMatcherTests;

namespace Mesh.Client.Tests.Routing;

public class CompiledRouteTests
{
    [Fact]
    public void ChooseCluster_Weights90To10_WithinOnePointFivePercentagePoints()
    {
        // Each pick is Bernoulli(0.1) for the light cluster: sigma = sqrt(10,000 * 0.1 * 0.9) = 30 picks = 0.3
        // percentage points, so ±1.5 points is ±5 sigma.
        const int picks = 10_000;
        var route = Route(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("stable", 90), new("canary", 10)] });
        var random = MeshRandom.CreateSeeded(131);

        var counts = new int[2];
        for (var i = 0; i < picks; i++)
        {
            counts[route.ChooseCluster(random)]++;
        }

        Assert.InRange(counts[1] * 100.0 / picks, 10 - 1.5, 10 + 1.5);
        Assert.Equal("canary", route.Clusters[1].Name);
    }

    [Fact]
    public void ChooseCluster_ThreeClustersWeights1To1To2_WithinFourSigma()
    {
        // p = 1/4, 1/4, 1/2 over 40,000 picks: sigma ≈ 86.6, 86.6 and 100.
        const int picks = 40_000;
        var route = Route(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("a", 1), new("b", 1), new("c", 2)] });
        var random = MeshRandom.CreateSeeded(132);

        var counts = new int[3];
        for (var i = 0; i < picks; i++)
        {
            counts[route.ChooseCluster(random)]++;
        }

        BalancingTestData.AssertBinomial(counts[0], picks, 0.25, 4, "cluster a");
        BalancingTestData.AssertBinomial(counts[1], picks, 0.25, 4, "cluster b");
        BalancingTestData.AssertBinomial(counts[2], picks, 0.5, 4, "cluster c");
    }

    [Fact]
    public void ChooseCluster_SingleCluster_AlwaysZero()
    {
        var route = Route(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("only", 7)] });
        var random = MeshRandom.CreateSeeded(133);

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(0, route.ChooseCluster(random)));
    }

    [Fact]
    public void IsMatch_PathAndAllHeaders_MustAllHold()
    {
        var route = Route(new MeshRoute
        {
            Match = new RouteMatch
            {
                Path = new PathMatch(PathMatchKind.Prefix, "/api"),
                Headers =
                [
                    new HeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Exact, Value = "canary" },
                    new HeaderMatch { Name = "x-debug", Kind = HeaderMatchKind.Present, PresentMatch = false },
                ],
            },
            Clusters = [new("c")],
        });

        Assert.True(route.IsMatch("/api/x", Request(("x-track", "canary"))));
        Assert.False(route.IsMatch("/web", Request(("x-track", "canary"))));
        Assert.False(route.IsMatch("/api/x", Request(("x-track", "stable"))));
        Assert.False(route.IsMatch("/api/x", Request(("x-track", "canary"), ("x-debug", "1"))));
    }

    [Fact]
    public void ComputeHash_HeaderPolicyHeaderPresent_HashOfValue()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.Header, "x-user")));

        var request = route.ComputeHash(Request(("x-user", "alice")), channelId: 5);

        Assert.True(request.HasHash);
        Assert.Equal(HashKeys.Hash("alice"), request.Hash);
    }

    [Fact]
    public void ComputeHash_HeaderPolicyHeaderAbsent_NoHash()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.Header, "x-user")));

        var request = route.ComputeHash(Request(("x-other", "alice")), channelId: 5);

        Assert.False(request.HasHash);
    }

    [Fact]
    public void ComputeHash_SameHeaderValue_SameHashDifferentValueDifferentHash()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.Header, "x-user")));

        var alice1 = route.ComputeHash(Request(("x-user", "alice")), channelId: 1);
        var alice2 = route.ComputeHash(Request(("x-user", "alice")), channelId: 2);
        var bob = route.ComputeHash(Request(("x-user", "bob")), channelId: 1);

        Assert.Equal(alice1.Hash, alice2.Hash);
        Assert.NotEqual(alice1.Hash, bob.Hash);
    }

    [Fact]
    public void ComputeHash_HeaderWithSeveralValues_HashOfJoinedValue()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.Header, "x-user")));

        var request = route.ComputeHash(Request(("x-user", "a"), ("x-user", "b")), channelId: 0);

        Assert.Equal(HashKeys.Hash("a,b"), request.Hash);
    }

    [Fact]
    public void ComputeHash_BinaryHeader_NoHash()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.Header, "session-bin")));

        Assert.False(route.ComputeHash(Request(("session-bin", "AAEC")), channelId: 0).HasHash);
    }

    [Fact]
    public void ComputeHash_ChannelId_HashIsChannelId()
    {
        var route = Route(HashRoute(new HashPolicy(HashPolicyKind.ChannelId)));

        var a = route.ComputeHash(Request(), channelId: 12345);
        var b = route.ComputeHash(Request(), channelId: 67890);

        Assert.True(a.HasHash);
        Assert.Equal(12345UL, a.Hash);
        Assert.Equal(67890UL, b.Hash);
    }

    [Fact]
    public void ComputeHash_TerminalPolicyYieldsHash_LaterPoliciesSkipped()
    {
        var route = Route(HashRoute(
            new HashPolicy(HashPolicyKind.Header, "x-user", Terminal: true),
            new HashPolicy(HashPolicyKind.ChannelId)));

        var request = route.ComputeHash(Request(("x-user", "alice")), channelId: 99);

        Assert.Equal(HashKeys.Hash("alice"), request.Hash);
    }

    [Fact]
    public void ComputeHash_TerminalPolicyYieldsNothing_EvaluationContinues()
    {
        // Terminal only stops evaluation when its policy produced a hash.
        var route = Route(HashRoute(
            new HashPolicy(HashPolicyKind.Header, "x-user", Terminal: true),
            new HashPolicy(HashPolicyKind.ChannelId)));

        var request = route.ComputeHash(Request(), channelId: 99);

        Assert.True(request.HasHash);
        Assert.Equal(99UL, request.Hash);
    }

    [Fact]
    public void ComputeHash_TwoNonTerminalPolicies_CombinedByRotateAndXor()
    {
        // Envoy's combination: hash = rotate_left(previous, 1) ^ next.
        var route = Route(HashRoute(
            new HashPolicy(HashPolicyKind.Header, "x-user"),
            new HashPolicy(HashPolicyKind.ChannelId)));

        var request = route.ComputeHash(Request(("x-user", "alice")), channelId: 99);

        var first = HashKeys.Hash("alice");
        Assert.Equal(((first << 1) | (first >> 63)) ^ 99UL, request.Hash);
    }

    [Fact]
    public void ComputeHash_FirstPolicyAbsent_SecondAloneDecides()
    {
        var route = Route(HashRoute(
            new HashPolicy(HashPolicyKind.Header, "x-session"),
            new HashPolicy(HashPolicyKind.Header, "x-user")));

        var request = route.ComputeHash(Request(("x-user", "alice")), channelId: 0);

        Assert.Equal(HashKeys.Hash("alice"), request.Hash);
    }

    [Fact]
    public void ComputeHash_NoPolicies_NoHash()
    {
        var route = Route(new MeshRoute { Match = RouteMatch.Any, Clusters = [new("c")] });

        Assert.False(route.ComputeHash(Request(("x-user", "alice")), channelId: 1).HasHash);
    }

    private static MeshRoute HashRoute(params HashPolicy[] policies) =>
        new() { Match = RouteMatch.Any, Clusters = [new("c")], HashPolicies = policies };

    private static CompiledRoute Route(MeshRoute config) =>
        new(config, [.. config.Clusters.Select(c => BalancingTestData.EmptyCluster(c.Cluster))]);
}
