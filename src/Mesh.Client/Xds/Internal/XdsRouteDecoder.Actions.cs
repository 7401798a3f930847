using Envoy.Config.Route.V3;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshHashPolicy = Mesh.Client.Model.HashPolicy;
using MeshRetryPolicy = Mesh.Client.Model.RetryPolicy;
using MeshWeightedCluster = Mesh.Client.Model.WeightedCluster;

namespace Mesh.Client.Xds.Internal;

// The route action: one cluster, weighted clusters or cluster_header, timeouts, hash policies.
internal static partial class XdsRouteDecoder
{
    /// <summary>What a route's action says, in the model's terms.</summary>
    private sealed record RouteActionResult
    {
        public IReadOnlyList<MeshWeightedCluster> Clusters { get; init; } = [];

        public IReadOnlyList<MeshHashPolicy> HashPolicies { get; init; } = [];

        public string? ErrorMessage { get; init; }

        public string? ClusterHeader { get; init; }

        public TimeSpan? Timeout { get; init; }

        public TimeSpan? MaxStreamDuration { get; init; }

        public TimeSpan? GrpcTimeoutHeaderMax { get; init; }

        public bool SetsMaxStreamDuration { get; init; }

        public bool HasRetryPolicy { get; init; }

        public MeshRetryPolicy? Retry { get; init; }

        /// <summary>Per weighted cluster (aligned with <see cref="Clusters"/>), its fault-filter overrides.</summary>
        public IReadOnlyList<IReadOnlyDictionary<string, FaultPolicy>> ClusterFaultOverrides { get; init; } = [];
    }

