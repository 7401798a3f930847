using Mesh.Client.Model;

namespace Mesh.Client.Xds.Internal;

// Routes: the virtual host for the target, and each route completed with the connection manager's settings
// (max stream duration, fault filters and their overrides).
internal sealed partial class XdsTargetWatcher
{
    /// <summary>
    /// The virtual host's routes, each completed by <see cref="DeriveRoute"/>. A route is derived again only
    /// when its decoded route or the Listener changed; otherwise the instance from the last time is reused.
    /// </summary>
    private IReadOnlyList<MeshRoute> DeriveRoutes(XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        var derived = new Dictionary<MeshRoute, (XdsListenerUpdate Listener, MeshRoute Route)>(ReferenceEqualityComparer.Instance);
        var routes = new MeshRoute[virtualHost.Routes.Count];
        for (var i = 0; i < routes.Length; i++)
        {
            var source = virtualHost.Routes[i];

            // The decoded route stands for its whole RouteConfiguration (a new one decodes new routes), hence
            // for its virtual host's overrides too; the Listener is the other input.
            if (!_derived.TryGetValue(source, out var entry) || !ReferenceEquals(entry.Listener, listener))
            {
                entry = (listener, DeriveRoute(source, virtualHost, listener));
            }

            derived[source] = entry;
            routes[i] = entry.Route;
        }

        _derived = derived;
        return routes;
    }

    /// <summary>
    /// Completes a decoded route with what the connection manager contributes: the faults its fault filters
    /// inject there (gRFC A33, A39: the most specific config wins — weighted cluster, route, virtual host, then
    /// the filter's own) and, when the route sets no stream duration, the connection manager's
    /// <c>max_stream_duration</c> (gRFC A31). Returns <paramref name="route"/> itself when nothing changes.
    /// </summary>
    internal static MeshRoute DeriveRoute(MeshRoute route, XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        if (route.ErrorMessage is not null)
        {
            // Its requests fail before any filter or timeout would matter.
            return route;
        }

        var extras = virtualHost.RouteExtras.GetValueOrDefault(route);
        var fault = EffectiveFault(extras, virtualHost, listener);
        var maxStreamDuration = extras is { SetsMaxStreamDuration: true }
            ? route.MaxStreamDuration
            : listener.MaxStreamDuration is { } hcmDuration && hcmDuration > TimeSpan.Zero ? hcmDuration : null;
        return Equals(fault, route.Fault) && maxStreamDuration == route.MaxStreamDuration
            ? route
            : route with { Fault = fault, MaxStreamDuration = maxStreamDuration };
    }

    private static FaultPolicy? EffectiveFault(XdsRouteExtras? extras, XdsVirtualHost virtualHost, XdsListenerUpdate listener)
    {
        // The model holds one fault policy per route: with several fault filters, the first one that injects
        // anything is taken (Envoy would run each in turn; one fault filter is what control planes send).
        foreach (var filter in listener.FaultFilters)
        {
            var policy = ClusterOverride(extras, filter.Name)
                ?? extras?.FaultOverrides.GetValueOrDefault(filter.Name)
                ?? virtualHost.FaultOverrides.GetValueOrDefault(filter.Name)
                ?? filter.Policy;
            if (XdsFaultOverrides.InjectsFaults(policy))
            {
                return policy;
            }
        }

        return null;
    }

    /// <summary>
    /// The weighted clusters' override of a filter, when every cluster of the route has the same one. The model
    /// cannot hold a fault policy per cluster of a route, so when the clusters differ (or only some override the
    /// filter), the route's own setting applies to all of them: an approximation of gRFC A39, where the cluster
    /// picked for the request decides.
    /// </summary>
    private static FaultPolicy? ClusterOverride(XdsRouteExtras? extras, string filterName)
    {
        if (extras is null || extras.ClusterFaultOverrides.Count == 0)
        {
            return null;
        }

        FaultPolicy? common = null;
        foreach (var overrides in extras.ClusterFaultOverrides)
        {
            if (!overrides.TryGetValue(filterName, out var policy) || (common is not null && !Equals(common, policy)))
            {
                return null;
            }

            common = policy;
        }

        return common;
    }

    private static MeshRoute ErrorRoute(string message) =>
        new() { Name = "unavailable", Match = RouteMatch.Any, Clusters = [], ErrorMessage = message };

    /// <summary>
    /// Chooses the virtual host for <paramref name="target"/> as gRPC and Envoy do: an exact domain first,
    /// then the longest <c>*suffix</c>, then the longest <c>prefix*</c>, then <c>*</c>. Case is ignored.
    /// </summary>
    internal static XdsVirtualHost? SelectVirtualHost(IReadOnlyList<XdsVirtualHost> virtualHosts, string target)
    {
        XdsVirtualHost? best = null;
        var bestRank = int.MaxValue;
        var bestLength = -1;
        foreach (var virtualHost in virtualHosts)
        {
            foreach (var domain in virtualHost.Domains)
            {
                var (rank, length) = MatchDomain(domain, target);
                if (rank < bestRank || (rank == bestRank && length > bestLength))
                {
                    (best, bestRank, bestLength) = (virtualHost, rank, length);
                }
            }
        }

        return bestRank == int.MaxValue ? null : best;
    }

    private static (int Rank, int Length) MatchDomain(string domain, string target)
    {
        const int NoMatch = int.MaxValue;
        if (domain.Length == 0)
        {
            return (NoMatch, 0);
        }

        if (domain == "*")
        {
            return (3, 1);
        }

        var wildcards = domain.Count(c => c == '*');
        if (wildcards == 0)
        {
            return string.Equals(domain, target, StringComparison.OrdinalIgnoreCase) ? (0, domain.Length) : (NoMatch, 0);
        }

        if (wildcards > 1)
        {
            return (NoMatch, 0);
        }

        if (domain[0] == '*')
        {
            var suffix = domain.AsSpan(1);
            return target.Length > suffix.Length && target.AsSpan().EndsWith(suffix, StringComparison.OrdinalIgnoreCase) ? (1, domain.Length) : (NoMatch, 0);
        }

        if (domain[^1] == '*')
        {
            var prefix = domain.AsSpan(0, domain.Length - 1);
            return target.Length > prefix.Length && target.AsSpan().StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? (2, domain.Length) : (NoMatch, 0);
        }

        return (NoMatch, 0);
    }
}
