using Mesh.Client.Model;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Tests.Resilience;

public class HttpRoutePipelineTests
{
    [Fact]
    public void For_RouteWithRetries_BuildsOncePerRoute()
    {
        var first = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [], Retry = new RetryPolicy { RetryOn = RetryOn.Http5xx } }, []);
        var second = new CompiledRoute(first.Config, []);

        var pipeline = HttpRoutePipeline.For(first, TimeProvider.System, MeshRandom.Shared);

        Assert.NotNull(pipeline);
        Assert.Same(pipeline, HttpRoutePipeline.For(first, TimeProvider.System, MeshRandom.Shared));
        Assert.NotSame(pipeline, HttpRoutePipeline.For(second, TimeProvider.System, MeshRandom.Shared));
    }

    [Fact]
    public void For_RouteWithoutPolicies_NoneAndRemembered()
    {
        var route = new CompiledRoute(new MeshRoute { Match = RouteMatch.Any, Clusters = [] }, []);

        Assert.Null(HttpRoutePipeline.For(route, TimeProvider.System, MeshRandom.Shared));
        Assert.NotNull(route.DoorSlot);
        Assert.Null(HttpRoutePipeline.For(route, TimeProvider.System, MeshRandom.Shared));
    }
}
