using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>What <c>AddMesh()</c> registers for observability; each area adds its part in its own file.</summary>
internal static partial class MeshTelemetryRegistration
{
    public static void Add(IServiceCollection services)
    {
        AddHealth(services);
        AddStatus(services);

        // The mesh's spans reach the wire as the parent of the server's span (see MeshTraceContext).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, MeshTraceContextFilter>());
    }

    static partial void AddHealth(IServiceCollection services);

    static partial void AddStatus(IServiceCollection services);
}
