using System.Diagnostics;
using Mesh.Client.Configuration;
using Mesh.Client.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Benchmarks;

/// <summary>What the console load modes (<c>--mtls</c>, <c>--telemetry</c>) and the client benchmarks share.</summary>
internal static class LoadDriver
{
    /// <summary>Sends <paramref name="count"/> calls from <paramref name="workers"/> concurrent loops; the time from the first call to the last answer.</summary>
    public static async Task<TimeSpan> DriveAsync(int count, int workers, Func<Task> call)
    {
        var issued = 0;
        var stopwatch = Stopwatch.StartNew();
        var tasks = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref issued) <= count)
                {
                    await call();
                }
            });
        }

        await Task.WhenAll(tasks);
        return stopwatch.Elapsed;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// A container with the mesh configured for <c>catalog</c> (10.0.0.1–3:8080, round robin) and every
    /// factory client's primary handler replaced by <paramref name="primary"/>.
    /// </summary>
    public static ServiceProvider MeshOverMock(HttpMessageHandler primary)
    {
        var services = new ServiceCollection();
        services.AddMesh(o =>
        {
            var catalog = new MeshServiceOptions { LoadBalancing = { Policy = LoadBalancingPolicyNames.RoundRobin } };
            catalog.Endpoints.Add(new MeshEndpointOptions { Address = "10.0.0.1:8080" });
            catalog.Endpoints.Add(new MeshEndpointOptions { Address = "10.0.0.2:8080" });
            catalog.Endpoints.Add(new MeshEndpointOptions { Address = "10.0.0.3:8080" });
            o.Services["catalog"] = catalog;
        });
        services.ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => primary));
        return services.BuildServiceProvider();
    }
}
