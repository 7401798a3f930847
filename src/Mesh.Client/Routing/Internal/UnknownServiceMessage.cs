using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Routing.Internal;

/// <summary>
/// What a request for a name the mesh does not have says, on both front doors: which services the mesh has, or that
/// it has none and why, so that "Name or service not known" or a bare UNAVAILABLE does not hide a missing or empty
/// mesh configuration. Next to <see cref="MeshRequestMessages"/>, the other messages a refused request carries; apart
/// from them because it reads the runtime (its services and discovery) rather than taking its words as arguments.
/// </summary>
internal static class UnknownServiceMessage
{
    /// <summary>Most service names listed in a message.</summary>
    private const int ListedServices = 10;

    /// <summary>
    /// An HttpClient request to <paramref name="authority"/> that passed through (not a mesh service) and that name
    /// resolution failed with <paramref name="resolutionError"/>.
    /// </summary>
    public static string ForHttpHost(string authority, MeshRuntime runtime, string resolutionError)
    {
        var tail = runtime.Discovery switch
        {
            null => DefaultTail(runtime),
            { } discovery when runtime.Current.Services.Count == 0 =>
                $"; the control plane ({discovery.Description}) is asked only for hosts that Mesh:Xds:HttpHosts matches, and '{authority}' does not match.",
            { } discovery => $". Add it under Mesh:Services, or to Mesh:Xds:HttpHosts to ask the control plane ({discovery.Description}) for it.",
        };
        return $"'{authority}' is not a mesh service, and name resolution does not know it either ({resolutionError}). " + Services(runtime) + tail;
    }

    /// <summary>The sentence a gRPC target without a service ends with.</summary>
    public static string ForGrpcTarget(MeshRuntime runtime) => Services(runtime) + DefaultTail(runtime);

    private static string Services(MeshRuntime runtime)
    {
        var services = runtime.Current.Services.Keys.Order(StringComparer.OrdinalIgnoreCase).ToList();
        return services.Count switch
        {
            0 => "The mesh has no services at all",
            <= ListedServices => $"The mesh's services are {string.Join(", ", services)}",
            _ => $"The mesh has {services.Count} services ({string.Join(", ", services.Take(ListedServices))}, …)",
        };
    }

    private static string DefaultTail(MeshRuntime runtime) =>
        runtime.Current.Services.Count == 0 && runtime.Discovery is null
            ? ": AddMesh() found neither services under Mesh:Services nor an xDS bootstrap (GRPC_XDS_BOOTSTRAP, GRPC_XDS_BOOTSTRAP_CONFIG or Mesh:Xds:Bootstrap)."
            : ". A service answers to its key, or to the names in its Hosts list, exactly as the caller writes host or host:port.";
}
