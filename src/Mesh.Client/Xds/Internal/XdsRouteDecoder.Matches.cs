using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Mesh.Client.Model;
using static Mesh.Client.Xds.Internal.XdsResourceDecoder;
using MeshHeaderMatch = Mesh.Client.Model.HeaderMatch;
using RegexFactory = Mesh.Client.Routing.Internal.RegexFactory;
using XdsRouteMatch = Envoy.Config.Route.V3.RouteMatch;

namespace Mesh.Client.Xds.Internal;

// The route match: path, headers, query parameters and the runtime fraction.
internal static partial class XdsRouteDecoder
{
    /// <returns>The path condition, or <see langword="null"/> when the route is to be left out or is invalid.</returns>
    private static PathMatch? DecodePathMatch(XdsRouteMatch match, string path, List<string> errors)
    {
        var caseSensitive = match.CaseSensitive ?? true;
        switch (match.PathSpecifierCase)
        {
            case XdsRouteMatch.PathSpecifierOneofCase.Prefix:
                return new PathMatch(PathMatchKind.Prefix, match.Prefix, caseSensitive);
            case XdsRouteMatch.PathSpecifierOneofCase.Path:
                return new PathMatch(PathMatchKind.Exact, match.Path, caseSensitive);
            case XdsRouteMatch.PathSpecifierOneofCase.SafeRegex:
                var pattern = match.SafeRegex.Regex;
                return ValidateRegex(pattern, Field(path, "safe_regex"), errors)
                    ? new PathMatch(PathMatchKind.Regex, pattern, caseSensitive)
                    : null;
            case XdsRouteMatch.PathSpecifierOneofCase.None:
                // gRFC A28: a route without a path specifier is invalid; NACKing keeps the last good table
                // instead of letting requests fall through to a route nobody meant for them.
                errors.Add($"{path}: no path specifier; expected prefix, path or safe_regex");
                return null;
            default:
                errors.Add($"{path}: path specifier {match.PathSpecifierCase} is not supported; expected prefix, path or safe_regex");
                return null;
        }
    }

    private static MeshHeaderMatch? DecodeHeaderMatch(HeaderMatcher header, string path, List<string> errors)
    {
        if (header.Name.Length == 0)
        {
            AddError(errors, Field(path, "name"), "must be non-empty");
            return null;
        }

        // A "-bin" header name is allowed: such a matcher simply never matches (gRFC A28).
        var match = new MeshHeaderMatch { Name = header.Name, Kind = HeaderMatchKind.Exact, Invert = header.InvertMatch };
        switch (header.HeaderMatchSpecifierCase)
        {
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch:
                return match with { Kind = HeaderMatchKind.Exact, Value = header.ExactMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch:
                return match with { Kind = HeaderMatchKind.Prefix, Value = header.PrefixMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch:
                return match with { Kind = HeaderMatchKind.Suffix, Value = header.SuffixMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch:
                return match with { Kind = HeaderMatchKind.Contains, Value = header.ContainsMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch:
                return match with { Kind = HeaderMatchKind.Present, PresentMatch = header.PresentMatch };
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch:
                return ValidateRegex(header.SafeRegexMatch.Regex, Field(path, "safe_regex_match"), errors)
                    ? match with { Kind = HeaderMatchKind.Regex, Value = header.SafeRegexMatch.Regex }
                    : null;
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.RangeMatch:
                return DecodeRange(header.RangeMatch, Field(path, "range_match"), errors) is { } range
                    ? match with { Kind = HeaderMatchKind.Range, RangeStart = range.Start, RangeEnd = range.End }
                    : null;
            case HeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch:
                return DecodeStringMatch(header.StringMatch, match, Field(path, "string_match"), errors);
            default:
                AddError(errors, path, "no header match specifier set");
                return null;
        }
    }

    private static MeshHeaderMatch? DecodeStringMatch(StringMatcher matcher, MeshHeaderMatch match, string path, List<string> errors) =>
        // ignore_case is carried for every kind; for safe_regex it has no effect (Envoy's definition, which
        // the header matcher follows), where gRPC C-core would match the pattern case-insensitively.
        DecodeStringMatcher(matcher, path, errors) is { } decoded
            ? match with { Kind = decoded.Kind, Value = decoded.Value, IgnoreCase = decoded.IgnoreCase }
            : null;

    /// <summary>A StringMatcher (gRFC A63) as a kind, a value and whether case is ignored.</summary>
    private static (HeaderMatchKind Kind, string Value, bool IgnoreCase)? DecodeStringMatcher(StringMatcher matcher, string path, List<string> errors)
    {
        switch (matcher.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                return (HeaderMatchKind.Exact, matcher.Exact, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Prefix:
                return (HeaderMatchKind.Prefix, matcher.Prefix, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Suffix:
                return (HeaderMatchKind.Suffix, matcher.Suffix, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.Contains:
                return (HeaderMatchKind.Contains, matcher.Contains, matcher.IgnoreCase);
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                return ValidateRegex(matcher.SafeRegex.Regex, Field(path, "safe_regex"), errors)
                    ? (HeaderMatchKind.Regex, matcher.SafeRegex.Regex, matcher.IgnoreCase)
                    : null;
            default:
                // Includes the custom (extension) matcher, which our protos leave as an unknown field.
                AddError(errors, path, "no supported match pattern set (expected exact, prefix, suffix, contains or safe_regex)");
                return null;
        }
    }

    /// <summary>A query-parameter condition (Envoy's QueryParameterMatcher; HttpClient requests only).</summary>
    private static QueryParameterMatch? DecodeQueryParameter(QueryParameterMatcher matcher, string path, List<string> errors)
    {
        if (matcher.Name.Length == 0)
        {
            AddError(errors, Field(path, "name"), "must be non-empty");
            return null;
        }

        switch (matcher.QueryParameterMatchSpecifierCase)
        {
            case QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.StringMatch:
                return DecodeStringMatcher(matcher.StringMatch, Field(path, "string_match"), errors) is { } decoded
                    ? new QueryParameterMatch { Name = matcher.Name, Kind = decoded.Kind, Value = decoded.Value, IgnoreCase = decoded.IgnoreCase }
                    : null;
            case QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch when !matcher.PresentMatch:
                // Envoy matches a request *without* the parameter here; the model has no absence condition, and
                // reading it as a presence check would route exactly the wrong requests.
                AddError(errors, Field(path, "present_match"), "false (the parameter must be absent) is not supported; only presence can be required");
                return null;
            default:
                // present_match: true, or no specifier at all, which Envoy also treats as a presence check.
                return new QueryParameterMatch { Name = matcher.Name, Kind = HeaderMatchKind.Present };
        }
    }

    private static (long Start, long End)? DecodeRange(Int64Range range, string path, List<string> errors)
    {
        if (range.Start > range.End)
        {
            AddError(errors, path, FormattableString.Invariant($"start ({range.Start}) must not be greater than end ({range.End})"));
            return null;
        }

        return (range.Start, range.End);
    }

    private static uint? DecodeRuntimeFraction(XdsRouteMatch match, string path, List<string> errors) =>
        // Only default_value counts: a proxyless client has no runtime to look runtime_key up in.
        match.RuntimeFraction?.DefaultValue is { } fraction
            ? ToPerMillion(fraction, Field(path, "runtime_fraction.default_value"), errors)
            : null;

    private static bool ValidateRegex(string pattern, string path, List<string> errors)
    {
        if (RegexFactory.Validate(pattern) is { } error)
        {
            AddError(errors, path, $"invalid regular expression \"{pattern}\": {error}");
            return false;
        }

        return true;
    }
}
