using System.Globalization;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.LoadBalancingPolicies.PickFirst.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using LoadBalancingPolicyNames = Mesh.Client.Model.LoadBalancingPolicyNames;

namespace Mesh.Client.Testing;

/// <summary>
/// Builds the xDS v3 resources a gRPC client needs (Listener, RouteConfiguration, Cluster,
/// ClusterLoadAssignment), packed as <see cref="Any"/> for <see cref="XdsTestServer.SetResource(Any)"/>, so
/// that tests need not know the Envoy message types. Every reference to another resource (route configuration,
/// EDS service) is fetched over the same ADS stream.
/// </summary>
public static class XdsResources
{
    /// <summary>The name of the terminal router HTTP filter.</summary>
    public const string RouterFilterName = "envoy.filters.http.router";

    /// <summary>The certificate provider instance Istio's TLS configuration names (<see cref="IstioUpstreamTls"/>).</summary>
    public const string IstioCertificateProvider = "default";

    private const string TlsTransportSocketName = "envoy.transport_sockets.tls";

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

    /// <summary>
    /// An EDS Cluster whose endpoints are fetched over ADS, balanced by <paramref name="lbPolicy"/>.
    /// </summary>
    /// <param name="name">The cluster name routes refer to.</param>
    /// <param name="edsServiceName">
    /// The ClusterLoadAssignment to fetch (<c>eds_cluster_config.service_name</c>); the cluster name when
    /// <see langword="null"/>.
    /// </param>
    /// <param name="lbPolicy">
    /// A <see cref="LoadBalancingPolicyNames"/> value. <c>round_robin</c>, <c>least_request</c>, <c>ring_hash</c>,
    /// <c>maglev</c> and <c>random</c> are sent in the <c>lb_policy</c> enum (with an empty
    /// <c>ring_hash_lb_config</c> or <c>maglev_lb_config</c>, i.e. xxHash and default sizes); <c>pick_first</c>,
    /// which the enum lacks, is sent in <c>load_balancing_policy</c> as <c>envoy.load_balancing_policies.pick_first</c>.
    /// </param>
    /// <param name="http2">
    /// Say in <c>typed_extension_protocol_options</c> that the cluster speaks HTTP/2, as Istio does for gRPC
    /// ports; the HttpClient front door then uses cleartext HTTP/2 towards it.
    /// </param>
    /// <param name="upstreamTls">
    /// The cluster's TLS: the <c>transport_socket</c>'s typed config (<c>envoy.transport_sockets.tls</c>), e.g. from
    /// <see cref="UpstreamTls"/> or <see cref="IstioUpstreamTls"/>; <see langword="null"/> for plaintext.
    /// </param>
    /// <returns>The packed <c>envoy.config.cluster.v3.Cluster</c>.</returns>
    public static Any Cluster(string name, string? edsServiceName = null, string lbPolicy = LoadBalancingPolicyNames.RoundRobin, bool http2 = false, Any? upstreamTls = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var cluster = new Cluster
        {
            Name = name,
            Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Envoy.Config.Cluster.V3.Cluster.Types.EdsClusterConfig
            {
                EdsConfig = Ads(),
                ServiceName = edsServiceName ?? string.Empty,
            },
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        };
        switch (lbPolicy)
        {
            case LoadBalancingPolicyNames.RoundRobin:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RoundRobin;
                break;
            case LoadBalancingPolicyNames.LeastRequest:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.LeastRequest;
                break;
            case LoadBalancingPolicyNames.Random:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.Random;
                break;
            case LoadBalancingPolicyNames.RingHash:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RingHash;
                cluster.RingHashLbConfig = new Envoy.Config.Cluster.V3.Cluster.Types.RingHashLbConfig
                {
                    HashFunction = Envoy.Config.Cluster.V3.Cluster.Types.RingHashLbConfig.Types.HashFunction.XxHash,
                };
                break;
            case LoadBalancingPolicyNames.Maglev:
                cluster.LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.Maglev;
                cluster.MaglevLbConfig = new Envoy.Config.Cluster.V3.Cluster.Types.MaglevLbConfig();
                break;
            case LoadBalancingPolicyNames.PickFirst:
                cluster.LoadBalancingPolicy = new LoadBalancingPolicy
                {
                    Policies =
                    {
                        new LoadBalancingPolicy.Types.Policy
                        {
                            TypedExtensionConfig = new TypedExtensionConfig
                            {
                                Name = "envoy.load_balancing_policies.pick_first",
                                TypedConfig = Any.Pack(new PickFirst()),
                            },
                        },
                    },
                };
                break;
            default:
                throw new ArgumentException(
                    $"Cluster '{name}': unknown load-balancing policy '{lbPolicy}'; expected one of {string.Join(", ", LoadBalancingPolicyNames.All)}.",
                    nameof(lbPolicy));
        }

        if (http2)
        {
            cluster.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] = Any.Pack(
                new Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions
                {
                    ExplicitHttpConfig = new Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Types.ExplicitHttpConfig
                    {
                        Http2ProtocolOptions = new Envoy.Config.Core.V3.Http2ProtocolOptions(),
                    },
                });
        }

