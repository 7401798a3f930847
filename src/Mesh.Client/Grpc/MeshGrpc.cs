using Grpc.Core;
using Grpc.Net.Client;

namespace Mesh.Client.Grpc;

/// <summary>Names and helpers for the gRPC front door.</summary>
public static class MeshGrpc
{
    /// <summary>The target scheme the mesh resolves: <c>xds:///catalog</c>.</summary>
    public const string Scheme = "xds";

    /// <summary>The name of the load-balancing policy the mesh installs on its channels.</summary>
    public const string LoadBalancingPolicyName = "mesh_xds_router";

    /// <summary>
    /// Creates a channel to a mesh target such as <c>xds:///catalog</c>, with the mesh's resolver and
    /// balancer from <paramref name="services"/> and plaintext transport unless
    /// <paramref name="options"/> says otherwise.
    /// </summary>
    /// <param name="target">The target, <c>xds:///name</c>.</param>
    /// <param name="services">The service provider that <c>AddMesh()</c> was called on.</param>
    /// <param name="options">Further channel options; <see cref="GrpcChannelOptions.ServiceProvider"/> is set for you.</param>
    /// <returns>The channel.</returns>
    public static GrpcChannel CreateChannel(string target, IServiceProvider services, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(services);
        options ??= new GrpcChannelOptions();
        options.ServiceProvider = services;
        options.Credentials ??= ChannelCredentials.Insecure;
        return GrpcChannel.ForAddress(target, options);
    }
}
