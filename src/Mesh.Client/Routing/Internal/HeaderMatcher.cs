using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Client.Model;

namespace Mesh.Client.Routing.Internal;

/// <summary>A compiled header condition.</summary>
internal sealed class HeaderMatcher
{
    private readonly HeaderMatch _match;
    private readonly StringComparison _comparison;
    private readonly Regex? _regex;

    public HeaderMatcher(HeaderMatch match)
    {
        _match = match;
        _comparison = match.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (match.Kind == HeaderMatchKind.Regex)
        {
            _regex = RegexFactory.CreateFullMatch(match.Value);
        }
    }

    public bool IsMatch(HttpRequestMessage request) => IsMatch(new HttpRequestView(request));

    public bool IsMatch<TRequest>(in TRequest request)
        where TRequest : struct, IRequestView
    {
        var present = request.TryGetHeader(_match.Name, out var value);
        bool result;
        if (_match.Kind == HeaderMatchKind.Present)
        {
            result = present == _match.PresentMatch;
        }
        else if (!present)
        {
            // An absent header fails every value condition, inverted or not (Envoy's rule).
            return false;
        }
        else
        {
            result = _match.Kind switch
            {
                HeaderMatchKind.Exact => value.Equals(_match.Value, _comparison),
                HeaderMatchKind.Prefix => value.StartsWith(_match.Value, _comparison),
                HeaderMatchKind.Suffix => value.EndsWith(_match.Value, _comparison),
                HeaderMatchKind.Contains => value.Contains(_match.Value, _comparison),
                HeaderMatchKind.Regex => _regex!.IsMatch(value),
                HeaderMatchKind.Range => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    && n >= _match.RangeStart && n < _match.RangeEnd,
                _ => false,
            };
        }

        return result != _match.Invert;
    }
}
