using System.Collections.Frozen;
using System.Globalization;
using Mesh.Client.Model;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Turns <see cref="MeshOptions"/> into a <see cref="MeshSnapshot"/>, or into the list of everything wrong
/// with them. Each service with endpoints becomes a cluster of the same name; its routes become the
/// service's route table.
/// </summary>
internal static partial class MeshOptionsCompiler
{
    public static MeshCompilation Compile(MeshOptions options, string version)
    {
        var errors = new List<MeshConfigurationError>(options.BindingErrors);
        var root = options.ConfigurationPath + ":Services";
        var clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase);
        var hashHeaders = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var certificateProviders = CompileCertificateProviders(options, errors);

        foreach (var (name, service) in options.Services)
        {
            var path = $"{root}:{name}";
            if (!IsValidServiceName(name))
            {
                errors.Add(new(path, name, "service name must be a host name, optionally with :port, without spaces or slashes"));
                continue;
            }

            if (service.Endpoints.Count == 0 && service.Routes.Count == 0)
            {
                errors.Add(new(path, null, "service has neither Endpoints nor Routes"));
                continue;
            }

            var policy = CompilePolicy(service.LoadBalancing, path + ":LoadBalancing", errors);
            hashHeaders[name] = service.LoadBalancing.HashHeader;
            if (service.Endpoints.Count > 0)
            {
                // Endpoints are checked even when the policy is invalid, so that one pass reports everything.
                var tls = service.Tls is null ? null : CompileTls(service.Tls, path + ":Tls", options, errors);
                var cluster = CompileCluster(name, service, policy ?? RoundRobinPolicy.Instance, path, errors);
                if (cluster is not null && policy is not null)
                {
                    clusters[name] = cluster with { Tls = tls };
                }
            }
            else if (service.Tls is not null)
            {
                // Requests this router sends elsewhere use the TLS settings of the services they go to.
                errors.Add(new(path + ":Tls", null, "Tls applies to the service's own Endpoints and it has none; set Tls on the services its routes go to"));
            }
        }

        var services = new Dictionary<string, MeshService>(StringComparer.OrdinalIgnoreCase);
        var hostOwners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, service) in options.Services)
        {
            if (!IsValidServiceName(name))
            {
                continue;
            }

            var path = $"{root}:{name}";
            var routes = new List<MeshRoute>();
            for (var r = 0; r < service.Routes.Count; r++)
            {
                var route = CompileRoute(service.Routes[r], $"{path}:Routes:{r}", options, clusters, hashHeaders, errors);
                if (route is not null)
                {
                    route = ApplyPolicies(route, service.Routes[r], service, $"{path}:Routes:{r}", path, errors);
                }

                if (route is not null)
                {
                    routes.Add(route);
                }
            }

            // A service with its own endpoints takes whatever its explicit routes do not.
            if (service.Endpoints.Count > 0 && (routes.Count == 0 || !IsCatchAll(routes[^1])))
            {
                routes.Add(ApplyPolicies(
                    new MeshRoute
                    {
                        Name = "default",
                        Match = RouteMatch.Any,
                        Clusters = [new WeightedCluster(name)],
                        HashPolicies = HashPoliciesFor([name], hashHeaders),
                    },
                    route: null,
                    service,
                    path,
                    path,
                    errors));
            }

            var compiled = new MeshService { Name = name, Routes = routes };
            var hosts = service.Hosts.Count == 0 ? [name] : service.Hosts;
            for (var h = 0; h < hosts.Count; h++)
            {
                var host = hosts[h]?.Trim() ?? string.Empty;
                var hostPath = service.Hosts.Count == 0 ? path : $"{path}:Hosts:{h}";
                if (service.Hosts.Count > 0 && !IsValidHost(host))
                {
                    errors.Add(new(hostPath, host, "expected host or host:port"));
                    continue;
                }

                if (hostOwners.TryGetValue(host, out var owner))
                {
                    errors.Add(new(hostPath, host, $"service '{owner}' already answers to this name"));
                    continue;
                }

                hostOwners[host] = name;
                services[host] = compiled;
            }
        }

        var xdsPath = options.ConfigurationPath + ":Xds";
        for (var i = 0; i < options.Xds.HttpHosts.Count; i++)
        {
            var pattern = options.Xds.HttpHosts[i];
            if (string.IsNullOrWhiteSpace(pattern) || pattern.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@'))
            {
                errors.Add(new($"{xdsPath}:HttpHosts:{i}", pattern, "expected a host pattern such as *.svc.cluster.local"));
            }
        }

        if (options.Xds.ConfigWaitTimeout <= TimeSpan.Zero)
        {
            errors.Add(new(xdsPath + ":ConfigWaitTimeout", options.Xds.ConfigWaitTimeout.ToString(), "must be positive"));
        }

        if (errors.Count > 0)
        {
            return new MeshCompilation(null, errors);
        }

        var snapshot = new MeshSnapshot
        {
            Version = version,
            Source = "appsettings",
            Services = services.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            Clusters = clusters.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        };
        return new MeshCompilation(snapshot, errors) { CertificateProviders = certificateProviders };
    }

    private static bool IsValidHost(string host)
    {
        if (host.Length == 0)
        {
            return false;
        }

        var colon = host.LastIndexOf(':');
        if (colon < 0 || host.StartsWith('[') && host.EndsWith(']'))
        {
            return IsValidServiceName(host);
        }

        return TryParseAddress(host, out _, out _, out _);
    }

    private static bool IsValidServiceName(string name) =>
        name.Length > 0 && !name.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@');

    /// <summary>Parses <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
    internal static bool TryParseAddress(string? address, out string host, out int port, out string problem)
    {
        host = string.Empty;
        port = 0;
        var text = address?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            problem = "address is empty; expected host:port";
            return false;
        }

        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                problem = "expected [ipv6-address]:port";
                return false;
            }

            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                problem = "missing port; expected host:port";
                return false;
            }

            if (text.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                problem = "an IPv6 address must be in brackets, e.g. [::1]:5001";
                return false;
            }

            host = text[..colon];
            portText = text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            problem = "host is empty; expected host:port";
            return false;
        }

        if (host.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@'))
        {
            problem = "host contains a character a host name cannot have";
            return false;
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            problem = "port is not a number";
            return false;
        }

        if (port is < 1 or > 65535)
        {
            problem = "port must be between 1 and 65535";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The result of compiling options: a snapshot, or the errors that prevent one.</summary>
internal sealed record MeshCompilation(MeshSnapshot? Snapshot, IReadOnlyList<MeshConfigurationError> Errors)
{
    /// <summary>The <c>file_watcher</c> settings of each valid certificate provider, by instance name; registered before the snapshot is published.</summary>
    public IReadOnlyDictionary<string, FileWatcherSettings> CertificateProviders { get; init; } = new Dictionary<string, FileWatcherSettings>(StringComparer.Ordinal);
}
