using System.Diagnostics.Metrics;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>Load-balancing instruments: picks per endpoint and locality, retries, ejections, circuit-breaker overflows.</summary>
internal sealed partial class MeshMetrics
{
    private Func<IEnumerable<ClusterRuntime>>? _clusters;

    /// <summary>Attempts after the first, by service and front door.</summary>
    public Counter<long> Retries { get; private set; } = null!;

    partial void CreateBalancingInstruments()
    {
        // Read from the count every endpoint keeps anyway (for least_request and the status page): no
        // measurement on the request path.
        Meter.CreateObservableCounter("mesh.lb.picks", PerEndpoint, "{pick}", "Attempts the mesh sent to each endpoint, with its cluster and locality (grpc.lb.locality).");
        Retries = Meter.CreateCounter<long>("mesh.retries", "{retry}", "Attempts after a call's first (retries; hedged copies for HttpClient).");
        Meter.CreateObservableCounter("mesh.lb.ejections", () => PerCluster(static c => c.State.Ejections), "{ejection}", "Endpoints ejected by outlier detection.");
        Meter.CreateObservableCounter("mesh.circuit_breaker.overflows", () => PerCluster(static c => c.State.Overflows), "{request}", "Requests refused because their cluster had max_requests in flight.");
        Meter.CreateObservableGauge("mesh.cluster.requests_in_flight", () => PerCluster(static c => (long)c.State.Active), "{request}", "Requests in flight to each cluster (what max_requests limits).");
    }

    /// <summary>Lets the observable instruments read the clusters in force.</summary>
    public void Observe(Func<IEnumerable<ClusterRuntime>> clusters) => _clusters = clusters;

    /// <summary>Attempts started on each endpoint of the clusters in force since it joined its cluster.</summary>
    private IEnumerable<Measurement<long>> PerEndpoint()
    {
        if (_clusters is null)
        {
            yield break;
        }

        var seen = new HashSet<EndpointState>(ReferenceEqualityComparer.Instance);
        foreach (var cluster in _clusters())
        {
            foreach (var endpoint in cluster.AllEndpoints)
            {
                if (seen.Add(endpoint))
                {
                    yield return new Measurement<long>(endpoint.Started,
                        new("mesh.cluster", endpoint.ClusterName), new("server.address", endpoint.Address), new("grpc.lb.locality", endpoint.LocalityLabel));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> PerCluster(Func<ClusterRuntime, long> value)
    {
        if (_clusters is null)
        {
            yield break;
        }

        var seen = new HashSet<ClusterState>();
        foreach (var cluster in _clusters())
        {
            if (seen.Add(cluster.State))
            {
                yield return new Measurement<long>(value(cluster), new KeyValuePair<string, object?>("mesh.cluster", cluster.Name));
            }
        }
    }
}
