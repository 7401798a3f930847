using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing;

/// <summary>
/// Builds the xDS v3 resources a gRPC client needs (Listener, RouteConfiguration, Cluster,
/// ClusterLoadAssignment), packed as <see cref="Any"/> for <see cref="XdsTestServer.SetResource(Any)"/>, so
/// that tests need not know the Envoy message types. Every reference to another resource (route configuration,
/// EDS service) is fetched over the same ADS stream.
/// </summary>
public static partial class XdsResources
{
    /// <summary>The name of the terminal router HTTP filter.</summary>
    public const string RouterFilterName = "envoy.filters.http.router";

    /// <summary>
    /// A client-side Listener: an <c>ApiListener</c> holding an <c>HttpConnectionManager</c> that fetches the route
    /// configuration <paramref name="routeConfigName"/> by RDS over ADS, with the router as its only HTTP filter.
    /// </summary>
    /// <param name="name">The listener name; a gRPC client subscribes to the dial target, e.g. <c>catalog</c> for <c>xds:///catalog</c>.</param>
    /// <param name="routeConfigName">The RouteConfiguration to fetch.</param>
    /// <returns>The packed <c>envoy.config.listener.v3.Listener</c>.</returns>
    public static Any Listener(string name, string routeConfigName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(routeConfigName);
        return PackListener(name, new HttpConnectionManager
        {
            StatPrefix = name,
            Rds = new Rds { ConfigSource = Ads(), RouteConfigName = routeConfigName },
            HttpFilters = { Router() },
        });
    }

    /// <summary>
    /// A client-side Listener whose <c>HttpConnectionManager</c> carries its route configuration inline: one virtual
    /// host for every domain (<c>*</c>) sending every request to <paramref name="cluster"/>.
    /// </summary>
    /// <param name="name">The listener name.</param>
    /// <param name="cluster">The cluster every request goes to.</param>
    /// <returns>The packed <c>envoy.config.listener.v3.Listener</c>.</returns>
    public static Any ListenerWithInlineRoutes(string name, string cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        return PackListener(name, new HttpConnectionManager
        {
            StatPrefix = name,
            RouteConfig = BuildRouteConfiguration(name, "*", new RouteAction { Cluster = cluster }),
            HttpFilters = { Router() },
        });
    }

    /// <summary>
    /// A RouteConfiguration with one virtual host for <paramref name="domain"/> whose single route (prefix
    /// <c>/</c>) sends every request to <paramref name="cluster"/>.
    /// </summary>
    /// <param name="name">The route configuration name a Listener refers to.</param>
    /// <param name="domain">The virtual host's domain: the dial target (<c>catalog</c>), a pattern (<c>*.svc</c>) or <c>*</c>.</param>
    /// <param name="cluster">The cluster every request goes to.</param>
    /// <returns>The packed <c>envoy.config.route.v3.RouteConfiguration</c>.</returns>
    public static Any RouteConfiguration(string name, string domain, string cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        return Any.Pack(BuildRouteConfiguration(name, domain, new RouteAction { Cluster = cluster }));
    }

    /// <summary>
    /// A RouteConfiguration with one virtual host for <paramref name="domain"/> whose single route (prefix
    /// <c>/</c>) splits requests across <paramref name="clusters"/> in proportion to their weights
    /// (<c>weighted_clusters</c>, with the deprecated <c>total_weight</c> set to the sum for older clients).
    /// </summary>
    /// <param name="name">The route configuration name a Listener refers to.</param>
    /// <param name="domain">The virtual host's domain.</param>
    /// <param name="clusters">The clusters and their weights; at least one, with a weight sum above 0.</param>
    /// <returns>The packed <c>envoy.config.route.v3.RouteConfiguration</c>.</returns>
    public static Any RouteConfiguration(string name, string domain, params (string Cluster, uint Weight)[] clusters)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        ArgumentNullException.ThrowIfNull(clusters);
        if (clusters.Length == 0)
        {
            throw new ArgumentException($"Route configuration '{name}': weighted clusters need at least one cluster.", nameof(clusters));
        }

