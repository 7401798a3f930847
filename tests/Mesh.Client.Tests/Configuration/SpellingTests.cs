using Mesh.Client.Configuration.Internal;
using Mesh.Client.Model;

namespace Mesh.Client.Tests.Configuration;

public class SpellingTests
{
    [Theory]
    [InlineData("round_robin", "round_robin")]
    [InlineData("RoundRobin", "round_robin")]
    [InlineData("round-robin", "round_robin")]
    [InlineData(" ROUND_ROBIN ", "round_robin")]
    [InlineData("leastRequest", "least_request")]
    [InlineData("Ring Hash", "ring_hash")]
    [InlineData("PickFirst", "pick_first")]
    [InlineData("Maglev", "maglev")]
    public void Match_DotnetOrXdsSpelling_GivesTheXdsName(string written, string expected) =>
        Assert.Equal(expected, Spelling.Match(written, LoadBalancingPolicyNames.All));

    [Theory]
    [InlineData("fastest")]
    [InlineData("round_robbin")]
    [InlineData("")]
    [InlineData(null)]
    public void Match_OtherName_GivesNothing(string? written) =>
        Assert.Null(Spelling.Match(written, LoadBalancingPolicyNames.All));

    [Theory]
    [InlineData("round_robbin", "round_robin")]
    [InlineData("least_requests", "least_request")]
    [InlineData("Endpionts", "Endpoints")]
    [InlineData("maglef", "maglev")]
    public void Suggest_Slip_GivesTheClosestName(string written, string expected) =>
        Assert.Equal(expected, Spelling.Suggest(written, [.. LoadBalancingPolicyNames.All, "Endpoints", "Hosts"]));

    [Theory]
    [InlineData("fastest")]
    [InlineData("xy")]
    [InlineData("weighted_round_robin_with_slow_start")]
    public void Suggest_UnrelatedName_GivesNothing(string written) =>
        Assert.Null(Spelling.Suggest(written, LoadBalancingPolicyNames.All));
}