        if (upstreamTls is not null)
        {
            cluster.TransportSocket = new TransportSocket { Name = TlsTransportSocketName, TypedConfig = upstreamTls };
        }

        return Any.Pack(cluster);
    }

    /// <summary>
    /// A TLS configuration for <see cref="Cluster"/> in the current form (gRFC A29): the client certificate from
    /// the bootstrap's certificate provider <paramref name="identityInstance"/>
    /// (<c>tls_certificate_provider_instance</c>), the roots from <paramref name="rootInstance"/>
    /// (<c>validation_context.ca_certificate_provider_instance</c>), and the server's acceptable names as exact
    /// <c>match_subject_alt_names</c>.
    /// </summary>
    /// <param name="identityInstance">The identity's provider instance; <see langword="null"/> for TLS without a client certificate.</param>
    /// <param name="rootInstance">The provider instance of the CA certificates that verify the server.</param>
    /// <param name="subjectAltNames">Names one of which the server certificate must carry (SPIFFE IDs, DNS names); none accepts any.</param>
    /// <returns>The packed <c>envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext</c>.</returns>
    public static Any UpstreamTls(string? identityInstance, string rootInstance, params string[] subjectAltNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootInstance);
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var validation = new CertificateValidationContext
        {
            CaCertificateProviderInstance = new CertificateProviderPluginInstance { InstanceName = rootInstance },
        };
        validation.MatchSubjectAltNames.Add(ExactMatchers(subjectAltNames));
        var common = new CommonTlsContext { ValidationContext = validation };
        if (identityInstance is not null)
        {
            common.TlsCertificateProviderInstance = new CertificateProviderPluginInstance { InstanceName = identityInstance };
        }

        return Any.Pack(new UpstreamTlsContext { CommonTlsContext = common });
    }

    /// <summary>
    /// The TLS configuration Istio sends proxyless gRPC clients for a mutual-TLS cluster: the client certificate
    /// from provider instance <c>default</c> (certificate <c>default</c>, in the deprecated
    /// <c>tls_certificate_certificate_provider_instance</c>), a <c>combined_validation_context</c> whose
    /// <c>default_validation_context</c> lists the server's SPIFFE IDs as exact <c>match_subject_alt_names</c>
    /// and whose deprecated <c>validation_context_certificate_provider_instance</c> names the roots (instance
    /// <c>default</c>, certificate <c>ROOTCA</c>). The bootstrap Istio's agent writes declares <c>default</c>.
    /// </summary>
    /// <param name="subjectAltNames">The server's identities, e.g. <c>spiffe://cluster.local/ns/default/sa/echo</c>.</param>
    /// <returns>The packed <c>envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext</c>.</returns>
    public static Any IstioUpstreamTls(params string[] subjectAltNames)
    {
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var defaults = new CertificateValidationContext();
        defaults.MatchSubjectAltNames.Add(ExactMatchers(subjectAltNames));
        return Any.Pack(new UpstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                TlsCertificateCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance
                {
                    InstanceName = IstioCertificateProvider,
                    CertificateName = "default",
                },
                CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = defaults,
                    ValidationContextCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance
                    {
                        InstanceName = IstioCertificateProvider,
                        CertificateName = "ROOTCA",
                    },
                },
            },
        });
    }

    private static IEnumerable<Envoy.Type.Matcher.V3.StringMatcher> ExactMatchers(string[] names)
    {
        foreach (var name in names)
        {
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(names));
            yield return new Envoy.Type.Matcher.V3.StringMatcher { Exact = name };
        }
    }

    /// <summary>
    /// A ClusterLoadAssignment with one locality (zone <c>default</c>, weight 1, priority 0) holding
    /// <paramref name="addresses"/>, each healthy and of weight 1.
    /// </summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <param name="addresses"><c>host:port</c> addresses, e.g. <c>127.0.0.1:5001</c>; none makes an empty assignment.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName, params string[] addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        return addresses.Length == 0
            ? ClusterLoadAssignment(clusterName)
            : ClusterLoadAssignment(clusterName, new XdsLocality("default", [.. addresses.Select(a => new XdsEndpoint(a))]));
    }

    /// <summary>A ClusterLoadAssignment with no endpoints: the cluster exists but has nowhere to send requests.</summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName) =>
        ClusterLoadAssignment(clusterName, Array.Empty<XdsLocality>());

    /// <summary>A ClusterLoadAssignment with the given localities, priorities, weights and health.</summary>
    /// <param name="clusterName">The EDS resource name: the cluster name, or the cluster's EDS service name.</param>
    /// <param name="localities">The localities, in order.</param>
    /// <returns>The packed <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</returns>
    public static Any ClusterLoadAssignment(string clusterName, params XdsLocality[] localities)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        ArgumentNullException.ThrowIfNull(localities);
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        foreach (var locality in localities)
        {
            ArgumentNullException.ThrowIfNull(locality, nameof(localities));
            var group = new LocalityLbEndpoints
            {
                Locality = new Locality { Region = locality.Region, Zone = locality.Zone, SubZone = locality.SubZone },
                LoadBalancingWeight = locality.Weight == 0 ? null : locality.Weight,
                Priority = locality.Priority,
            };
            foreach (var endpoint in locality.Endpoints)
            {
                ArgumentNullException.ThrowIfNull(endpoint, nameof(localities));
                var (host, port) = ParseAddress(endpoint.Address, clusterName, nameof(localities));
                group.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint
                    {
                        Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = port } },
                    },
                    HealthStatus = (HealthStatus)endpoint.Health,
                    LoadBalancingWeight = endpoint.Weight == 0 ? null : endpoint.Weight,
                });
            }

            assignment.Endpoints.Add(group);
        }

        return Any.Pack(assignment);
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

    /// <summary>Splits <c>host:port</c> or <c>[v6]:port</c>.</summary>
    private static (string Host, uint Port) ParseAddress(string address, string clusterName, string parameterName)
    {
        string host;
        string portText;
        if (address.StartsWith('['))
        {
            var close = address.IndexOf(']', StringComparison.Ordinal);
            host = close > 1 ? address[1..close] : string.Empty;
            portText = close > 0 && close + 1 < address.Length && address[close + 1] == ':' ? address[(close + 2)..] : string.Empty;
        }
        else
        {
            var colon = address.LastIndexOf(':');
            host = colon > 0 && address.IndexOf(':', StringComparison.Ordinal) == colon ? address[..colon] : string.Empty;
            portText = colon > 0 ? address[(colon + 1)..] : string.Empty;
        }

        if (host.Length == 0
            || !uint.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is 0 or > 65535)
        {
            throw new ArgumentException(
                $"Cluster load assignment '{clusterName}': endpoint address '{address}' is not host:port (IPv6 as [address]:port, port 1-65535).",
                parameterName);
        }

        return (host, port);
    }
}
