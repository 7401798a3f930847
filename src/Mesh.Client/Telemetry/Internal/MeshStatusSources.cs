using Mesh.Client.Configuration;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// Says which source configured each service and cluster of a table. A table of one source says so
/// itself; a merged table (appsettings beside xDS) does not, and appsettings wins every name it
/// configures, so the names appsettings configures are taken from the last valid <see cref="MeshOptions"/>
/// and every other name belongs to the other source.
/// </summary>
internal sealed class MeshStatusSources(IOptionsMonitor<MeshOptions>? options)
{
    private static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

    private readonly Lock _lock = new();
    private MeshOptions? _lastOptions;
    private Names _lastNames = Names.Empty;

    /// <summary>The source of every name in <paramref name="table"/>.</summary>
    public Resolver For(MeshTable table)
    {
        var parts = table.Snapshot.Source.Split('+', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length <= 1)
        {
            return new Resolver(table.Snapshot.Source, table.Snapshot.Source, Names.Empty);
        }

        var others = string.Join("+", parts.Where(p => p != MeshTableStore.ConfigurationSource));
        return new Resolver(MeshTableStore.ConfigurationSource, others, ConfiguredNames());
    }

    private Names ConfiguredNames()
    {
        MeshOptions current;
        try
        {
            current = options?.CurrentValue ?? new MeshOptions();
        }
        catch (OptionsValidationException)
        {
            // An invalid reload was not applied: the names of the last valid options are still in force.
            lock (_lock)
            {
                return _lastNames;
            }
        }

        lock (_lock)
        {
            if (!ReferenceEquals(current, _lastOptions))
            {
                var services = new HashSet<string>(NameComparer);
                var clusters = new HashSet<string>(NameComparer);
                foreach (var (name, service) in current.Services)
                {
                    if (service.Hosts.Count == 0)
                    {
                        services.Add(name);
                    }

                    foreach (var host in service.Hosts)
                    {
                        services.Add(host?.Trim() ?? string.Empty);
                    }

                    // A service with endpoints of its own is also a cluster of that name.
                    if (service.Endpoints.Count > 0)
                    {
                        clusters.Add(name);
                    }
                }

                _lastOptions = current;
                _lastNames = new Names(services, clusters);
            }

            return _lastNames;
        }
    }

    /// <summary>Names the configuration source configures.</summary>
    internal sealed record Names(IReadOnlySet<string> Services, IReadOnlySet<string> Clusters)
    {
        public static Names Empty { get; } = new(new HashSet<string>(), new HashSet<string>());
    }

    /// <summary>Answers for one table.</summary>
    internal sealed class Resolver(string configured, string other, Names names)
    {
        public string OfService(string name) => names.Services.Contains(name) ? configured : other;

        public string OfCluster(string name) => names.Clusters.Contains(name) ? configured : other;
    }
}
