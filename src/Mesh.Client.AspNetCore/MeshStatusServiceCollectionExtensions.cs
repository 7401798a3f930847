namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what the mesh's status endpoints need beyond <c>AddMesh()</c>.</summary>
public static class MeshStatusServiceCollectionExtensions
{
    /// <summary>
    /// Adds gRPC services (<c>AddGrpc()</c>), which the Client Status Discovery Service needs; calling it when
    /// the application already calls <c>AddGrpc()</c> is harmless. The status itself comes with <c>AddMesh()</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddMeshClientStatus(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddGrpc();
        return services;
    }
}
