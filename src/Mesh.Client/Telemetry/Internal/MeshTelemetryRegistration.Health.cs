using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>The <c>mesh</c> health check's service; <c>AddMeshHealthCheck()</c> adds the check itself.</summary>
internal static partial class MeshTelemetryRegistration
{
    static partial void AddHealth(IServiceCollection services) => services.TryAddSingleton<MeshHealthCheck>();
}
