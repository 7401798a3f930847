using System.Collections.Frozen;
using Mesh.Client.Model;

namespace Mesh.Client.Routing.Internal;

/// <summary>
/// The compiled route table of one service; the first matching route wins. Routes whose path condition is a
/// literal (prefixes, exact paths; case-sensitive) hang in a tree of path segments at the deepest segment
/// their literal pins; each node keeps, in table order, its own routes and those of every node above it
/// (the root holds routes that may match any path: regular expressions, case-insensitive or short prefixes,
/// the catch-all). A request walks the tree by its own path segments and tries only the routes of the node
/// where the walk ends — a handful even in a table of hundreds — still in table order.
/// </summary>
internal sealed class ServiceRouteTable
{
    private readonly Node _root;
    private object? _doorSlot;

    public ServiceRouteTable(MeshService config, CompiledRoute[] routes)
    {
        Config = config;
        Routes = routes;
        var root = new Builder();
        for (var i = 0; i < routes.Length; i++)
        {
            var node = root;
            foreach (var segment in PinnedSegments(routes[i].Config.Match.Path))
            {
                node = node.Child(segment);
            }

            node.Routes.Add(i);
        }

        _root = root.Build([]);
    }

    public MeshService Config { get; }

    public string Name => Config.Name;

    /// <summary>
    /// A slot for what a front door makes for this service once and keeps with it (the HttpClient door keeps its
    /// span names here: see <c>HttpSpanNames.For</c>). Routing neither fills nor reads it; being a field of the
    /// table, it is built once per table and goes away with it.
    /// </summary>
    public ref object? DoorSlot => ref _doorSlot;

    public CompiledRoute[] Routes { get; }

    public CompiledRoute? Match(ReadOnlySpan<char> path, HttpRequestMessage request)
    {
        var index = MatchIndex(path, new HttpRequestView(request));
        return index < 0 ? null : Routes[index];
    }

    public int MatchIndex(ReadOnlySpan<char> path, HttpRequestMessage request) => MatchIndex(path, new HttpRequestView(request));

    /// <summary>The index of the first route that matches, or -1.</summary>
    public int MatchIndex<TRequest>(ReadOnlySpan<char> path, in TRequest request)
        where TRequest : struct, IRequestView
    {
        // Walk down by the request's segments as far as the tree goes.
        var node = _root;
        if (!path.IsEmpty && path[0] == '/')
        {
            var rest = path[1..];
            while (node.Children is { } children)
            {
                var end = rest.IndexOf('/');
                var segment = end < 0 ? rest : rest[..end];
                if (!children.TryGetValue(segment, out var child))
                {
                    break;
                }

                node = child;
                if (end < 0)
                {
                    break;
                }

                rest = rest[(end + 1)..];
            }
        }

        var routes = Routes;
        foreach (var index in node.Candidates)
        {
            if (routes[index].IsMatch(path, request))
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>
    /// The path segments every path the condition matches must begin with; none when it may match paths
    /// of any first segment.
    /// </summary>
    private static List<string> PinnedSegments(PathMatch match)
    {
        var segments = new List<string>();

        // A regular expression matches the whole path, so the literal text it starts with is a prefix of
        // every path it matches: "/api/v2/orders/[0-9]+" pins "api", "v2" and "orders" like a prefix would.
        var kind = match.Kind;
        var literal = kind == PathMatchKind.Regex ? RegexLiteralPrefix(match.Value) : match.Value;
        if (kind == PathMatchKind.Regex)
        {
            kind = PathMatchKind.Prefix;
        }

        if (!match.CaseSensitive || !literal.StartsWith('/'))
        {
            return segments;
        }

        var parts = literal[1..].Split('/');

        // A prefix pins only the segments it completes ("/api/v1/res" pins "api" and "v1", "/api" pins
        // nothing: it also matches "/apix"); an exact path pins all of its segments.
        var complete = kind == PathMatchKind.Exact ? parts.Length : parts.Length - 1;
        for (var i = 0; i < complete; i++)
        {
            segments.Add(parts[i]);
        }

        return segments;
    }

    /// <summary>
    /// The literal characters every match of <paramref name="pattern"/> begins with: those before its first
    /// metacharacter, less one made optional by a following quantifier; empty when the pattern has a
    /// top-level alternation (then no text is common to all its matches).
    /// </summary>
    internal static string RegexLiteralPrefix(string pattern)
    {
        // A '|' outside every group and character class splits the whole pattern into alternatives.
        var depth = 0;
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    i++;
                    break;
                case '[' when !inClass:
                    inClass = true;
                    if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                    {
                        i++; // "[]...]": a leading ']' is a member of the class.
                    }

                    break;
                case ']' when inClass:
                    inClass = false;
                    break;
                case '(' when !inClass:
                    depth++;
                    break;
                case ')' when !inClass:
                    depth--;
                    break;
                case '|' when !inClass && depth == 0:
                    return string.Empty;
            }
        }

        var length = 0;
        while (length < pattern.Length && !"\\^$.|?*+()[]{}".Contains(pattern[length], StringComparison.Ordinal))
        {
            length++;
        }

        // "?", "*" and "{0,n}" may repeat the last literal zero times; "+" needs it at least once.
        if (length < pattern.Length && length > 0 && pattern[length] is '?' or '*' or '{')
        {
            length--;
        }

        return pattern[..length];
    }

    private sealed class Node(int[] candidates, FrozenDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>>? children)
    {
        /// <summary>The routes that may match a path whose walk ends here, ascending.</summary>
        public int[] Candidates { get; } = candidates;

        public FrozenDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>>? Children { get; } = children;
    }

    private sealed class Builder
    {
        private readonly Dictionary<string, Builder> _children = new(StringComparer.Ordinal);

        public List<int> Routes { get; } = [];

        public Builder Child(string segment)
        {
            if (!_children.TryGetValue(segment, out var child))
            {
                _children[segment] = child = new Builder();
            }

            return child;
        }

        public Node Build(IEnumerable<int> inherited)
        {
            var candidates = inherited.Concat(Routes).Order().ToArray();
            if (_children.Count == 0)
            {
                return new Node(candidates, null);
            }

            var children = _children.ToFrozenDictionary(c => c.Key, c => c.Value.Build(candidates), StringComparer.Ordinal);
            return new Node(candidates, children.GetAlternateLookup<ReadOnlySpan<char>>());
        }
    }
}
