using Mesh.Client.Resilience.Internal;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Microsoft.Extensions.DependencyInjection;

public static partial class MeshServiceCollectionExtensions
{
    /// <summary>
    /// A client that also has the standard resilience handler (<c>AddStandardResilienceHandler</c>) would retry again
    /// what the mesh already retries: the standard retry leaves alone requests whose mesh route retries or hedges,
    /// and keeps retrying all others as configured. Tells this service provider's runtime that such a client
    /// exists, so that only then do requests carry the mark (setting a request option allocates).
    /// </summary>
    private sealed class MeshStandardResilience(MeshRuntime runtime) : IPostConfigureOptions<HttpStandardResilienceOptions>
    {
        public void PostConfigure(string? name, HttpStandardResilienceOptions options)
        {
            runtime.MarkStandardResilienceInUse();
            var inner = options.Retry.ShouldHandle;
            options.Retry.ShouldHandle = args =>
                args.Context.GetRequestMessage() is { } request &&
                request.Options.TryGetValue(HttpRoutePipeline.RetriedByMesh, out var retried) && retried
                    ? ValueTask.FromResult(false)
                    : inner(args);
        }
    }
}
