using Microsoft.Extensions.Configuration;

namespace Mesh.Client.Configuration.Internal;

// Routes, their matches and the request policies a route or service sets.
internal static partial class MeshConfigurationReader
{
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
}