        var weighted = new WeightedCluster();
        ulong total = 0;
        foreach (var (cluster, weight) in clusters)
        {
            if (string.IsNullOrEmpty(cluster))
            {
                throw new ArgumentException($"Route configuration '{name}': a weighted cluster has no name.", nameof(clusters));
            }

            weighted.Clusters.Add(new WeightedCluster.Types.ClusterWeight { Name = cluster, Weight = weight });
            total += weight;
        }

        if (total is 0 or > uint.MaxValue)
        {
            throw new ArgumentException(
                $"Route configuration '{name}': the cluster weights add up to {total.ToString(CultureInfo.InvariantCulture)}; the sum must be between 1 and {uint.MaxValue.ToString(CultureInfo.InvariantCulture)}.",
                nameof(clusters));
        }

        // total_weight is deprecated (clients now use the sum), but older clients still hold the sum to it, with
        // 100 as the default: gRPC C-core 1.51 NACKs weights of 3 and 1 without it. The sum satisfies both.
        weighted.TotalWeight = (uint)total;
        return Any.Pack(BuildRouteConfiguration(name, domain, new RouteAction { WeightedClusters = weighted }));
    }

    /// <summary>
    /// A RouteConfiguration with one virtual host for <paramref name="domain"/> and the given routes, in
    /// match order: path prefixes, exact header matches, single clusters or weighted splits, header hashing, retries.
    /// </summary>
    /// <param name="name">The route configuration name a Listener refers to.</param>
    /// <param name="domain">The virtual host's domain.</param>
    /// <param name="routes">The routes; the first that matches a request wins.</param>
    /// <returns>The packed <c>envoy.config.route.v3.RouteConfiguration</c>.</returns>
    public static Any RouteConfiguration(string name, string domain, params XdsRoute[] routes)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        ArgumentNullException.ThrowIfNull(routes);
        var virtualHost = new VirtualHost { Name = domain == "*" ? "all" : domain, Domains = { domain } };
        foreach (var route in routes)
        {
            var match = new RouteMatch { Prefix = route.PathPrefix };
            foreach (var (header, value) in route.Headers)
            {
                match.Headers.Add(new HeaderMatcher { Name = header, StringMatch = new Envoy.Type.Matcher.V3.StringMatcher { Exact = value } });
            }

            RouteAction action;
            if (route.Cluster is { Length: > 0 } cluster)
            {
                action = new RouteAction { Cluster = cluster };
            }
            else if (route.WeightedClusters.Count > 0)
            {
                var weighted = new WeightedCluster();
                ulong total = 0;
                foreach (var (target, weight) in route.WeightedClusters)
                {
                    weighted.Clusters.Add(new WeightedCluster.Types.ClusterWeight { Name = target, Weight = weight });
                    total += weight;
                }

                weighted.TotalWeight = (uint)Math.Min(total, uint.MaxValue);
                action = new RouteAction { WeightedClusters = weighted };
            }
            else
            {
                throw new ArgumentException($"Route configuration '{name}': a route needs Cluster or WeightedClusters.", nameof(routes));
            }

            if (route.HashHeader is { Length: > 0 } hashHeader)
            {
                action.HashPolicy.Add(new RouteAction.Types.HashPolicy { Header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = hashHeader } });
            }

            if (route.Retry is { } retry)
            {
                action.RetryPolicy = retry.ToEnvoy(name);
            }

            virtualHost.Routes.Add(new Route { Name = route.Name ?? string.Empty, Match = match, Route_ = action });
        }

        return Any.Pack(new RouteConfiguration { Name = name, VirtualHosts = { virtualHost } });
    }

    private static Any PackListener(string name, HttpConnectionManager manager) =>
        Any.Pack(new Listener
        {
            Name = name,
            ApiListener = new ApiListener { ApiListener_ = Any.Pack(manager) },
        });

    private static RouteConfiguration BuildRouteConfiguration(string name, string domain, RouteAction action) => new()
    {
        Name = name,
        VirtualHosts =
        {
            new VirtualHost
            {
                Name = domain == "*" ? "all" : domain,
                Domains = { domain },
                Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = action } },
            },
        },
    };

    private static ConfigSource Ads() => new()
    {
        Ads = new AggregatedConfigSource(),
        ResourceApiVersion = ApiVersion.V3,
    };

    private static HttpFilter Router() => new()
    {
        Name = RouterFilterName,
        TypedConfig = Any.Pack(new Router()),
    };
}
