using System.Globalization;
using Mesh.Client.Model;
using Microsoft.Extensions.Configuration;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// Reads the <c>Mesh</c> configuration section into <see cref="MeshOptions"/>. Written by hand rather than
/// with the configuration binder so that shorthand forms (<c>"host:port"</c> endpoints, a policy name as
/// a string) work, unknown keys are caught, and every unconvertible value is reported with its path
/// instead of throwing at the first one.
/// </summary>
internal static class MeshConfigurationReader
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

    private static MeshRouteOptions ReadRoute(IConfigurationSection section, List<MeshConfigurationError> errors)
    {
        CheckKeys(section, RouteKeys, errors);
        var route = new MeshRouteOptions
        {
            Name = section["Name"],
            Cluster = section["Cluster"],
            ClusterHeader = section["ClusterHeader"],
            HashHeader = section["HashHeader"],
            HashCookie = section["HashCookie"],
        };
        ReadPolicies(section, route, errors);

        var match = section.GetSection("Match");
        CheckKeys(match, MatchKeys, errors);
        route.Match.PathPrefix = match["PathPrefix"];
        route.Match.Path = match["Path"];
        route.Match.PathRegex = match["PathRegex"];
        route.Match.CaseSensitive = ReadBool(match, "CaseSensitive", route.Match.CaseSensitive, errors);
        if (match["Percentage"] is not null)
        {
            route.Match.Percentage = ReadDouble(match, "Percentage", 100, errors);
        }

        foreach (var parameter in match.GetSection("QueryParameters").GetChildren())
        {
            route.Match.QueryParameters[parameter.Key] = ReadStringMatch(parameter, errors);
        }

        foreach (var header in match.GetSection("Headers").GetChildren())
        {
            var headerMatch = new MeshHeaderMatchOptions();
            if (header.Value is { } exact)
            {
                headerMatch.Exact = exact;
            }
            else
            {
                CheckKeys(header, HeaderKeys, errors);
                headerMatch.Exact = header["Exact"];
                headerMatch.Prefix = header["Prefix"];
                headerMatch.Suffix = header["Suffix"];
                headerMatch.Contains = header["Contains"];
                headerMatch.Regex = header["Regex"];
                headerMatch.Present = header["Present"] is null ? null : ReadBool(header, "Present", false, errors);
                headerMatch.IgnoreCase = ReadBool(header, "IgnoreCase", false, errors);
                headerMatch.Invert = ReadBool(header, "Invert", false, errors);
            }

            route.Match.Headers[header.Key] = headerMatch;
        }

        foreach (var weighted in section.GetSection("WeightedClusters").GetChildren())
        {
            route.WeightedClusters[weighted.Key] = ReadInt(section.GetSection("WeightedClusters"), weighted.Key, 0, errors);
        }

        return route;
    }

    private static void CheckKeys(IConfigurationSection section, string[] known, List<MeshConfigurationError> errors)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(new MeshConfigurationError(child.Path, child.Value, $"unknown setting '{child.Key}'; expected one of {string.Join(", ", known)}{Spelling.DidYouMean(child.Key, known)}"));
            }
        }
    }

    private static int ReadInt(IConfigurationSection section, string key, int fallback, List<MeshConfigurationError> errors) =>
        ReadNumber(section, key, fallback, errors);

    private static long ReadLong(IConfigurationSection section, string key, long fallback, List<MeshConfigurationError> errors) =>
        ReadNumber(section, key, fallback, errors);

    private static T ReadNumber<T>(IConfigurationSection section, string key, T fallback, List<MeshConfigurationError> errors)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (T.TryParse(raw, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a whole number"));
        return fallback;
    }

    private static TimeSpan ReadTimeSpan(IConfigurationSection section, string key, TimeSpan fallback, List<MeshConfigurationError> errors) =>
        ReadOptionalTimeSpan(section, key, errors) ?? fallback;

    private static TimeSpan? ReadOptionalTimeSpan(IConfigurationSection section, string key, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return null;
        }

        if (MeshDurations.TryParse(raw, out var duration))
        {
            return duration;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a duration; write \"250ms\", \"15s\", \"2m\" or \"00:00:15\""));
        return null;
    }

    private static double ReadDouble(IConfigurationSection section, string key, double fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not a number"));
        return fallback;
    }

    private static MeshHeaderMatchOptions ReadStringMatch(IConfigurationSection section, List<MeshConfigurationError> errors)
    {
        var result = new MeshHeaderMatchOptions();
        if (section.Value is { } exact)
        {
            result.Exact = exact;
            return result;
        }

        CheckKeys(section, HeaderKeys, errors);
        result.Exact = section["Exact"];
        result.Prefix = section["Prefix"];
        result.Suffix = section["Suffix"];
        result.Contains = section["Contains"];
        result.Regex = section["Regex"];
        result.Present = section["Present"] is null ? null : ReadBool(section, "Present", false, errors);
        result.IgnoreCase = ReadBool(section, "IgnoreCase", false, errors);
        result.Invert = ReadBool(section, "Invert", false, errors);
        return result;
    }

    private static void ReadPolicies(IConfigurationSection section, MeshRequestPolicyOptions policies, List<MeshConfigurationError> errors)
    {
        policies.Timeout = ReadOptionalTimeSpan(section, "Timeout", errors) ?? policies.Timeout;
        policies.MaxStreamDuration = ReadOptionalTimeSpan(section, "MaxStreamDuration", errors) ?? policies.MaxStreamDuration;
        policies.GrpcTimeoutHeaderMax = ReadOptionalTimeSpan(section, "GrpcTimeoutHeaderMax", errors) ?? policies.GrpcTimeoutHeaderMax;
        var retry = section.GetSection("Retry");
        if (retry.Exists())
        {
            CheckKeys(retry, RetryKeys, errors);
            var options = new MeshRetryOptions();
            options.RetryOn = retry["RetryOn"] ?? options.RetryOn;
            options.NumRetries = ReadInt(retry, "NumRetries", options.NumRetries, errors);
            options.BaseInterval = ReadTimeSpan(retry, "BaseInterval", options.BaseInterval, errors);
            options.MaxInterval = ReadOptionalTimeSpan(retry, "MaxInterval", errors);
            options.PerTryTimeout = ReadOptionalTimeSpan(retry, "PerTryTimeout", errors);
            options.RetryNonIdempotent = ReadBool(retry, "RetryNonIdempotent", false, errors);
            foreach (var code in retry.GetSection("RetriableStatusCodes").GetChildren())
            {
                options.RetriableStatusCodes.Add(ReadInt(retry.GetSection("RetriableStatusCodes"), code.Key, 0, errors));
            }

            policies.Retry = options;
        }

        var hedging = section.GetSection("Hedging");
        if (hedging.Exists())
        {
            CheckKeys(hedging, HedgingKeys, errors);
            var options = new MeshHedgingOptions();
            options.MaxHedgedAttempts = ReadInt(hedging, "MaxHedgedAttempts", options.MaxHedgedAttempts, errors);
            options.Delay = ReadTimeSpan(hedging, "Delay", options.Delay, errors);
            policies.Hedging = options;
        }

        var fault = section.GetSection("Fault");
        if (fault.Exists())
        {
            CheckKeys(fault, FaultKeys, errors);
            var options = new MeshFaultOptions();
            if (fault["MaxActiveFaults"] is not null)
            {
                options.MaxActiveFaults = ReadInt(fault, "MaxActiveFaults", 0, errors);
            }

            var delay = fault.GetSection("Delay");
            if (delay.Exists())
            {
                CheckKeys(delay, FaultDelayKeys, errors);
                options.Delay = new MeshFaultDelayOptions
                {
                    Fixed = ReadOptionalTimeSpan(delay, "Fixed", errors),
                    FromHeader = ReadBool(delay, "FromHeader", false, errors),
                    Percentage = ReadDouble(delay, "Percentage", 100, errors),
                };
            }

            var abort = fault.GetSection("Abort");
            if (abort.Exists())
            {
                CheckKeys(abort, FaultAbortKeys, errors);
                options.Abort = new MeshFaultAbortOptions
                {
                    HttpStatus = abort["HttpStatus"] is null ? null : ReadInt(abort, "HttpStatus", 0, errors),
                    GrpcStatus = abort["GrpcStatus"] is null ? null : ReadInt(abort, "GrpcStatus", 0, errors),
                    FromHeader = ReadBool(abort, "FromHeader", false, errors),
                    Percentage = ReadDouble(abort, "Percentage", 100, errors),
                };
            }

            policies.Fault = options;
        }
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (bool.TryParse(raw.Trim(), out var value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, "not true or false"));
        return fallback;
    }

    private static TEnum ReadEnum<TEnum>(IConfigurationSection section, string key, TEnum fallback, List<MeshConfigurationError> errors)
        where TEnum : struct, Enum
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        if (!int.TryParse(raw, out _) && Enum.TryParse<TEnum>(raw.Trim(), ignoreCase: true, out var value) && Enum.IsDefined(value))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, $"expected one of {string.Join(", ", Enum.GetNames<TEnum>())}"));
        return fallback;
    }

    private static EndpointHealth ReadHealth(IConfigurationSection section, string key, EndpointHealth fallback, List<MeshConfigurationError> errors)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }

        // Accept both the .NET spelling (Healthy) and xDS's (HEALTHY).
        if (Enum.TryParse<EndpointHealth>(raw.Trim(), ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(raw, out _))
        {
            return value;
        }

        errors.Add(new MeshConfigurationError(section.GetSection(key).Path, raw, $"unknown health; expected one of {string.Join(", ", Enum.GetNames<EndpointHealth>())}"));
        return fallback;
    }
}
