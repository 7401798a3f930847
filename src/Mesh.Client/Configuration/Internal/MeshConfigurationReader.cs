using Microsoft.Extensions.Configuration;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Reads the <c>Mesh</c> configuration section into <see cref="MeshOptions"/>. Written by hand rather than
/// with the configuration binder so that shorthand forms (<c>"host:port"</c> endpoints, a policy name as
/// a string) work, unknown keys are caught, and every unconvertible value is reported with its path
/// instead of throwing at the first one.
/// </summary>
internal static partial class MeshConfigurationReader
{
    private static readonly string[] RootKeys = ["Services", "Xds", "Tls"];
    private static readonly string[] TlsKeys = ["CertificateProviders"];
    private static readonly string[] CertificateProviderKeys = ["CertificateFile", "PrivateKeyFile", "CaCertificateFile", "RefreshInterval"];
    private static readonly string[] ServiceTlsKeys = ["CertificateProvider", "CertificateName", "RootCertificateProvider", "RootCertificateName", "UseSystemRoots", "SubjectAltNames", "Sni"];
    private static readonly string[] SubjectAltNameKeys = ["Type", "Exact", "Prefix", "Suffix", "Contains", "Regex", "IgnoreCase"];
    private static readonly string[] XdsKeys = ["Bootstrap", "HttpHosts", "ConfigWaitTimeout"];
    private static readonly string[] PolicyKeys = ["Timeout", "MaxStreamDuration", "GrpcTimeoutHeaderMax", "Retry", "Hedging", "Fault"];
    private static readonly string[] ServiceKeys = ["Hosts", "Endpoints", "LoadBalancing", "Localities", "Routes", "Protocol", "MaxRequests", "OutlierDetection", "Tls", .. PolicyKeys];
    private static readonly string[] RetryKeys = ["RetryOn", "NumRetries", "BaseInterval", "MaxInterval", "PerTryTimeout", "RetriableStatusCodes", "RetryNonIdempotent"];
    private static readonly string[] HedgingKeys = ["MaxHedgedAttempts", "Delay"];
    private static readonly string[] FaultKeys = ["Delay", "Abort", "MaxActiveFaults"];
    private static readonly string[] FaultDelayKeys = ["Fixed", "FromHeader", "Percentage"];
    private static readonly string[] FaultAbortKeys = ["HttpStatus", "GrpcStatus", "FromHeader", "Percentage"];
    private static readonly string[] OutlierKeys = ["Interval", "BaseEjectionTime", "MaxEjectionTime", "MaxEjectionPercent", "SuccessRate", "FailurePercentage"];
    private static readonly string[] SuccessRateKeys = ["StdevFactor", "EnforcementPercentage", "MinimumHosts", "RequestVolume"];
    private static readonly string[] FailurePercentageKeys = ["Threshold", "EnforcementPercentage", "MinimumHosts", "RequestVolume"];
    private static readonly string[] EndpointKeys = ["Address", "Weight", "Region", "Zone", "SubZone", "Priority", "Health", "HashKey"];
    private static readonly string[] LoadBalancingKeys = ["Policy", "ChoiceCount", "MinRingSize", "MaxRingSize", "TableSize", "HashHeader", "Shuffle"];
    private static readonly string[] LocalityKeys = ["Weight"];
    private static readonly string[] RouteKeys = ["Name", "Match", "Cluster", "WeightedClusters", "ClusterHeader", "HashHeader", "HashCookie", .. PolicyKeys];
    private static readonly string[] MatchKeys = ["PathPrefix", "Path", "PathRegex", "CaseSensitive", "Headers", "QueryParameters", "Percentage"];
    private static readonly string[] HeaderKeys = ["Exact", "Prefix", "Suffix", "Contains", "Regex", "Present", "IgnoreCase", "Invert"];

