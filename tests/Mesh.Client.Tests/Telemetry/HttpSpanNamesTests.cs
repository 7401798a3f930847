using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Telemetry.Internal;

namespace Mesh.Client.Tests.Telemetry;

public class HttpSpanNamesTests
{
    [Fact]
    public void For_SameServiceAndMethod_NamesMadeOnceAndKeptWithTheTable()
    {
        var service = new ServiceRouteTable(new MeshService { Name = "catalog", Routes = [] }, []);

        var first = HttpSpanNames.For(service, HttpMethod.Get);
        var second = HttpSpanNames.For(service, HttpMethod.Get);

        Assert.Equal(("GET catalog", "Attempt GET catalog"), first);
        Assert.Same(first.Call, second.Call);
        Assert.Same(first.Attempt, second.Attempt);
        Assert.NotNull(service.DoorSlot);
        Assert.Equal("POST catalog", HttpSpanNames.For(service, HttpMethod.Post).Call);
    }
}
