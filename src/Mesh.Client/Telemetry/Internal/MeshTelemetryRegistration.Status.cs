using Mesh.Client.Configuration;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>The status view: <see cref="MeshStatus"/>, resolvable once <c>AddMesh()</c> has run.</summary>
internal static partial class MeshTelemetryRegistration
{
    static partial void AddStatus(IServiceCollection services)
    {
        services.TryAddSingleton(sp => new MeshStatus(
            sp.GetRequiredService<MeshRuntime>(),
            new MeshStatusSources(sp.GetService<IOptionsMonitor<MeshOptions>>()),
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
    }
}