    public static void Read(IConfigurationSection section, MeshOptions options)
    {
        options.ConfigurationPath = section.Path;
        var errors = options.BindingErrors;
        CheckKeys(section, RootKeys, errors);
        var xds = section.GetSection("Xds");
        if (xds.Exists())
        {
            CheckKeys(xds, XdsKeys, errors);
            options.Xds.Bootstrap = xds["Bootstrap"] ?? options.Xds.Bootstrap;
            foreach (var host in xds.GetSection("HttpHosts").GetChildren())
            {
                options.Xds.HttpHosts.Add(host.Value ?? string.Empty);
            }

            options.Xds.ConfigWaitTimeout = ReadTimeSpan(xds, "ConfigWaitTimeout", options.Xds.ConfigWaitTimeout, errors);
        }

        var tls = section.GetSection("Tls");
        if (tls.Exists())
        {
            CheckKeys(tls, TlsKeys, errors);
            foreach (var providerSection in tls.GetSection("CertificateProviders").GetChildren())
            {
                if (!options.Tls.CertificateProviders.TryGetValue(providerSection.Key, out var provider))
                {
                    provider = new MeshCertificateProviderOptions();
                    options.Tls.CertificateProviders[providerSection.Key] = provider;
                }

                ReadCertificateProvider(providerSection, provider, errors);
            }
        }

        foreach (var serviceSection in section.GetSection("Services").GetChildren())
        {
            if (!options.Services.TryGetValue(serviceSection.Key, out var service))
            {
                service = new MeshServiceOptions();
                options.Services[serviceSection.Key] = service;
            }

            ReadService(serviceSection, service, errors);
        }
    }

    private static void ReadCertificateProvider(IConfigurationSection section, MeshCertificateProviderOptions provider, List<MeshConfigurationError> errors)
    {
        CheckKeys(section, CertificateProviderKeys, errors);
        provider.CertificateFile = section["CertificateFile"] ?? provider.CertificateFile;
        provider.PrivateKeyFile = section["PrivateKeyFile"] ?? provider.PrivateKeyFile;
        provider.CaCertificateFile = section["CaCertificateFile"] ?? provider.CaCertificateFile;
        provider.RefreshInterval = ReadOptionalTimeSpan(section, "RefreshInterval", errors) ?? provider.RefreshInterval;
    }

    private static MeshServiceTlsOptions ReadServiceTls(IConfigurationSection section, MeshServiceTlsOptions? existing, List<MeshConfigurationError> errors)
    {
        CheckKeys(section, ServiceTlsKeys, errors);
        var tls = existing ?? new MeshServiceTlsOptions();
        tls.CertificateProvider = section["CertificateProvider"] ?? tls.CertificateProvider;
        tls.CertificateName = section["CertificateName"] ?? tls.CertificateName;
        tls.RootCertificateProvider = section["RootCertificateProvider"] ?? tls.RootCertificateProvider;
        tls.RootCertificateName = section["RootCertificateName"] ?? tls.RootCertificateName;
        tls.UseSystemRoots = ReadBool(section, "UseSystemRoots", tls.UseSystemRoots, errors);
        tls.Sni = section["Sni"] ?? tls.Sni;

        var names = section.GetSection("SubjectAltNames");
        if (names.Value is { Length: > 0 } single)
        {
            // A lone string would otherwise be read as an empty list, which accepts any server name.
            errors.Add(new MeshConfigurationError(names.Path, single, "expected a list, e.g. [ \"spiffe://cluster.local/ns/default/sa/echo\" ]"));
        }

        foreach (var nameSection in names.GetChildren())
        {
            var match = new MeshSubjectAltNameOptions();
            if (nameSection.Value is { } exact)
            {
                // The shorthand: an exact match of a SAN of any type (a SPIFFE ID, a DNS name).
                match.Exact = exact;
            }
            else
            {
                CheckKeys(nameSection, SubjectAltNameKeys, errors);
                match.Type = ReadEnum(nameSection, "Type", match.Type, errors);
                match.Exact = nameSection["Exact"];
                match.Prefix = nameSection["Prefix"];
                match.Suffix = nameSection["Suffix"];
                match.Contains = nameSection["Contains"];
                match.Regex = nameSection["Regex"];
                match.IgnoreCase = ReadBool(nameSection, "IgnoreCase", false, errors);
            }

            tls.SubjectAltNames.Add(match);
        }

        return tls;
    }

