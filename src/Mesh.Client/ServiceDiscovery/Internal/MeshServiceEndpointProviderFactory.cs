using System.Diagnostics.CodeAnalysis;
using System.Net;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.ServiceDiscovery;

namespace Mesh.Client.ServiceDiscovery.Internal;

/// <summary>
/// Lets <c>Microsoft.Extensions.ServiceDiscovery</c> (and so <c>ServiceEndpointResolver</c>, YARP and
/// Aspire clients) see mesh services: a query for a mesh service name yields the endpoints that would
/// take its traffic now. Names that are not mesh services are left to the other providers.
/// </summary>
internal sealed class MeshServiceEndpointProviderFactory(MeshRuntime runtime) : IServiceEndpointProviderFactory
{
    public bool TryCreateProvider(ServiceEndpointQuery query, [NotNullWhen(true)] out IServiceEndpointProvider? provider)
    {
        if (runtime.Current.Services.ContainsKey(query.ServiceName))
        {
            provider = new MeshServiceEndpointProvider(query.ServiceName, runtime);
            return true;
        }

        provider = null;
        return false;
    }
}

internal sealed class MeshServiceEndpointProvider(string serviceName, MeshRuntime runtime) : IServiceEndpointProvider
{
    public ValueTask PopulateAsync(IServiceEndpointBuilder endpoints, CancellationToken cancellationToken)
    {
        // Take the change token before reading the table, so that a publication in between is not missed.
        endpoints.AddChangeToken(runtime.GetChangeToken());
        var table = runtime.Current;
        if (!table.Services.TryGetValue(serviceName, out var service))
        {
            return ValueTask.CompletedTask;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cluster in service.Routes.SelectMany(r => r.Clusters).Distinct())
        {
            // Ejections change a cluster's usable endpoints without publishing a table.
            endpoints.AddChangeToken(cluster.State.GetChangeToken());

            // A caller of ServiceDiscovery connects to the addresses itself, without the cluster's TLS:
            // endpoints of a TLS cluster are not handed out, so that nobody reaches them in plaintext.
            if (cluster.ActivePriority < 0 || cluster.Tls is not null)
            {
                continue;
            }

            foreach (var locality in cluster.Priorities[cluster.ActivePriority])
            {
                foreach (var state in locality.Endpoints)
                {
                    if (state.Endpoint.IsUsable && seen.Add(state.Address))
                    {
                        EndPoint endPoint = IPAddress.TryParse(state.Endpoint.Host, out var ip)
                            ? new IPEndPoint(ip, state.Endpoint.Port)
                            : new DnsEndPoint(state.Endpoint.Host, state.Endpoint.Port);
                        endpoints.Endpoints.Add(ServiceEndpoint.Create(endPoint));
                    }
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => $"Mesh({serviceName})";
}
