using System.Collections.Concurrent;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// The names of the spans of an HttpClient call to a service (<c>GET catalog</c>, <c>Attempt GET catalog</c>),
/// made once per service and method and kept with the service's route table (in its
/// <see cref="ServiceRouteTable.DoorSlot"/>), so that a call allocates no names after the first of its method.
/// </summary>
internal static class HttpSpanNames
{
    /// <summary>The call span's and the attempt spans' names of a call to <paramref name="service"/> with <paramref name="method"/>.</summary>
    public static (string Call, string Attempt) For(ServiceRouteTable service, HttpMethod method)
    {
        ref var slot = ref service.DoorSlot;
        var names = (ConcurrentDictionary<HttpMethod, (string Call, string Attempt)>?)Volatile.Read(ref slot);
        if (names is null)
        {
            names = new ConcurrentDictionary<HttpMethod, (string Call, string Attempt)>();
            names = (ConcurrentDictionary<HttpMethod, (string Call, string Attempt)>?)Interlocked.CompareExchange(ref slot, names, null) ?? names;
        }

        return names.GetOrAdd(method, static (m, service) => ($"{m.Method} {service}", $"Attempt {m.Method} {service}"), service.Name);
    }
}