    private static void ReadService(IConfigurationSection section, MeshServiceOptions service, List<MeshConfigurationError> errors)
    {
        CheckKeys(section, ServiceKeys, errors);
        ReadPolicies(section, service, errors);
        service.MaxRequests = ReadInt(section, "MaxRequests", service.MaxRequests, errors);
        var outlier = section.GetSection("OutlierDetection");
        if (outlier.Exists())
        {
            CheckKeys(outlier, OutlierKeys, errors);
            var od = new MeshOutlierDetectionOptions();
            od.Interval = ReadTimeSpan(outlier, "Interval", od.Interval, errors);
            od.BaseEjectionTime = ReadTimeSpan(outlier, "BaseEjectionTime", od.BaseEjectionTime, errors);
            od.MaxEjectionTime = ReadTimeSpan(outlier, "MaxEjectionTime", od.MaxEjectionTime, errors);
            od.MaxEjectionPercent = ReadInt(outlier, "MaxEjectionPercent", od.MaxEjectionPercent, errors);
            var successRate = outlier.GetSection("SuccessRate");
            if (successRate.Exists())
            {
                CheckKeys(successRate, SuccessRateKeys, errors);
                var sr = new MeshSuccessRateOptions();
                sr.StdevFactor = ReadInt(successRate, "StdevFactor", sr.StdevFactor, errors);
                sr.EnforcementPercentage = ReadInt(successRate, "EnforcementPercentage", sr.EnforcementPercentage, errors);
                sr.MinimumHosts = ReadInt(successRate, "MinimumHosts", sr.MinimumHosts, errors);
                sr.RequestVolume = ReadInt(successRate, "RequestVolume", sr.RequestVolume, errors);
                od.SuccessRate = sr;
            }

            var failure = outlier.GetSection("FailurePercentage");
            if (failure.Exists())
            {
                CheckKeys(failure, FailurePercentageKeys, errors);
                var fp = new MeshFailurePercentageOptions();
                fp.Threshold = ReadInt(failure, "Threshold", fp.Threshold, errors);
                fp.EnforcementPercentage = ReadInt(failure, "EnforcementPercentage", fp.EnforcementPercentage, errors);
                fp.MinimumHosts = ReadInt(failure, "MinimumHosts", fp.MinimumHosts, errors);
                fp.RequestVolume = ReadInt(failure, "RequestVolume", fp.RequestVolume, errors);
                od.FailurePercentage = fp;
            }

            service.OutlierDetection = od;
        }
        service.Protocol = ReadEnum(section, "Protocol", service.Protocol, errors);
        var tls = section.GetSection("Tls");
        if (tls.Exists())
        {
            service.Tls = ReadServiceTls(tls, service.Tls, errors);
        }

        foreach (var host in section.GetSection("Hosts").GetChildren())
        {
            service.Hosts.Add(host.Value ?? string.Empty);
        }
        foreach (var endpointSection in section.GetSection("Endpoints").GetChildren())
        {
            var endpoint = new MeshEndpointOptions();
            if (endpointSection.Value is { } shorthand)
            {
                endpoint.Address = shorthand;
            }
            else
            {
                CheckKeys(endpointSection, EndpointKeys, errors);
                endpoint.Address = endpointSection["Address"] ?? string.Empty;
                endpoint.Weight = ReadInt(endpointSection, "Weight", endpoint.Weight, errors);
                endpoint.Region = endpointSection["Region"];
                endpoint.Zone = endpointSection["Zone"];
                endpoint.SubZone = endpointSection["SubZone"];
                endpoint.Priority = ReadInt(endpointSection, "Priority", endpoint.Priority, errors);
                endpoint.Health = ReadHealth(endpointSection, "Health", endpoint.Health, errors);
                endpoint.HashKey = endpointSection["HashKey"];
            }

            service.Endpoints.Add(endpoint);
        }

        var lb = section.GetSection("LoadBalancing");
        if (lb.Value is { } policyName)
        {
            // The short form, "LoadBalancing": "round_robin": errors about the name point at LoadBalancing itself.
            service.LoadBalancing.Policy = policyName;
            service.LoadBalancing.PolicyIsShortForm = true;
        }
        else if (lb.Exists())
        {
            CheckKeys(lb, LoadBalancingKeys, errors);
            var options = service.LoadBalancing;
            options.Policy = lb["Policy"] ?? options.Policy;
            options.ChoiceCount = ReadInt(lb, "ChoiceCount", options.ChoiceCount, errors);
            options.MinRingSize = ReadLong(lb, "MinRingSize", options.MinRingSize, errors);
            options.MaxRingSize = ReadLong(lb, "MaxRingSize", options.MaxRingSize, errors);
            options.TableSize = ReadInt(lb, "TableSize", options.TableSize, errors);
            options.HashHeader = lb["HashHeader"] ?? options.HashHeader;
            options.Shuffle = ReadBool(lb, "Shuffle", options.Shuffle, errors);
        }

        foreach (var localitySection in section.GetSection("Localities").GetChildren())
        {
            CheckKeys(localitySection, LocalityKeys, errors);
            var locality = new MeshLocalityOptions();
            locality.Weight = ReadInt(localitySection, "Weight", locality.Weight, errors);
            service.Localities[localitySection.Key] = locality;
        }

        foreach (var routeSection in section.GetSection("Routes").GetChildren())
        {
            service.Routes.Add(ReadRoute(routeSection, errors));
        }
    }
}
