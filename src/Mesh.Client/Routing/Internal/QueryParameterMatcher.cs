using System.Text.RegularExpressions;
using Mesh.Client.Model;

namespace Mesh.Client.Routing.Internal;

/// <summary>A compiled query-parameter condition; the first value of the parameter is compared.</summary>
internal sealed class QueryParameterMatcher
{
    private readonly QueryParameterMatch _match;
    private readonly StringComparison _comparison;
    private readonly Regex? _regex;

    public QueryParameterMatcher(QueryParameterMatch match)
    {
        _match = match;
        _comparison = match.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (match.Kind == HeaderMatchKind.Regex)
        {
            _regex = RegexFactory.CreateFullMatch(match.Value, match.IgnoreCase);
        }
    }

    public bool IsMatch<TRequest>(in TRequest request)
        where TRequest : struct, IRequestView
    {
        if (!request.TryGetQueryParameter(_match.Name, out var value))
        {
            return false;
        }

        return _match.Kind switch
        {
            HeaderMatchKind.Present => true,
            HeaderMatchKind.Exact => value.Equals(_match.Value, _comparison),
            HeaderMatchKind.Prefix => value.StartsWith(_match.Value, _comparison),
            HeaderMatchKind.Suffix => value.EndsWith(_match.Value, _comparison),
            HeaderMatchKind.Contains => value.Contains(_match.Value, _comparison),
            HeaderMatchKind.Regex => _regex!.IsMatch(value),
            _ => false,
        };
    }
}
