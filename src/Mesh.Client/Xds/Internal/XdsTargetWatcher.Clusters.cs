using Mesh.Client.Model;
using Mesh.Client.Model.Internal;

namespace Mesh.Client.Xds.Internal;

// Clusters: what the routes reach, subscribed through aggregate clusters, and built into model clusters
// once their endpoints are known.
internal sealed partial class XdsTargetWatcher
{
    /// <summary>Subscribes to <paramref name="name"/> and what it needs; returns whether all of it is known.</summary>
    private bool Walk(string name, int depth, HashSet<string> path, HashSet<string> wantedClusters, HashSet<string> wantedEndpoints)
    {
        wantedClusters.Add(name);
        var watch = Ensure(_clusters, XdsTypeUrls.Cluster, name);
        if (watch.Data is not XdsClusterUpdate cluster)
        {
            return watch.Missing || watch.Error is not null;
        }

        switch (cluster.Kind)
        {
            case XdsClusterKind.Eds:
                var serviceName = cluster.EdsServiceName ?? cluster.Name;
                wantedEndpoints.Add(serviceName);
                var endpoints = Ensure(_endpoints, XdsTypeUrls.ClusterLoadAssignment, serviceName);
                return endpoints.Data is not null || endpoints.Missing || endpoints.Error is not null;
            case XdsClusterKind.Aggregate:
                if (depth >= MaxAggregateDepth || !path.Add(name))
                {
                    // A cycle or an absurd depth: the cluster fails; nothing more to wait for.
                    return true;
                }

                var complete = true;
                foreach (var child in cluster.AggregateChildren)
                {
                    complete &= Walk(child, depth + 1, path, wantedClusters, wantedEndpoints);
                }

                path.Remove(name);
                return complete;
            default:
                return true;
        }
    }

    private MeshCluster BuildCluster(string name)
    {
        var watch = _clusters[name];
        var cluster = watch.Data as XdsClusterUpdate;

        // Reuse the model object when nothing it is built from has changed, so that the runtime keeps
        // the cluster's pickers without comparing every endpoint.
        var inputs = Inputs(name, 0, []);
        if (_built.TryGetValue(name, out var built) && ReferenceEquals(built.Cluster, cluster) && Equals(built.Inputs, inputs))
        {
            return built.Model;
        }

        MeshCluster model;
        if (cluster is null)
        {
            model = Failed(name, watch.Missing ? $"xDS server {Server}: cluster '{name}' does not exist" : watch.Error!);
        }
        else
        {
            var priorities = new List<MeshPriority>();
            var errors = new List<string>();
            var leaf = Leaves(name, 0, [], priorities, errors);
            model = priorities.Count == 0 && errors.Count > 0
                ? Failed(name, string.Join("; ", errors))
                : new MeshCluster
                {
                    Name = name,
                    LoadBalancing = leaf?.LoadBalancing ?? cluster.LoadBalancing,
                    Protocol = leaf?.Protocol ?? cluster.Protocol,

                    // Like the policy, the circuit breaker and outlier detection of an aggregate cluster are its
                    // first leaf's (gRPC applies each leaf's to that leaf's priorities; the model has one per cluster).
                    MaxRequests = leaf?.MaxRequests ?? cluster.MaxRequests,
                    OutlierDetection = leaf is null ? cluster.OutlierDetection : leaf.OutlierDetection,

                    // TLS belongs to the endpoints, hence to the leaves: an aggregate cluster's own transport_socket
                    // is not used. The model has one TLS setting per cluster, so an aggregate takes its first leaf's,
                    // and Leaves leaves out the endpoints of leaves whose TLS differs (see there).
                    Tls = leaf is null ? cluster.Tls : leaf.Tls,
                    Priorities = priorities,
                };
        }

        _built[name] = (cluster, inputs, model);
        return model;
    }

