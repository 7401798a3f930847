using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Time.Testing;
using static Mesh.Client.Tests.TestInfrastructure.BalancingTestData;

namespace Mesh.Client.Tests.Runtime;

public class ClusterStateTests
{
    private static readonly OutlierDetectionPolicy Policy = new()
    {
        BaseEjectionTime = TimeSpan.FromSeconds(30),
        MaxEjectionPercent = 50,
        FailurePercentage = new FailurePercentageEjection { Threshold = 50, MinimumHosts = 2, RequestVolume = 10 },
    };

    [Fact]
    public void Ejection_UpdatesItsClusterOnly_WithoutPublishing()
    {
        // Arrange: two clusters with outlier detection; one endpoint of the first fails every request.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var runtime = new MeshRuntime(MeshRandom.CreateSeeded(5), time);
        var table = runtime.Tables.Publish(Snapshot(
            Cluster("a", RoundRobinPolicy.Instance, Priority(Locality("z", 1, Endpoint(0), Endpoint(1)))) with { OutlierDetection = Policy },
            Cluster("b", RoundRobinPolicy.Instance, Priority(Locality("z", 1, Endpoint(2), Endpoint(3)))) with { OutlierDetection = Policy }));
        var a = table.Clusters["a"];
        var b = table.Clusters["b"];
        var bPicker = b.Picker;
        var aToken = a.State.GetChangeToken();
        var bToken = b.State.GetChangeToken();
        Record(a.AllEndpoints[0], successes: 0, failures: 20);
        Record(a.AllEndpoints[1], successes: 20, failures: 0);

        // Act
        time.Advance(Policy.Interval);

        // Assert: the endpoint is out of its cluster's picker; no table was published; the other cluster is untouched.
        Assert.True(a.AllEndpoints[0].IsEjected);
        Assert.Same(table, runtime.Current);
        Assert.True(aToken.HasChanged);
        Assert.False(bToken.HasChanged);
        Assert.Same(bPicker, b.Picker);
        for (var i = 0; i < 20; i++)
        {
            Assert.Same(a.AllEndpoints[1], a.Pick(default));
        }

        // Ejection over: the endpoint is back, again without a publication.
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.False(a.AllEndpoints[0].IsEjected);
        Assert.Same(table, runtime.Current);
        Assert.Contains(Enumerable.Range(0, 20).Select(_ => a.Pick(default)), e => ReferenceEquals(e, a.AllEndpoints[0]));
    }

    [Fact]
    public void Republish_AfterEjection_NewClusterRuntimeLeavesEjectedEndpointOut()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var runtime = new MeshRuntime(MeshRandom.CreateSeeded(5), time);
        var cluster = Cluster("a", RoundRobinPolicy.Instance, Priority(Locality("z", 1, Endpoint(0), Endpoint(1)))) with { OutlierDetection = Policy };
        var before = Publish(runtime, cluster);
        Record(before.AllEndpoints[0], successes: 0, failures: 20);
        Record(before.AllEndpoints[1], successes: 20, failures: 0);
        time.Advance(Policy.Interval);

        // A configuration change builds a new runtime of the cluster on the same state.
        var after = Publish(runtime, cluster with { Priorities = [Priority(Locality("z", 1, Endpoint(0), Endpoint(1, weight: 3)))] });

        Assert.NotSame(before, after);
        Assert.Same(after, after.State.Current);
        Assert.True(after.AllEndpoints[0].IsEjected);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Same(after.AllEndpoints[1], after.Pick(default)));
    }

    private static void Record(EndpointState endpoint, int successes, int failures)
    {
        for (var i = 0; i < successes; i++)
        {
            endpoint.RecordSuccess();
        }

        for (var i = 0; i < failures; i++)
        {
            endpoint.RecordFailure();
        }
    }
}
