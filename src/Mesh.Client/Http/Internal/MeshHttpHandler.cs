using System.Net;
using Mesh.Client.Model;
using Mesh.Client.Internal;
using Mesh.Client.Routing.Internal;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Http.Internal;

/// <summary>
/// The HttpClient front door. A request whose host is a mesh service is routed, balanced and sent
/// straight to the picked endpoint, with the original authority kept in the <c>Host</c> header; every
/// other request passes through after one dictionary lookup.
/// </summary>
internal sealed partial class MeshHttpHandler : DelegatingHandler
{
    private readonly MeshRuntime _runtime;
    private readonly ILogger _logger;
    private readonly ulong _channelId;

    public MeshHttpHandler(MeshRuntime runtime, ILogger<MeshHttpHandler> logger)
    {
        _runtime = runtime;
        _logger = logger;
        _channelId = runtime.Random.NextUInt64();
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri;
        if (uri is null || !uri.IsAbsoluteUri || uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return base.SendAsync(request, cancellationToken);
        }

        var table = _runtime.Current;
        if (table.Services.Count > 0 && TryGetService(table, uri, out var service))
        {
            return SendToMeshAsync(request, uri, service, cancellationToken);
        }

        if (_runtime.Discovery is { } discovery)
        {
            var authority = uri.IsDefaultPort ? uri.Host : uri.Authority;
            if (discovery.ShouldLookUpHttpHost(authority))
            {
                return LookUpAndSendAsync(request, uri, authority, discovery, cancellationToken);
            }
        }

        return base.SendAsync(request, cancellationToken);
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

    private async Task<HttpResponseMessage> SendToMeshAsync(HttpRequestMessage request, Uri original, ServiceRouteTable service, CancellationToken cancellationToken)
    {
        // One string serves both route matching (the path, without the query) and the rewritten address.
        var pathAndQuery = original.PathAndQuery;
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? pathAndQuery.AsSpan() : pathAndQuery.AsSpan(0, query);
        var route = service.Match(path, request);
        if (route is null)
        {
            var pathText = path.ToString();
            Log.NoRoute(_logger, service.Name, pathText);
            throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute,
                $"No route of mesh service '{service.Name}' matches {request.Method} {pathText}.");
        }

        if (route.Config.ErrorMessage is { } routeError)
        {
            throw new MeshRequestException(service.Name, MeshFailureReason.NoRoute, $"Mesh service '{service.Name}': {routeError}");
        }

        var cluster = route.Clusters[route.ChooseCluster(_runtime.Random)];
        var endpoint = cluster.Pick(route.ComputeHash(request, _channelId));
        if (endpoint is null)
        {
            Log.NoEndpoints(_logger, service.Name, cluster.Name);
            throw new MeshRequestException(service.Name, MeshFailureReason.NoEndpoints,
                $"Mesh service '{service.Name}': " + (cluster.Config.ErrorMessage ?? $"cluster '{cluster.Name}' has no healthy endpoint."));
        }

        var prefix = original.Scheme == Uri.UriSchemeHttps ? endpoint.HttpsPrefix : endpoint.HttpPrefix;
        request.RequestUri = new Uri(prefix + pathAndQuery, UriKind.Absolute);
        if (!request.Headers.NonValidated.Contains("Host"))
        {
            // Unvalidated: the authority came from a Uri the runtime already parsed.
            request.Headers.TryAddWithoutValidation("Host", original.IsDefaultPort ? original.Host : original.Authority);
        }
        switch (cluster.Config.Protocol)
        {
            case UpstreamProtocol.Http2:
                request.Version = HttpVersion.Version20;
                request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                break;
            case UpstreamProtocol.Http1:
                request.Version = HttpVersion.Version11;
                request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                break;
        }

        Log.Picked(_logger, service.Name, cluster.Name, endpoint.Address);

        endpoint.OnStart();
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            endpoint.OnEnd();

            // Give the caller back the address it used, so that a retry above this handler routes afresh.
            request.RequestUri = original;
        }
    }
}