    /// <returns>Where the route sends requests, or <see langword="null"/> when the route is to be left out or is invalid.</returns>
    private static RouteActionResult? DecodeAction(Route route, string path, string? name, List<string> errors)
    {
        switch (route.ActionCase)
        {
            case Route.ActionOneofCase.Route_:
                break;
            case Route.ActionOneofCase.Redirect:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "redirect") };
            case Route.ActionOneofCase.DirectResponse:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "direct_response") };
            case Route.ActionOneofCase.FilterAction:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "filter_action") };
            case Route.ActionOneofCase.NonForwardingAction:
                return new RouteActionResult { ErrorMessage = UnsupportedAction(name, path, "non_forwarding_action") };
            default:
                AddError(errors, path, "no action set (expected route, redirect, direct_response, filter_action or non_forwarding_action)");
                return null;
        }

        var action = route.Route_;
        var actionPath = Field(path, "route");
        var hashPolicies = DecodeHashPolicies(action, actionPath, errors);

        // HttpClient: Envoy's whole-request timeout, retries included (gRFC A31 leaves it to proxies). Unset means
        // none here, where Envoy defaults to 15 s: a client library has its callers' own timeouts (HttpClient.Timeout).
        var timeout = action.Timeout is { } timeoutConfig ? NonZero(ParseDuration(timeoutConfig, Field(actionPath, "timeout"), errors)) : null;

        // gRFC A31: grpc_timeout_header_max, when present, replaces max_stream_duration; 0 means no limit. A route
        // that sets neither takes the connection manager's max_stream_duration (XdsTargetWatcher applies it).
        TimeSpan? maxStreamDuration = null, grpcTimeoutHeaderMax = null;
        var setsMaxStreamDuration = false;
        if (action.MaxStreamDuration is { } durations)
        {
            var durationsPath = Field(actionPath, "max_stream_duration");
            var max = durations.MaxStreamDuration_ is { } maxConfig ? ParseDuration(maxConfig, Field(durationsPath, "max_stream_duration"), errors) : null;
            if (durations.GrpcTimeoutHeaderMax is { } headerMaxConfig)
            {
                grpcTimeoutHeaderMax = NonZero(ParseDuration(headerMaxConfig, Field(durationsPath, "grpc_timeout_header_max"), errors));
                setsMaxStreamDuration = true;
            }
            else if (durations.MaxStreamDuration_ is not null)
            {
                maxStreamDuration = NonZero(max);
                setsMaxStreamDuration = true;
            }
        }

        var hasRetryPolicy = action.RetryPolicy is not null;
        var retry = action.RetryPolicy is { } retryPolicy ? DecodeRetryPolicy(retryPolicy, Field(actionPath, "retry_policy"), errors) : null;
        var result = new RouteActionResult
        {
            HashPolicies = hashPolicies,
            Timeout = timeout,
            MaxStreamDuration = maxStreamDuration,
            GrpcTimeoutHeaderMax = grpcTimeoutHeaderMax,
            SetsMaxStreamDuration = setsMaxStreamDuration,
            HasRetryPolicy = hasRetryPolicy,
            Retry = retry,
        };

        switch (action.ClusterSpecifierCase)
        {
            case RouteAction.ClusterSpecifierOneofCase.Cluster:
                if (action.Cluster.Length == 0)
                {
                    AddError(errors, Field(actionPath, "cluster"), "must be non-empty");
                }

                return result with { Clusters = [new MeshWeightedCluster(action.Cluster, 1)] };
            case RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                var (clusters, clusterOverrides) = DecodeWeightedClusters(action.WeightedClusters, Field(actionPath, "weighted_clusters"), errors);
                return result with { Clusters = clusters, ClusterFaultOverrides = clusterOverrides };
            case RouteAction.ClusterSpecifierOneofCase.ClusterHeader:
                // Envoy: the request header names the cluster. gRPC leaves such routes out (gRFC A28).
                if (!IsValidHeaderName(action.ClusterHeader, Field(actionPath, "cluster_header"), errors))
                {
                    return null;
                }

                return result with { ClusterHeader = action.ClusterHeader };
            case RouteAction.ClusterSpecifierOneofCase.ClusterSpecifierPlugin:
                // The plugin would be defined in RouteConfiguration.cluster_specifier_plugins, which this
                // client does not implement (gRPC's only plugin is RLS).
                AddError(errors, Field(actionPath, "cluster_specifier_plugin"), $"cluster specifier plugins are not supported (found \"{action.ClusterSpecifierPlugin}\")");
                return null;
            default:
                // Unset, or a specifier newer than our protos: gRPC ignores the route (gRFC A28).
                return null;
        }
    }

    private static string UnsupportedAction(string? routeName, string path, string kind) =>
        $"route '{routeName ?? path}' has a {kind} action, which a client cannot carry out";

    /// <returns>The clusters with weight above 0, and the fault-filter overrides of each of them.</returns>
    private static (List<MeshWeightedCluster> Clusters, List<IReadOnlyDictionary<string, FaultPolicy>> FaultOverrides) DecodeWeightedClusters(
        Envoy.Config.Route.V3.WeightedCluster weightedClusters,
        string path,
        List<string> errors)
    {
        var errorCount = errors.Count;
        var clusters = new List<MeshWeightedCluster>(weightedClusters.Clusters.Count);
        var overrides = new List<IReadOnlyDictionary<string, FaultPolicy>>(weightedClusters.Clusters.Count);
        ulong total = 0;
        for (var i = 0; i < weightedClusters.Clusters.Count; i++)
        {
            var cluster = weightedClusters.Clusters[i];
            var clusterPath = Field(path, $"clusters[{i}]");
            if (cluster.Name.Length == 0)
            {
                AddError(errors, Field(clusterPath, "name"), "must be non-empty");
            }

            var clusterOverrides = DecodeFilterOverrides(cluster.TypedPerFilterConfig, clusterPath, errors);
            if (cluster.Weight is not { } weight)
            {
                AddError(errors, Field(clusterPath, "weight"), "field not present");
                continue;
            }

            // A cluster with weight 0 takes no traffic; gRPC drops it from the list.
            if (weight == 0)
            {
                continue;
            }

            total += weight;
            clusters.Add(new MeshWeightedCluster(cluster.Name, weight));
            overrides.Add(clusterOverrides);
        }

        // total_weight is deprecated; like gRPC, only the sum of the weights counts.
        if (errors.Count == errorCount)
        {
            if (clusters.Count == 0)
            {
                AddError(errors, path, "the sum of the weights must be above 0");
            }
            else if (total > uint.MaxValue)
            {
                AddError(errors, path, FormattableString.Invariant($"the sum of the weights ({total}) must not exceed {uint.MaxValue}"));
            }
        }

        return (clusters, overrides);
    }

    private static List<MeshHashPolicy> DecodeHashPolicies(RouteAction action, string path, List<string> errors)
    {
        var policies = new List<MeshHashPolicy>();
        for (var i = 0; i < action.HashPolicy.Count; i++)
        {
            var policy = action.HashPolicy[i];
            var policyPath = Field(path, $"hash_policy[{i}]");
            switch (policy.PolicySpecifierCase)
            {
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Header:
                    var header = policy.Header;
                    var headerPath = Field(policyPath, "header");
                    if (header.HeaderName.Length == 0)
                    {
                        AddError(errors, Field(headerPath, "header_name"), "must be non-empty");
                        continue;
                    }

                    // The pattern is validated as gRPC does; applying the rewrite is not implemented yet, so
                    // the header's value is hashed as it is.
                    if (header.RegexRewrite is { } rewrite)
                    {
                        var patternPath = Field(headerPath, "regex_rewrite.pattern");
                        if (rewrite.Pattern is null)
                        {
                            AddError(errors, patternPath, "field not present");
                            continue;
                        }

                        if (rewrite.Pattern.Regex.Length == 0)
                        {
                            AddError(errors, Field(patternPath, "regex"), "must be non-empty");
                            continue;
                        }

                        if (!ValidateRegex(rewrite.Pattern.Regex, Field(patternPath, "regex"), errors))
                        {
                            continue;
                        }
                    }

                    policies.Add(new MeshHashPolicy(HashPolicyKind.Header, header.HeaderName, policy.Terminal));
                    break;
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.FilterState when policy.FilterState.Key == ChannelIdFilterStateKey:
                    policies.Add(new MeshHashPolicy(HashPolicyKind.ChannelId, string.Empty, policy.Terminal));
                    break;
                case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Cookie:
                    // HttpClient requests hash the cookie's value (Envoy); gRPC calls get no hash from it, as in
                    // gRPC (gRFC A42). ttl and path tell a proxy to set the cookie when it is missing, which a
                    // client has no response to do with; they are not read.
                    if (policy.Cookie.Name.Length == 0)
                    {
                        AddError(errors, Field(policyPath, "cookie.name"), "must be non-empty");
                        continue;
                    }

                    policies.Add(new MeshHashPolicy(HashPolicyKind.Cookie, policy.Cookie.Name, policy.Terminal));
                    break;
                default:
                    // connection_properties, query_parameter and other filter-state keys yield no hash in gRPC
                    // (gRFC A42), so they are left out rather than rejected.
                    break;
            }
        }

        return policies;
    }
}
