using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>What <c>AddMesh()</c> registers for observability; each area adds its part in its own file.</summary>
internal static partial class MeshTelemetryRegistration
{
    public static void Add(IServiceCollection services)
    {
        AddHealth(services);
        AddStatus(services);
    }

    static partial void AddHealth(IServiceCollection services);

    static partial void AddStatus(IServiceCollection services);
}
