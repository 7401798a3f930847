using Microsoft.Extensions.Hosting;

namespace Mesh.Client.Runtime.Internal;

/// <summary>Starts the mesh with the host, so that an invalid configuration stops start-up rather than the first request.</summary>
internal sealed class MeshHostedService(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = (MeshRuntime)services.GetService(typeof(MeshRuntime))!;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
