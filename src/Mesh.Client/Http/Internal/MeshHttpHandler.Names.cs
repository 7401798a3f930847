using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Http.Internal;

/// <summary>
/// Requests for names the current table does not hold: looked up from the control plane, or passed through as
/// addressed, with a failure that says the mesh has no such service when name resolution does not know it either.
/// </summary>
internal sealed partial class MeshHttpHandler
{
    /// <summary>Sends a request to a host the mesh does not know; a name resolution failure says so.</summary>
    private async Task<HttpResponseMessage> PassThroughAsync(HttpRequestMessage request, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.NameResolutionError)
        {
            var authority = uri.IsDefaultPort ? uri.Host : uri.Authority;
            throw new MeshRequestException(authority, MeshFailureReason.UnknownService, UnknownServiceMessage.ForHttpHost(authority, _runtime, ex.Message), ex);
        }
    }

    /// <summary>
    /// A host the control plane may know: wait (bounded) for its configuration, then send through the mesh;
    /// a name the control plane says does not exist passes through untouched.
    /// </summary>
    private async Task<HttpResponseMessage> LookUpAndSendAsync(HttpRequestMessage request, Uri uri, string authority, IMeshDiscovery discovery, CancellationToken cancellationToken)
    {
        var table = _runtime.Current;
        if (!table.Knows(authority))
        {
            table = await _runtime.WaitForNameAsync(authority, discovery.ConfigWaitTimeout, cancellationToken).ConfigureAwait(false);
        }

        if (table is null)
        {
            throw new MeshRequestException(authority, MeshFailureReason.NotConfigured,
                $"Mesh service '{authority}': no configuration from {discovery.Description} within {discovery.ConfigWaitTimeout.TotalSeconds:0.#} s.");
        }

        if (table.Services.TryGetValue(authority, out var service))
        {
            return await SendToMeshAsync(request, uri, service, cancellationToken).ConfigureAwait(false);
        }

        var failure = table.Snapshot.FailedServices[authority];
        if (failure.DoesNotExist)
        {
            // Not a mesh service after all: the request goes where it was addressed, as a sidecar's
            // pass-through would send it.
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        throw new MeshRequestException(authority, MeshFailureReason.NotConfigured, $"Mesh service '{authority}': {failure.Message}");
    }

    /// <summary>Finds the service named by the request's authority exactly as written: <c>host</c>, or <c>host:port</c> when a port is given.</summary>
    internal static bool TryGetService(MeshTable table, Uri uri, out ServiceRouteTable service)
    {
        if (uri.IsDefaultPort)
        {
            return table.Services.TryGetValue(uri.Host, out service!);
        }

        var host = uri.Host;
        if (host.Length > 256)
        {
            // Longer than any DNS name: look it up without the stack buffer.
            return table.Services.TryGetValue(uri.Authority, out service!);
        }

        Span<char> authority = stackalloc char[host.Length + 6];
        host.AsSpan().CopyTo(authority);
        authority[host.Length] = ':';
        uri.Port.TryFormat(authority[(host.Length + 1)..], out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        var lookup = table.Services.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(authority[..(host.Length + 1 + written)], out service!);
    }
}
