using System.Collections.Frozen;
using System.Globalization;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Turns <see cref="MeshOptions"/> into a <see cref="MeshSnapshot"/>, or into the list of everything wrong
/// with them. Each service with endpoints becomes a cluster of the same name; its routes become the
/// service's route table.
/// </summary>
internal static class MeshOptionsCompiler
{
    private const int MaxMaglevTableSize = 5_000_011;

    public static MeshCompilation Compile(MeshOptions options, string version)
    {
        var errors = new List<MeshConfigurationError>(options.BindingErrors);
        var root = options.ConfigurationPath + ":Services";
        var clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase);
        var hashHeaders = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

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
                var cluster = CompileCluster(name, service, policy ?? RoundRobinPolicy.Instance, path, errors);
                if (cluster is not null && policy is not null)
                {
                    clusters[name] = cluster;
                }
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
                    routes.Add(route);
                }
            }

            // A service with its own endpoints takes whatever its explicit routes do not.
            if (service.Endpoints.Count > 0 && (routes.Count == 0 || !IsCatchAll(routes[^1])))
            {
                routes.Add(new MeshRoute
                {
                    Name = "default",
                    Match = RouteMatch.Any,
                    Clusters = [new WeightedCluster(name)],
                    HashPolicies = HashPoliciesFor([name], hashHeaders),
                });
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
        return new MeshCompilation(snapshot, errors);
    }

    private static LoadBalancingPolicy? CompilePolicy(MeshLoadBalancingOptions lb, string path, List<MeshConfigurationError> errors)
    {
        var count = errors.Count;
        var name = lb.Policy?.Trim() ?? string.Empty;
        switch (name.ToLowerInvariant())
        {
            case LoadBalancingPolicyNames.RoundRobin:
                return RoundRobinPolicy.Instance;
            case LoadBalancingPolicyNames.Random:
                return RandomPolicy.Instance;
            case LoadBalancingPolicyNames.PickFirst:
                return new PickFirstPolicy { ShuffleAddressList = lb.Shuffle };
            case LoadBalancingPolicyNames.LeastRequest:
                if (lb.ChoiceCount < 2)
                {
                    errors.Add(new(path + ":ChoiceCount", Invariant(lb.ChoiceCount), "choice count must be 2 or more"));
                }

                return errors.Count > count ? null : new LeastRequestPolicy { ChoiceCount = lb.ChoiceCount };
            case LoadBalancingPolicyNames.RingHash:
                if (lb.MinRingSize < 1 || lb.MinRingSize > RingHashPolicy.RingSizeLimit)
                {
                    errors.Add(new(path + ":MinRingSize", Invariant(lb.MinRingSize), $"ring size must be between 1 and {RingHashPolicy.RingSizeLimit}"));
                }

                if (lb.MaxRingSize < 1 || lb.MaxRingSize > RingHashPolicy.RingSizeLimit)
                {
                    errors.Add(new(path + ":MaxRingSize", Invariant(lb.MaxRingSize), $"ring size must be between 1 and {RingHashPolicy.RingSizeLimit}"));
                }
                else if (lb.MinRingSize > lb.MaxRingSize)
                {
                    errors.Add(new(path + ":MinRingSize", Invariant(lb.MinRingSize), $"minimum ring size is larger than MaxRingSize ({lb.MaxRingSize})"));
                }

                return errors.Count > count ? null : new RingHashPolicy { MinRingSize = lb.MinRingSize, MaxRingSize = lb.MaxRingSize };
            case LoadBalancingPolicyNames.Maglev:
                if (lb.TableSize < 2 || lb.TableSize > MaxMaglevTableSize || !IsPrime(lb.TableSize))
                {
                    errors.Add(new(path + ":TableSize", Invariant(lb.TableSize), $"table size must be a prime no larger than {MaxMaglevTableSize}"));
                }

                return errors.Count > count ? null : new MaglevPolicy { TableSize = lb.TableSize };
            default:
                errors.Add(new(path + ":Policy", lb.Policy, $"unknown load-balancing policy; expected one of {string.Join(", ", LoadBalancingPolicyNames.All)}"));
                return null;
        }
    }

    private static MeshCluster? CompileCluster(string name, MeshServiceOptions service, LoadBalancingPolicy policy, string path, List<MeshConfigurationError> errors)
    {
        var count = errors.Count;
        var parsed = new List<(MeshEndpoint Endpoint, MeshEndpointOptions Options)>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < service.Endpoints.Count; i++)
        {
            var options = service.Endpoints[i];
            var endpointPath = $"{path}:Endpoints:{i}";
            if (!TryParseAddress(options.Address, out var host, out var port, out var problem))
            {
                errors.Add(new(endpointPath, options.Address, problem));
                continue;
            }

            if (options.Weight < 1)
            {
                errors.Add(new(endpointPath + ":Weight", Invariant(options.Weight), "weight must be 1 or more"));
            }

            if (options.Priority < 0)
            {
                errors.Add(new(endpointPath + ":Priority", Invariant(options.Priority), "priority must be 0 or more"));
            }

            if (!Enum.IsDefined(options.Health))
            {
                errors.Add(new(endpointPath + ":Health", options.Health.ToString(), "unknown health"));
            }

            var endpoint = new MeshEndpoint
            {
                Host = host,
                Port = port,
                Weight = (uint)Math.Max(1, options.Weight),
                Health = options.Health,
                HashKey = string.IsNullOrEmpty(options.HashKey) ? null : options.HashKey,
            };

            if (seen.TryGetValue(endpoint.Address, out var first))
            {
                errors.Add(new(endpointPath, options.Address, $"duplicate endpoint; already listed at Endpoints:{first}"));
                continue;
            }

            seen[endpoint.Address] = i;
            parsed.Add((endpoint, options));
        }

        foreach (var (zone, locality) in service.Localities)
        {
            var localityPath = $"{path}:Localities:{zone}";
            if (locality.Weight < 1)
            {
                errors.Add(new(localityPath + ":Weight", Invariant(locality.Weight), "weight must be 1 or more"));
            }

            if (!service.Endpoints.Any(e => string.Equals(e.Zone, zone, StringComparison.Ordinal)))
            {
                errors.Add(new(localityPath, null, $"no endpoint of this service is in zone '{zone}'"));
            }
        }

        if (errors.Count > count)
        {
            return null;
        }

        // Priorities need not be contiguous in appsettings: they are ranked, lowest number first.
        var priorities = new List<MeshPriority>();
        foreach (var group in parsed.GroupBy(p => p.Options.Priority).OrderBy(g => g.Key))
        {
            var localities = new List<MeshLocality>();
            foreach (var byLocality in group.GroupBy(p => new LocalityName(p.Options.Region ?? string.Empty, p.Options.Zone ?? string.Empty, p.Options.SubZone ?? string.Empty)))
            {
                var weight = service.Localities.TryGetValue(byLocality.Key.Zone, out var localityOptions) ? localityOptions.Weight : 1;
                localities.Add(new MeshLocality
                {
                    Name = byLocality.Key,
                    Weight = (uint)weight,
                    Endpoints = [.. byLocality.Select(p => p.Endpoint)],
                });
            }

            priorities.Add(new MeshPriority(localities));
        }

        return new MeshCluster { Name = name, LoadBalancing = policy, Protocol = service.Protocol, Priorities = priorities };
    }

    private static MeshRoute? CompileRoute(
        MeshRouteOptions route,
        string path,
        MeshOptions options,
        Dictionary<string, MeshCluster> clusters,
        Dictionary<string, string?> hashHeaders,
        List<MeshConfigurationError> errors)
    {
        var count = errors.Count;
        var match = route.Match;
        var pathSpecifiers = new[] { match.PathPrefix, match.Path, match.PathRegex }.Count(s => s is not null);
        if (pathSpecifiers > 1)
        {
            errors.Add(new(path + ":Match", null, "set at most one of PathPrefix, Path and PathRegex"));
        }

        PathMatch pathMatch = PathMatch.Any with { CaseSensitive = match.CaseSensitive };
        if (match.PathPrefix is not null)
        {
            pathMatch = new PathMatch(PathMatchKind.Prefix, match.PathPrefix, match.CaseSensitive);
        }
        else if (match.Path is not null)
        {
            pathMatch = new PathMatch(PathMatchKind.Exact, match.Path, match.CaseSensitive);
        }
        else if (match.PathRegex is not null)
        {
            if (RegexFactory.Validate(match.PathRegex) is { } regexError)
            {
                errors.Add(new(path + ":Match:PathRegex", match.PathRegex, "invalid regular expression: " + regexError));
            }

            pathMatch = new PathMatch(PathMatchKind.Regex, match.PathRegex, match.CaseSensitive);
        }

        var headers = new List<HeaderMatch>();
        foreach (var (headerName, header) in match.Headers)
        {
            var headerPath = $"{path}:Match:Headers:{headerName}";
            var conditions = new (HeaderMatchKind Kind, string? Value)[]
            {
                (HeaderMatchKind.Exact, header.Exact),
                (HeaderMatchKind.Prefix, header.Prefix),
                (HeaderMatchKind.Suffix, header.Suffix),
                (HeaderMatchKind.Contains, header.Contains),
                (HeaderMatchKind.Regex, header.Regex),
            }.Where(c => c.Value is not null).ToArray();

            var total = conditions.Length + (header.Present is null ? 0 : 1);
            if (total != 1)
            {
                errors.Add(new(headerPath, null, "set exactly one of Exact, Prefix, Suffix, Contains, Regex and Present"));
                continue;
            }

            if (header.Present is { } present)
            {
                headers.Add(new HeaderMatch { Name = headerName, Kind = HeaderMatchKind.Present, PresentMatch = present, Invert = header.Invert });
                continue;
            }

            var (kind, value) = conditions[0];
            if (kind == HeaderMatchKind.Regex && RegexFactory.Validate(value!) is { } regexError)
            {
                errors.Add(new(headerPath + ":Regex", value, "invalid regular expression: " + regexError));
                continue;
            }

            headers.Add(new HeaderMatch { Name = headerName, Kind = kind, Value = value!, IgnoreCase = header.IgnoreCase, Invert = header.Invert });
        }

        var targets = new List<WeightedCluster>();
        if (route.Cluster is not null && route.WeightedClusters.Count > 0)
        {
            errors.Add(new(path, null, "set Cluster or WeightedClusters, not both"));
        }
        else if (route.Cluster is not null)
        {
            CheckTarget(route.Cluster, path + ":Cluster", route.Cluster);
            targets.Add(new WeightedCluster(route.Cluster));
        }
        else if (route.WeightedClusters.Count > 0)
        {
            long sum = 0;
            foreach (var (target, weight) in route.WeightedClusters)
            {
                var targetPath = $"{path}:WeightedClusters:{target}";
                CheckTarget(target, targetPath, target);
                if (weight < 0)
                {
                    errors.Add(new(targetPath, Invariant(weight), "weight must be 0 or more"));
                }

                sum += Math.Max(0, weight);
                if (weight > 0)
                {
                    targets.Add(new WeightedCluster(target, (uint)weight));
                }
            }

            if (sum == 0)
            {
                errors.Add(new(path + ":WeightedClusters", null, "the weights add up to 0"));
            }
        }
        else
        {
            errors.Add(new(path, null, "route has no destination; set Cluster or WeightedClusters"));
        }

        if (errors.Count > count)
        {
            return null;
        }

        var hashPolicies = route.HashHeader is { Length: > 0 } hashHeader
            ? [new HashPolicy(HashPolicyKind.Header, hashHeader)]
            : HashPoliciesFor(targets.Select(t => t.Cluster), hashHeaders);

        return new MeshRoute
        {
            Name = route.Name,
            Match = new RouteMatch { Path = pathMatch, Headers = headers },
            Clusters = targets,
            HashPolicies = hashPolicies,
        };

        void CheckTarget(string target, string targetPath, string value)
        {
            if (!clusters.ContainsKey(target))
            {
                var problem = options.Services.ContainsKey(target)
                    ? $"service '{target}' has no valid endpoints to route to"
                    : $"no service named '{target}' in {options.ConfigurationPath}:Services";
                errors.Add(new(targetPath, value, problem));
            }
        }
    }

    private static List<HashPolicy> HashPoliciesFor(IEnumerable<string> clusters, Dictionary<string, string?> hashHeaders) =>
        [.. clusters
            .Select(c => hashHeaders.GetValueOrDefault(c))
            .Where(h => !string.IsNullOrEmpty(h))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(h => new HashPolicy(HashPolicyKind.Header, h!))];

    private static bool IsCatchAll(MeshRoute route) =>
        route.Match.Headers.Count == 0 && route.Match.Path.Kind == PathMatchKind.Prefix && route.Match.Path.Value is "" or "/";

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

    private static bool IsPrime(int n)
    {
        if (n < 2)
        {
            return false;
        }

        for (var d = 2; (long)d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The result of compiling options: a snapshot, or the errors that prevent one.</summary>
internal sealed record MeshCompilation(MeshSnapshot? Snapshot, IReadOnlyList<MeshConfigurationError> Errors);
