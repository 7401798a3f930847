using System.Diagnostics.CodeAnalysis;
using Grpc.AspNetCore.Server;
using Mesh.Client.AspNetCore.Internal;
using Mesh.Client.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the mesh's live status: dashboard, JSON config dump and CSDS.</summary>
public static class MeshStatusEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c> (an HTML dashboard that refreshes itself), <c>GET {pattern}/config_dump</c>
    /// (the JSON it reads) and, when gRPC services are registered (<c>AddGrpc()</c> or
    /// <c>AddMeshClientStatus()</c>), the Client Status Discovery Service that <c>grpcdebug</c> queries.
    /// </summary>
    /// <remarks>
    /// The pages show the process's whole mesh configuration (never key material). Restrict them as any
    /// admin endpoint: conventions added to the returned builder (<c>RequireAuthorization()</c>,
    /// <c>RequireHost(...)</c>) apply to all three.
    /// </remarks>
    /// <param name="endpoints">The application's endpoint route builder.</param>
    /// <param name="pattern">The dashboard's path, a literal such as <c>/mesh</c> or <c>/admin/mesh</c>.</param>
    /// <returns>A builder that applies conventions to every endpoint mapped here.</returns>
    /// <exception cref="InvalidOperationException"><c>AddMesh()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapMeshStatus(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern = "/mesh")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        if (!pattern.StartsWith('/'))
        {
            throw new ArgumentException($"The mesh status path must start with '/'; got '{pattern}'.", nameof(pattern));
        }

        EnsureMesh(endpoints);
        var root = pattern.TrimEnd('/');
        var builders = new List<IEndpointConventionBuilder>
        {
            endpoints.MapGet(root.Length == 0 ? "/" : root, MeshStatusPage.WriteAsync)
                .WithDisplayName("Mesh status page")
                .ExcludeFromDescription(),
            endpoints.MapGet(root + "/config_dump", WriteConfigDumpAsync)
                .WithDisplayName("Mesh config dump")
                .ExcludeFromDescription(),
        };

        if (HasGrpc(endpoints))
        {
            builders.Add(endpoints.MapMeshClientStatusService());
        }

        return new CompositeEndpointConventionBuilder(builders);
    }

    /// <summary>
    /// Maps the Client Status Discovery Service (<c>envoy.service.status.v3.ClientStatusDiscoveryService</c>,
    /// gRFC A40): <c>grpcdebug localhost:PORT xds status</c> lists every xDS resource the process holds, and
    /// <c>xds config</c> prints them. Needs gRPC services (<c>AddGrpc()</c> or <c>AddMeshClientStatus()</c>) and
    /// an HTTP/2 endpoint. <see cref="MapMeshStatus"/> calls this already when gRPC services are registered.
    /// </summary>
    /// <param name="endpoints">The application's endpoint route builder.</param>
    /// <returns>The gRPC service's convention builder.</returns>
    /// <exception cref="InvalidOperationException"><c>AddMesh()</c> or <c>AddGrpc()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapMeshClientStatusService(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EnsureMesh(endpoints);
        if (!HasGrpc(endpoints))
        {
            throw new InvalidOperationException(
                "The mesh's Client Status Discovery Service is a gRPC service: call builder.Services.AddMeshClientStatus() (or AddGrpc()) before mapping it.");
        }

        return endpoints.MapGrpcService<ClientStatusService>();
    }

    private static async Task WriteConfigDumpAsync(HttpContext context)
    {
        var status = context.RequestServices.GetRequiredService<MeshStatus>();
        var json = await status.GetJsonAsync(context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = MeshStatus.JsonContentType;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    private static void EnsureMesh(IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetService<MeshStatus>() is null)
        {
            throw new InvalidOperationException("The mesh status needs the mesh: call builder.Services.AddMesh() before mapping it.");
        }
    }

    // AddGrpc() registers the service activator for every service type; without it gRPC cannot be mapped.
    private static bool HasGrpc(IEndpointRouteBuilder endpoints) =>
        endpoints.ServiceProvider.GetService<IGrpcServiceActivator<ClientStatusService>>() is not null;
}
