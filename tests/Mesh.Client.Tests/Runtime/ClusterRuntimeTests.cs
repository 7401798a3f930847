using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Runtime;

public class ClusterRuntimeTests
{
    private readonly MeshRuntime _runtime = new(MeshRandom.CreateSeeded(111));

    [Fact]
    public void Pick_Priority0AllUnhealthyOrDraining_PicksGoToPriority1()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0, health: EndpointHealth.Unhealthy), Endpoint(1, health: EndpointHealth.Draining))),
            Priority(Locality("b", 1, Endpoint(2), Endpoint(3)))));

        var picked = PickAddresses(cluster, 100);

        Assert.Equal(1, cluster.ActivePriority);
        Assert.Equal(50, picked[Endpoint(2).Address]);
        Assert.Equal(50, picked[Endpoint(3).Address]);
        Assert.Equal(2, picked.Count);
    }

    [Fact]
    public void Pick_OneHealthyInPriority0_EverythingGoesThere()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(
                Locality("a", 1, Endpoint(0, health: EndpointHealth.Unhealthy), Endpoint(1)),
                Locality("b", 5, Endpoint(2, health: EndpointHealth.Draining))),
            Priority(Locality("c", 1, Endpoint(3), Endpoint(4)))));

        var picked = PickAddresses(cluster, 100);

        Assert.Equal(0, cluster.ActivePriority);
        Assert.Equal(100, Assert.Single(picked, p => p.Key == Endpoint(1).Address).Value);
        Assert.Single(picked);
    }

    [Fact]
    public void Pick_UnknownHealth_CountsAsUsable()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0, health: EndpointHealth.Unknown))),
            Priority(Locality("b", 1, Endpoint(1)))));

        Assert.Equal(0, cluster.ActivePriority);
        Assert.Equal(Endpoint(0).Address, cluster.Pick(PickRequest.None)!.Address);
    }

    [Theory]
    [InlineData(EndpointHealth.Unhealthy)]
    [InlineData(EndpointHealth.Draining)]
    [InlineData(EndpointHealth.Timeout)]
    [InlineData(EndpointHealth.Degraded)]
    public void Pick_NotHealthyNorUnknown_Excluded(EndpointHealth health)
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0, health: health), Endpoint(1))),
            Priority(Locality("b", 1, Endpoint(2)))));

        var picked = PickAddresses(cluster, 20);

        Assert.Equal(0, cluster.ActivePriority);
        Assert.Equal(20, Assert.Single(picked).Value);
        Assert.Equal(Endpoint(1).Address, picked.Keys.Single());
    }

    [Fact]
    public void Pick_DegradedAndTimeoutOnlyInPriority0_FailsOverToPriority1()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0, health: EndpointHealth.Degraded), Endpoint(1, health: EndpointHealth.Timeout))),
            Priority(Locality("b", 1, Endpoint(2)))));

        Assert.Equal(1, cluster.ActivePriority);
        Assert.Equal(Endpoint(2).Address, cluster.Pick(PickRequest.None)!.Address);
    }

    [Fact]
    public void Pick_OnlyLocalityOfPriority0HasWeightZero_FailsOverToPriority1()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 0, Endpoint(0), Endpoint(1))),
            Priority(Locality("b", 1, Endpoint(2)))));

        Assert.Equal(1, cluster.ActivePriority);
        Assert.Equal(Endpoint(2).Address, cluster.Pick(PickRequest.None)!.Address);
    }

    [Fact]
    public void Pick_LocalityWeightZero_NeverPicked()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RandomPolicy.Instance,
            Priority(Locality("a", 0, Endpoint(0)), Locality("b", 1, Endpoint(1), Endpoint(2)))));

        var picked = PickAddresses(cluster, 1000);

        Assert.Equal(0, cluster.ActivePriority);
        Assert.DoesNotContain(Endpoint(0).Address, picked.Keys);
        Assert.Equal(2, picked.Count);
    }

    [Fact]
    public void Pick_NothingUsable_NullAndActivePriorityMinusOne()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0, health: EndpointHealth.Unhealthy))),
            Priority(Locality("b", 0, Endpoint(1)), Locality("c", 1, Endpoint(2, health: EndpointHealth.Draining)))));

        Assert.Equal(-1, cluster.ActivePriority);
        Assert.Null(cluster.Pick(PickRequest.None));
        Assert.Null(cluster.Pick(WithHash(42)));
        Assert.Equal(3, cluster.AllEndpoints.Length);
    }

    [Fact]
    public void Pick_NoPriorities_Null()
    {
        var cluster = Publish(_runtime, Cluster("c", new RingHashPolicy()));

        Assert.Equal(-1, cluster.ActivePriority);
        Assert.Null(cluster.Pick(WithHash(1)));
    }

    [Fact]
    public void Pick_LocalitiesWeighted1And3_StatesMatchLocalities()
    {
        // Round robin over localities is deterministic: exactly 100 of 400 picks in zone a, 300 in zone b.
        var cluster = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0), Endpoint(1)), Locality("b", 3, Endpoint(2), Endpoint(3)))));

        var zones = new Dictionary<string, int>();
        for (var i = 0; i < 400; i++)
        {
            var state = cluster.Pick(PickRequest.None)!;
            zones[state.Locality.Zone] = zones.GetValueOrDefault(state.Locality.Zone) + 1;
        }

        Assert.Equal(100, zones["a"]);
        Assert.Equal(300, zones["b"]);
    }

    [Fact]
    public void Pick_RingHashWithHash_SameEndpointEveryTime()
    {
        var cluster = Publish(_runtime, Cluster(
            "c",
            new RingHashPolicy(),
            Priority(Locality("a", 1, Endpoint(0), Endpoint(1), Endpoint(2), Endpoint(3)))));

        foreach (var hash in RandomHashes(200, seed: 112))
        {
            var first = cluster.Pick(WithHash(hash));
            Assert.NotNull(first);
            Assert.Same(first, cluster.Pick(WithHash(hash)));
        }
    }

    [Fact]
    public void Publish_EndpointStaysInChangedCluster_SameStateAndInFlightKept()
    {
        // Arrange
        var before = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0), Endpoint(1)))));
        var kept = before.AllEndpoints.Single(s => s.Address == Endpoint(0).Address);
        kept.OnStart();
        kept.OnStart();
        kept.OnStart();
        kept.OnEnd();

        // Act: endpoint 0 changes weight, endpoint 1 leaves, endpoint 2 joins.
        var after = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0, weight: 5), Endpoint(2)))));

        // Assert
        Assert.NotSame(before, after);
        Assert.Same(kept, after.AllEndpoints.Single(s => s.Address == Endpoint(0).Address));
        Assert.Equal(2, kept.InFlight);
        Assert.Equal(3, kept.Started);
        Assert.Equal(5u, kept.Endpoint.Weight);
        Assert.Equal(0, after.AllEndpoints.Single(s => s.Address == Endpoint(2).Address).InFlight);
        Assert.DoesNotContain(after.AllEndpoints, s => s.Address == Endpoint(1).Address);
    }

    [Fact]
    public void Publish_EndpointMovesToOtherPriorityAndLocality_SameStateUpdated()
    {
        var before = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0), Endpoint(1)))));
        var moving = before.AllEndpoints[1];
        moving.OnStart();

        var after = Publish(_runtime, Cluster(
            "c",
            RoundRobinPolicy.Instance,
            Priority(Locality("a", 1, Endpoint(0))),
            Priority(Locality("b", 1, Endpoint(1)))));

        var state = after.Priorities[1][0].Endpoints.Single();
        Assert.Same(moving, state);
        Assert.Equal(1, state.InFlight);
        Assert.Equal(1, state.Priority);
        Assert.Equal("b", state.Locality.Zone);
    }

    [Fact]
    public void Publish_EqualClusterConfig_SameRuntimeInstance()
    {
        // A new but equal configuration (new lists, equal contents) keeps the runtime and its picker.
        var before = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0), Endpoint(1)))));

        var after = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0), Endpoint(1)))));

        Assert.Same(before, after);
    }

    [Fact]
    public void Publish_EndpointBecomesUnhealthy_StateKeptButNotPicked()
    {
        var before = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0), Endpoint(1)))));
        var sick = before.AllEndpoints[0];
        sick.OnStart();

        var after = Publish(_runtime, Cluster("c", RoundRobinPolicy.Instance, Priority(Locality("a", 1, Endpoint(0, health: EndpointHealth.Unhealthy), Endpoint(1)))));

        Assert.Same(sick, after.AllEndpoints[0]);
        Assert.Equal(1, sick.InFlight);
        Assert.DoesNotContain(Endpoint(0).Address, PickAddresses(after, 50).Keys);
    }

    private static Dictionary<string, int> PickAddresses(ClusterRuntime cluster, int picks)
    {
        var result = new Dictionary<string, int>();
        for (var i = 0; i < picks; i++)
        {
            var state = cluster.Pick(PickRequest.None);
            Assert.NotNull(state);
            result[state.Address] = result.GetValueOrDefault(state.Address) + 1;
        }

        return result;
    }
}
