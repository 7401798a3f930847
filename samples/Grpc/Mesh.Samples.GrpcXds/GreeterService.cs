using Grpc.Core;

namespace Mesh.Samples.GrpcXds;

/// <summary>The server side: an ordinary gRPC service. Nothing in it knows about the mesh.</summary>
/// <param name="instance">Which server instance this is.</param>
public sealed class GreeterService(GreeterInstance instance) : Greeter.GreeterBase
{
    /// <inheritdoc />
    public override Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context) =>
        Task.FromResult(new HelloReply
        {
            Message = $"Hello {request.Name} from {instance.Name}",
            Server = instance.Name,
            Version = instance.Version,
        });
}

/// <summary>The name and version a greeter server answers with.</summary>
/// <param name="Name">The instance's name.</param>
/// <param name="Version">Its version.</param>
public sealed record GreeterInstance(string Name, string Version);
