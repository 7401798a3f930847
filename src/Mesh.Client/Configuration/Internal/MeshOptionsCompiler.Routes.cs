using System.Globalization;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Configuration.Internal;

// Routes: matches, destinations and hash policies.
internal static partial class MeshOptionsCompiler
{
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

    private static List<HashPolicy> HashPoliciesFor(IEnumerable<string> clusters, Dictionary<string, string?> hashHeaders) =>
        [.. clusters
            .Select(c => hashHeaders.GetValueOrDefault(c))
            .Where(h => !string.IsNullOrEmpty(h))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(h => new HashPolicy(HashPolicyKind.Header, h!))];

    private static bool IsCatchAll(MeshRoute route) =>
        route.Match.Headers.Count == 0 && route.Match.Path.Kind == PathMatchKind.Prefix && route.Match.Path.Value is "" or "/";
}
