using System.Collections.Frozen;
using System.Globalization;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Turns <see cref="MeshOptions"/> into a <see cref="MeshSnapshot"/>, or into the list of everything wrong
/// with them. Each service with endpoints becomes a cluster of the same name; its routes become the
/// service's route table.
/// </summary>
internal static class MeshOptionsCompiler
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

    /// <summary>
    /// Checks <c>Tls:CertificateProviders</c> and turns each into <c>file_watcher</c> settings. The files are
    /// not looked at: they may be written after start-up, and a missing file fails the calls that need it.
    /// </summary>
    private static Dictionary<string, FileWatcherSettings> CompileCertificateProviders(MeshOptions options, List<MeshConfigurationError> errors)
    {
        var result = new Dictionary<string, FileWatcherSettings>(StringComparer.Ordinal);
        foreach (var (name, provider) in options.Tls.CertificateProviders)
        {
            var path = $"{options.ConfigurationPath}:Tls:CertificateProviders:{name}";
            var count = errors.Count;
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add(new(path, name, "certificate provider name is empty"));
                continue;
            }

            string? File(string? value, string key)
            {
                if (value is not null && string.IsNullOrWhiteSpace(value))
                {
                    errors.Add(new($"{path}:{key}", value, "file path is empty"));
                    return null;
                }

                return value;
            }

            var certificate = File(provider.CertificateFile, "CertificateFile");
            var key = File(provider.PrivateKeyFile, "PrivateKeyFile");
            var ca = File(provider.CaCertificateFile, "CaCertificateFile");
            if (certificate is not null && key is null && provider.PrivateKeyFile is null)
            {
                errors.Add(new(path + ":CertificateFile", certificate, "PrivateKeyFile is not set; a certificate needs its private key (set both or neither)"));
            }
            else if (key is not null && certificate is null && provider.CertificateFile is null)
            {
                errors.Add(new(path + ":PrivateKeyFile", key, "CertificateFile is not set; a private key needs its certificate (set both or neither)"));
            }
            else if (provider.CertificateFile is null && provider.PrivateKeyFile is null && provider.CaCertificateFile is null)
            {
                errors.Add(new(path, null, "certificate provider has neither CertificateFile (with PrivateKeyFile) nor CaCertificateFile"));
            }

            if (provider.RefreshInterval is { } refresh && refresh <= TimeSpan.Zero)
            {
                errors.Add(new(path + ":RefreshInterval", refresh.ToString(), "must be positive"));
            }

            if (errors.Count == count)
            {
                result[name] = new FileWatcherSettings(certificate, key, ca, provider.RefreshInterval ?? FileWatcherSettings.DefaultRefreshInterval);
            }
        }

        return result;
    }

    private static MeshClusterTls CompileTls(MeshServiceTlsOptions tls, string path, MeshOptions options, List<MeshConfigurationError> errors)
    {
        var providers = options.Tls.CertificateProviders;
        var providersPath = options.ConfigurationPath + ":Tls:CertificateProviders";

        CertificateProviderReference? Reference(string? instance, string? certificateName, string key, string nameKey, bool roots)
        {
            if (instance is null)
            {
                if (certificateName is not null)
                {
                    errors.Add(new($"{path}:{nameKey}", certificateName, $"{nameKey} needs {key}"));
                }

                return null;
            }

            if (!providers.TryGetValue(instance, out var provider))
            {
                var known = providers.Count == 0 ? "none are configured" : "known: " + string.Join(", ", providers.Keys.Order(StringComparer.Ordinal));
                errors.Add(new($"{path}:{key}", instance, $"no certificate provider of this name in {providersPath} ({known})"));
                return null;
            }

            if (roots && provider.CaCertificateFile is null)
            {
                errors.Add(new($"{path}:{key}", instance, $"certificate provider '{instance}' has no CaCertificateFile to verify servers with"));
            }
            else if (!roots && provider.CertificateFile is null)
            {
                errors.Add(new($"{path}:{key}", instance, $"certificate provider '{instance}' has no CertificateFile to present"));
            }

            return new CertificateProviderReference(instance, certificateName ?? string.Empty);
        }

        var identity = Reference(tls.CertificateProvider, tls.CertificateName, "CertificateProvider", "CertificateName", roots: false);
        var rootsReference = Reference(tls.RootCertificateProvider, tls.RootCertificateName, "RootCertificateProvider", "RootCertificateName", roots: true);
        if (tls.RootCertificateProvider is null && !tls.UseSystemRoots)
        {
            errors.Add(new(path, null, "set RootCertificateProvider or UseSystemRoots: TLS must verify the server"));
        }
        else if (tls.RootCertificateProvider is not null && tls.UseSystemRoots)
        {
            errors.Add(new(path + ":UseSystemRoots", "true", "set RootCertificateProvider or UseSystemRoots, not both"));
        }

        if (tls.Sni is { } sni && (sni.Length == 0 || sni.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@' or ':')))
        {
            errors.Add(new(path + ":Sni", sni, "expected a host name"));
        }

        var names = new List<SubjectAltNameMatch>(tls.SubjectAltNames.Count);
        for (var i = 0; i < tls.SubjectAltNames.Count; i++)
        {
            if (CompileSubjectAltName(tls.SubjectAltNames[i], $"{path}:SubjectAltNames:{i}", errors) is { } match)
            {
                names.Add(match);
            }
        }

        return new MeshClusterTls
        {
            Identity = identity,
            Roots = rootsReference,
            UseSystemRoots = tls.UseSystemRoots,
            SubjectAltNames = names,
            Sni = tls.Sni,
        };
    }

    private static SubjectAltNameMatch? CompileSubjectAltName(MeshSubjectAltNameOptions options, string path, List<MeshConfigurationError> errors)
    {
        if (options is null)
        {
            errors.Add(new(path, null, "subject alternative name is missing"));
            return null;
        }

        var count = errors.Count;
        if (!Enum.IsDefined(options.Type))
        {
            errors.Add(new(path + ":Type", options.Type.ToString(), $"unknown subject alternative name type; expected one of {string.Join(", ", Enum.GetNames<SubjectAltNameType>())}"));
        }

        var kinds = new (StringMatchKind Kind, string? Value)[]
        {
            (StringMatchKind.Exact, options.Exact),
            (StringMatchKind.Prefix, options.Prefix),
            (StringMatchKind.Suffix, options.Suffix),
            (StringMatchKind.Contains, options.Contains),
            (StringMatchKind.Regex, options.Regex),
        }.Where(k => k.Value is not null).ToArray();
        if (kinds.Length != 1)
        {
            var found = kinds.Length == 0 ? "none is set" : "found " + string.Join(" and ", kinds.Select(k => k.Kind));
            errors.Add(new(path, null, $"set exactly one of Exact, Prefix, Suffix, Contains and Regex; {found}"));
            return null;
        }

        var (kind, value) = kinds[0];
        if (value!.Length == 0)
        {
            errors.Add(new(path, value, "subject alternative name is empty"));
        }
        else if (kind == StringMatchKind.Regex)
        {
            if (RegexFactory.Validate(value) is { } regexError)
            {
                errors.Add(new(path + ":Regex", value, "invalid regular expression: " + regexError));
            }

            if (options.IgnoreCase)
            {
                errors.Add(new(path + ":IgnoreCase", "true", "IgnoreCase does not apply to Regex; write (?i) in the pattern"));
            }
        }

        return errors.Count > count ? null : new SubjectAltNameMatch { Type = options.Type, Kind = kind, Value = value, IgnoreCase = options.IgnoreCase };
    }

    private static LoadBalancingPolicy? CompilePolicy(MeshLoadBalancingOptions lb, string path, List<MeshConfigurationError> errors)
    {
        var count = errors.Count;
        switch (Spelling.Match(lb.Policy, LoadBalancingPolicyNames.All))
        {
            case LoadBalancingPolicyNames.RoundRobin:
                return RoundRobinPolicy.Instance;
            case LoadBalancingPolicyNames.Random:
                return RandomPolicy.Instance;
            case LoadBalancingPolicyNames.PickFirst:
                return new PickFirstPolicy { ShuffleAddressList = lb.Shuffle };
            case LoadBalancingPolicyNames.LeastRequest:
                if (!ModelRules.IsValidChoiceCount(lb.ChoiceCount))
                {
                    errors.Add(new(path + ":ChoiceCount", Invariant(lb.ChoiceCount), "choice count must be 2 or more"));
                }

                // Above 10 is capped, as from xDS (gRFC A48).
                return errors.Count > count ? null : new LeastRequestPolicy { ChoiceCount = ModelRules.CapChoiceCount(lb.ChoiceCount) };
            case LoadBalancingPolicyNames.RingHash:
                if (!ModelRules.IsValidRingSize(lb.MinRingSize))
                {
                    errors.Add(new(path + ":MinRingSize", Invariant(lb.MinRingSize), $"ring size must be between 1 and {RingHashPolicy.RingSizeLimit}"));
                }

                if (!ModelRules.IsValidRingSize(lb.MaxRingSize))
                {
                    errors.Add(new(path + ":MaxRingSize", Invariant(lb.MaxRingSize), $"ring size must be between 1 and {RingHashPolicy.RingSizeLimit}"));
                }
                else if (lb.MinRingSize > lb.MaxRingSize)
                {
                    errors.Add(new(path + ":MinRingSize", Invariant(lb.MinRingSize), $"minimum ring size is larger than MaxRingSize ({lb.MaxRingSize})"));
                }

                return errors.Count > count ? null : new RingHashPolicy { MinRingSize = lb.MinRingSize, MaxRingSize = lb.MaxRingSize };
            case LoadBalancingPolicyNames.Maglev:
                if (!ModelRules.IsValidMaglevTableSize(lb.TableSize))
                {
                    errors.Add(new(path + ":TableSize", Invariant(lb.TableSize), $"table size must be a prime no larger than {ModelRules.MaxMaglevTableSize}"));
                }

                return errors.Count > count ? null : new MaglevPolicy { TableSize = lb.TableSize };
            default:
                errors.Add(new(
                    lb.PolicyIsShortForm ? path : path + ":Policy",
                    lb.Policy,
                    $"unknown load-balancing policy; expected one of {string.Join(", ", LoadBalancingPolicyNames.All)}{Spelling.DidYouMean(lb.Policy, LoadBalancingPolicyNames.All)}"));
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

            if (options.Weight < ModelRules.MinEndpointWeight)
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
                Weight = (uint)Math.Max(ModelRules.MinEndpointWeight, options.Weight),
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

        if (service.MaxRequests < 1)
        {
            errors.Add(new(path + ":MaxRequests", Invariant(service.MaxRequests), "must be 1 or more"));
        }

        var outlier = service.OutlierDetection is null ? null : CompileOutlierDetection(service.OutlierDetection, path + ":OutlierDetection", errors);
        return new MeshCluster
        {
            Name = name,
            LoadBalancing = policy,
            Protocol = service.Protocol,
            Priorities = priorities,
            MaxRequests = (uint)Math.Max(1, service.MaxRequests),
            OutlierDetection = outlier,
        };
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
        var destinations = (route.Cluster is null ? 0 : 1) + (route.WeightedClusters.Count > 0 ? 1 : 0) + (route.ClusterHeader is null ? 0 : 1);
        if (destinations > 1)
        {
            errors.Add(new(path, null, "set one of Cluster, WeightedClusters and ClusterHeader"));
        }
        else if (route.ClusterHeader is not null)
        {
            if (route.ClusterHeader.Trim().Length == 0)
            {
                errors.Add(new(path + ":ClusterHeader", route.ClusterHeader, "header name is empty"));
            }
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
            errors.Add(new(path, null, "route has no destination; set Cluster, WeightedClusters or ClusterHeader"));
        }

        if (errors.Count > count)
        {
            return null;
        }

        List<HashPolicy> hashPolicies = route.HashHeader is { Length: > 0 } hashHeader
            ? [new HashPolicy(HashPolicyKind.Header, hashHeader)]
            : HashPoliciesFor(targets.Select(t => t.Cluster), hashHeaders);
        if (route.HashCookie is { Length: > 0 } cookie)
        {
            hashPolicies.Insert(0, new HashPolicy(HashPolicyKind.Cookie, cookie));
        }

        var query = new List<QueryParameterMatch>();
        foreach (var (name, parameter) in match.QueryParameters)
        {
            var parameterPath = $"{path}:Match:QueryParameters:{name}";
            var kinds = new (HeaderMatchKind Kind, string? Value)[]
            {
                (HeaderMatchKind.Exact, parameter.Exact),
                (HeaderMatchKind.Prefix, parameter.Prefix),
                (HeaderMatchKind.Suffix, parameter.Suffix),
                (HeaderMatchKind.Contains, parameter.Contains),
                (HeaderMatchKind.Regex, parameter.Regex),
            }.Where(k => k.Value is not null).ToArray();
            if (kinds.Length + (parameter.Present is true ? 1 : 0) != 1 || parameter.Present is false || parameter.Invert)
            {
                errors.Add(new(parameterPath, null, "set exactly one of Exact, Prefix, Suffix, Contains, Regex and Present: true"));
                continue;
            }

            if (parameter.Present is true)
            {
                query.Add(new QueryParameterMatch { Name = name, Kind = HeaderMatchKind.Present });
                continue;
            }

            if (kinds[0].Kind == HeaderMatchKind.Regex && RegexFactory.Validate(kinds[0].Value!) is { } queryRegexError)
            {
                errors.Add(new(parameterPath + ":Regex", kinds[0].Value, "invalid regular expression: " + queryRegexError));
                continue;
            }

            query.Add(new QueryParameterMatch { Name = name, Kind = kinds[0].Kind, Value = kinds[0].Value!, IgnoreCase = parameter.IgnoreCase });
        }

        uint? fraction = null;
        if (match.Percentage is { } percentage)
        {
            if (percentage is < 0 or > 100 || double.IsNaN(percentage))
            {
                errors.Add(new(path + ":Match:Percentage", percentage.ToString(CultureInfo.InvariantCulture), "must be between 0 and 100"));
            }
            else
            {
                fraction = (uint)Math.Round(percentage * 10_000);
            }
        }

        if (errors.Count > count)
        {
            return null;
        }

        return new MeshRoute
        {
            Name = route.Name,
            Match = new RouteMatch { Path = pathMatch, Headers = headers, QueryParameters = query, FractionPerMillion = fraction },
            Clusters = targets,
            ClusterHeader = route.ClusterHeader?.Trim(),
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

    /// <summary>Adds a route's request policies, each its own or else its service's.</summary>
    private static MeshRoute ApplyPolicies(MeshRoute model, MeshRouteOptions? route, MeshServiceOptions service, string routePath, string servicePath, List<MeshConfigurationError> errors)
    {
        T? Pick<T>(Func<MeshRequestPolicyOptions, T?> get, out string at)
            where T : class
        {
            if (route is not null && get(route) is { } own)
            {
                at = routePath;
                return own;
            }

            at = servicePath;
            return get(service);
        }

        TimeSpan? PickTime(Func<MeshRequestPolicyOptions, TimeSpan?> get, string key)
        {
            var (value, at) = route is not null && get(route) is { } own ? (own, routePath) : (get(service), servicePath);
            if (value is { } v && v <= TimeSpan.Zero)
            {
                errors.Add(new($"{at}:{key}", v.ToString(), "must be positive"));
                return null;
            }

            return value;
        }

        // A route that sets either retries or hedging sets both: the service's other one does not apply to it.
        var ownResilience = route is not null && (route.Retry is not null || route.Hedging is not null);
        var retryOptions = ownResilience ? route!.Retry : service.Retry;
        var hedgingOptions = ownResilience ? route!.Hedging : service.Hedging;
        var resiliencePath = ownResilience ? routePath : servicePath;
        if (retryOptions is not null && hedgingOptions is not null)
        {
            errors.Add(new(resiliencePath, null, "set Retry or Hedging, not both"));
        }

        var fault = Pick(p => p.Fault, out var faultPath);
        return model with
        {
            Timeout = PickTime(p => p.Timeout, "Timeout"),
            MaxStreamDuration = PickTime(p => p.MaxStreamDuration, "MaxStreamDuration"),
            GrpcTimeoutHeaderMax = PickTime(p => p.GrpcTimeoutHeaderMax, "GrpcTimeoutHeaderMax"),
            Retry = retryOptions is null ? null : CompileRetry(retryOptions, resiliencePath + ":Retry", errors),
            Hedging = hedgingOptions is null ? null : CompileHedging(hedgingOptions, resiliencePath + ":Hedging", errors),
            Fault = fault is null ? null : CompileFault(fault, faultPath + ":Fault", errors),
        };
    }

    private static RetryPolicy CompileRetry(MeshRetryOptions options, string path, List<MeshConfigurationError> errors)
    {
        var retryOn = RetryOn.None;
        foreach (var token in options.RetryOn.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RetryOnNames.TryGet(token, StringComparison.OrdinalIgnoreCase, out var flag))
            {
                retryOn |= flag;
            }
            else
            {
                errors.Add(new(path + ":RetryOn", options.RetryOn, $"unknown condition '{token}'; expected some of {string.Join(", ", RetryOnNames.All)}"));
            }
        }

        if (options.NumRetries is < 0 or > 10)
        {
            errors.Add(new(path + ":NumRetries", Invariant(options.NumRetries), "must be between 0 and 10"));
        }

        if (options.BaseInterval <= TimeSpan.Zero)
        {
            errors.Add(new(path + ":BaseInterval", options.BaseInterval.ToString(), "must be positive"));
        }

        if (options.MaxInterval is { } max && max < options.BaseInterval)
        {
            errors.Add(new(path + ":MaxInterval", max.ToString(), $"must not be less than BaseInterval ({options.BaseInterval})"));
        }

        if (options.PerTryTimeout is { } perTry && perTry <= TimeSpan.Zero)
        {
            errors.Add(new(path + ":PerTryTimeout", perTry.ToString(), "must be positive"));
        }

        foreach (var code in options.RetriableStatusCodes)
        {
            if (!ModelRules.IsHttpStatus(code))
            {
                errors.Add(new(path + ":RetriableStatusCodes", Invariant(code), "must be an HTTP status between 100 and 599"));
            }
        }

        if (options.RetriableStatusCodes.Count > 0)
        {
            retryOn |= RetryOn.RetriableStatusCodes;
        }

        return new RetryPolicy
        {
            RetryOn = retryOn,
            NumRetries = Math.Clamp(options.NumRetries, 0, 10),
            BaseInterval = options.BaseInterval,
            MaxInterval = options.MaxInterval,
            PerTryTimeout = options.PerTryTimeout,
            RetriableStatusCodes = [.. options.RetriableStatusCodes],
            RetryNonIdempotent = options.RetryNonIdempotent,
        };
    }

    private static HedgingPolicy CompileHedging(MeshHedgingOptions options, string path, List<MeshConfigurationError> errors)
    {
        if (options.MaxHedgedAttempts is < 1 or > 10)
        {
            errors.Add(new(path + ":MaxHedgedAttempts", Invariant(options.MaxHedgedAttempts), "must be between 1 and 10"));
        }

        if (options.Delay < TimeSpan.Zero)
        {
            errors.Add(new(path + ":Delay", options.Delay.ToString(), "must not be negative"));
        }

        return new HedgingPolicy { MaxHedgedAttempts = Math.Clamp(options.MaxHedgedAttempts, 1, 10), Delay = options.Delay };
    }

    private static FaultPolicy CompileFault(MeshFaultOptions options, string path, List<MeshConfigurationError> errors)
    {
        uint PerMillion(double percentage, string at)
        {
            if (percentage is < 0 or > 100 || double.IsNaN(percentage))
            {
                errors.Add(new(at, percentage.ToString(CultureInfo.InvariantCulture), "must be between 0 and 100"));
                return 0;
            }

            return (uint)Math.Round(percentage * 10_000);
        }

        FaultDelay? delay = null;
        if (options.Delay is { } d)
        {
            if (d.Fixed is null && !d.FromHeader)
            {
                errors.Add(new(path + ":Delay", null, "set Fixed or FromHeader"));
            }

            delay = new FaultDelay { FixedDelay = d.Fixed, FromHeader = d.FromHeader, PerMillion = PerMillion(d.Percentage, path + ":Delay:Percentage") };
        }

        FaultAbort? abort = null;
        if (options.Abort is { } a)
        {
            if (a.HttpStatus is null && a.GrpcStatus is null && !a.FromHeader)
            {
                errors.Add(new(path + ":Abort", null, "set HttpStatus, GrpcStatus or FromHeader"));
            }

            if (a.HttpStatus is { } http && http is < 200 or > 599)
            {
                errors.Add(new(path + ":Abort:HttpStatus", Invariant(http), "must be between 200 and 599"));
            }

            if (a.GrpcStatus is { } grpc && !ModelRules.IsGrpcStatus(grpc))
            {
                errors.Add(new(path + ":Abort:GrpcStatus", Invariant(grpc), "must be a gRPC status code between 0 and 16"));
            }

            abort = new FaultAbort { HttpStatus = a.HttpStatus, GrpcStatus = a.GrpcStatus, FromHeader = a.FromHeader, PerMillion = PerMillion(a.Percentage, path + ":Abort:Percentage") };
        }

        if (options.MaxActiveFaults is < 0)
        {
            errors.Add(new(path + ":MaxActiveFaults", Invariant(options.MaxActiveFaults.Value), "must be 0 or more"));
        }

        return new FaultPolicy { Delay = delay, Abort = abort, MaxActiveFaults = options.MaxActiveFaults is { } m and >= 0 ? (uint)m : null };
    }

    private static OutlierDetectionPolicy CompileOutlierDetection(MeshOutlierDetectionOptions options, string path, List<MeshConfigurationError> errors)
    {
        void Positive(TimeSpan value, string key)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add(new($"{path}:{key}", value.ToString(), "must be positive"));
            }
        }

        void Percent(int value, string key)
        {
            if (value is < 0 or > ModelRules.MaxPercent)
            {
                errors.Add(new($"{path}:{key}", Invariant(value), "must be between 0 and 100"));
            }
        }

        void NotNegative(int value, string key)
        {
            if (value < 0)
            {
                errors.Add(new($"{path}:{key}", Invariant(value), "must be 0 or more"));
            }
        }

        Positive(options.Interval, "Interval");
        Positive(options.BaseEjectionTime, "BaseEjectionTime");
        Positive(options.MaxEjectionTime, "MaxEjectionTime");
        Percent(options.MaxEjectionPercent, "MaxEjectionPercent");
        SuccessRateEjection? successRate = null;
        if (options.SuccessRate is { } sr)
        {
            NotNegative(sr.StdevFactor, "SuccessRate:StdevFactor");
            Percent(sr.EnforcementPercentage, "SuccessRate:EnforcementPercentage");
            NotNegative(sr.MinimumHosts, "SuccessRate:MinimumHosts");
            NotNegative(sr.RequestVolume, "SuccessRate:RequestVolume");
            successRate = new SuccessRateEjection
            {
                StdevFactor = (uint)Math.Max(0, sr.StdevFactor),
                EnforcementPercentage = (uint)Math.Clamp(sr.EnforcementPercentage, 0, 100),
                MinimumHosts = (uint)Math.Max(0, sr.MinimumHosts),
                RequestVolume = (uint)Math.Max(0, sr.RequestVolume),
            };
        }

        FailurePercentageEjection? failurePercentage = null;
        if (options.FailurePercentage is { } fp)
        {
            Percent(fp.Threshold, "FailurePercentage:Threshold");
            Percent(fp.EnforcementPercentage, "FailurePercentage:EnforcementPercentage");
            NotNegative(fp.MinimumHosts, "FailurePercentage:MinimumHosts");
            NotNegative(fp.RequestVolume, "FailurePercentage:RequestVolume");
            failurePercentage = new FailurePercentageEjection
            {
                Threshold = (uint)Math.Clamp(fp.Threshold, 0, 100),
                EnforcementPercentage = (uint)Math.Clamp(fp.EnforcementPercentage, 0, 100),
                MinimumHosts = (uint)Math.Max(0, fp.MinimumHosts),
                RequestVolume = (uint)Math.Max(0, fp.RequestVolume),
            };
        }

        return new OutlierDetectionPolicy
        {
            Interval = options.Interval,
            BaseEjectionTime = options.BaseEjectionTime,
            MaxEjectionTime = options.MaxEjectionTime,
            MaxEjectionPercent = (uint)Math.Clamp(options.MaxEjectionPercent, 0, 100),
            SuccessRate = successRate,
            FailurePercentage = failurePercentage,
        };
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

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The result of compiling options: a snapshot, or the errors that prevent one.</summary>
internal sealed record MeshCompilation(MeshSnapshot? Snapshot, IReadOnlyList<MeshConfigurationError> Errors)
{
    /// <summary>The <c>file_watcher</c> settings of each valid certificate provider, by instance name; registered before the snapshot is published.</summary>
    public IReadOnlyDictionary<string, FileWatcherSettings> CertificateProviders { get; init; } = new Dictionary<string, FileWatcherSettings>(StringComparer.Ordinal);
}