    /// <summary>
    /// Collects the priorities of a cluster; an aggregate cluster lists its children's priorities in
    /// order (gRFC A37), leaving out leaves whose TLS differs from the first leaf's. Returns the first leaf:
    /// its load-balancing policy, HTTP version and TLS serve the whole aggregate, since the leaves hold the
    /// endpoints.
    /// </summary>
    private XdsClusterUpdate? Leaves(string name, int depth, HashSet<string> path, List<MeshPriority> priorities, List<string> errors)
    {
        if (!_clusters.TryGetValue(name, out var watch) || watch.Data is not XdsClusterUpdate cluster)
        {
            errors.Add(watch is { Missing: false, Error: { } error } ? error : $"xDS server {Server}: cluster '{name}' does not exist");
            return null;
        }

        switch (cluster.Kind)
        {
            case XdsClusterKind.Eds:
                var endpoints = _endpoints.GetValueOrDefault(cluster.EdsServiceName ?? cluster.Name);
                if (endpoints?.Data is XdsEndpointUpdate update)
                {
                    priorities.AddRange(update.Priorities);
                }
                else if (endpoints?.Error is { } endpointError)
                {
                    errors.Add(endpointError);
                }

                // Endpoints that do not exist are no endpoints (the cluster then has none to pick).
                return cluster;
            case XdsClusterKind.LogicalDns:
                priorities.Add(new MeshPriority([new MeshLocality
                {
                    Name = LocalityName.Default,
                    Endpoints = [new MeshEndpoint { Host = cluster.DnsHost!, Port = cluster.DnsPort }],
                }]));
                return cluster;
            default:
                if (depth >= MaxAggregateDepth || !path.Add(name))
                {
                    errors.Add($"aggregate cluster '{name}' is part of a cycle or nested more than {MaxAggregateDepth} deep");
                    return null;
                }

                XdsClusterUpdate? first = null;
                foreach (var child in cluster.AggregateChildren)
                {
                    var childPriorities = new List<MeshPriority>();
                    var childLeaf = Leaves(child, depth + 1, path, childPriorities, errors);
                    first ??= childLeaf;
                    if (childLeaf is not null && !ModelEquality.TlsEquals(first!.Tls, childLeaf.Tls))
                    {
                        // gRPC gives each leaf's endpoints that leaf's TLS (gRFC A37); the model holds one TLS setting
                        // for the whole aggregate (the first leaf's). Reaching this leaf's endpoints with another
                        // leaf's settings could send plaintext where TLS was asked for, or trust the wrong roots, so
                        // its endpoints are left out: failover to it is lost, security is not.
                        errors.Add($"cluster '{child}' is left out of aggregate cluster '{name}': its TLS settings differ from those of its first cluster '{first.Name}'");
                        continue;
                    }

                    priorities.AddRange(childPriorities);
                }

                path.Remove(name);
                return first;
        }
    }

    /// <summary>The identities of every resource a cluster is built from, for change detection.</summary>
    private InputList Inputs(string name, int depth, HashSet<string> path)
    {
        var list = new InputList();
        Collect(name, depth, path);
        return list;

        void Collect(string clusterName, int level, HashSet<string> seen)
        {
            var watch = _clusters.GetValueOrDefault(clusterName);
            list.Add(watch?.Data);
            list.Add(watch?.Error);
            if (watch?.Data is not XdsClusterUpdate cluster)
            {
                return;
            }

            if (cluster.Kind == XdsClusterKind.Eds)
            {
                var endpoints = _endpoints.GetValueOrDefault(cluster.EdsServiceName ?? cluster.Name);
                list.Add(endpoints?.Data);
                list.Add(endpoints?.Error);
            }
            else if (cluster.Kind == XdsClusterKind.Aggregate && level < MaxAggregateDepth && seen.Add(clusterName))
            {
                foreach (var child in cluster.AggregateChildren)
                {
                    Collect(child, level + 1, seen);
                }
            }
        }
    }

    private static MeshCluster Failed(string name, string message) =>
        new() { Name = name, LoadBalancing = RoundRobinPolicy.Instance, Priorities = [], ErrorMessage = message };

    /// <summary>A list compared by the identity of its items.</summary>
    private sealed class InputList : List<object?>
    {
        public override bool Equals(object? obj) =>
            obj is InputList other && other.Count == Count && this.Zip(other).All(p => ReferenceEquals(p.First, p.Second) || Equals(p.First, p.Second));

        public override int GetHashCode() => Count;
    }
}
