using Microsoft.AspNetCore.Builder;

namespace Mesh.Client.AspNetCore.Internal;

/// <summary>
/// Hands every convention to each of several builders, so that one <c>RequireAuthorization()</c> (or host
/// filter, or CORS policy) on the result of <c>MapMeshStatus</c> covers the page, the JSON and the gRPC service alike.
/// </summary>
internal sealed class CompositeEndpointConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
{
    public void Add(Action<EndpointBuilder> convention)
    {
        foreach (var builder in builders)
        {
            builder.Add(convention);
        }
    }

    public void Finally(Action<EndpointBuilder> finallyConvention)
    {
        foreach (var builder in builders)
        {
            builder.Finally(finallyConvention);
        }
    }
}
