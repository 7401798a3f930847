using Mesh.Client.Model;
using Mesh.Client.Model.Internal;

namespace Mesh.Client.Configuration.Internal;

// Clusters: the load-balancing policy, the endpoints and localities, outlier detection.
internal static partial class MeshOptionsCompiler
{
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
}
