using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Routing.Internal;

/// <summary>The compiled conditions of a route: path and headers. Built once per route and kept across tables.</summary>
internal sealed class RouteMatcher(RouteMatch match, MeshRandom random)
{
    private readonly PathMatcher _path = new(match.Path);
    private readonly HeaderMatcher[] _headers = [.. match.Headers.Select(h => new HeaderMatcher(h))];
    private readonly QueryParameterMatcher[] _query = [.. match.QueryParameters.Select(q => new QueryParameterMatcher(q))];
    private readonly uint? _fraction = match.FractionPerMillion;

    public RouteMatcher(RouteMatch match)
        : this(match, MeshRandom.Shared)
    {
    }

    public bool IsMatch(ReadOnlySpan<char> path, HttpRequestMessage request) => IsMatch(path, new HttpRequestView(request));

    public bool IsMatch<TRequest>(ReadOnlySpan<char> path, in TRequest request)
        where TRequest : struct, IRequestView
    {
        if (!_path.IsMatch(path))
        {
            return false;
        }

        foreach (var header in _headers)
        {
            if (!header.IsMatch(request))
            {
                return false;
            }
        }

        foreach (var parameter in _query)
        {
            if (!parameter.IsMatch(request))
            {
                return false;
            }
        }

        // The fraction is drawn last, as Envoy does, so that it applies to requests the route otherwise matches.
        return _fraction is not { } fraction || random.NextInt64(1_000_000) < fraction;
    }
}

/// <summary>A route ready for the request path: compiled matchers and resolved clusters.</summary>
internal sealed class CompiledRoute
{
    private readonly RouteMatcher _matcher;
    private readonly IReadOnlyDictionary<string, ClusterRuntime>? _sourceClusters;
    private object? _doorSlot;
    private readonly CumulativeWeights? _weights;
    private readonly HashPolicy[] _hashPolicies;

    public CompiledRoute(MeshRoute config, ClusterRuntime[] clusters)
        : this(config, new RouteMatcher(config.Match), clusters)
    {
    }

    public CompiledRoute(MeshRoute config, RouteMatcher matcher, ClusterRuntime[] clusters, IReadOnlyDictionary<string, ClusterRuntime>? sourceClusters = null)
    {
        Config = config;
        _matcher = matcher;
        Clusters = clusters;
        _sourceClusters = sourceClusters;
        if (clusters.Length > 1)
        {
            _weights = new CumulativeWeights([.. config.Clusters.Select(c => c.Weight)]);
        }

        _hashPolicies = [.. config.HashPolicies];
    }

    public MeshRoute Config { get; }

    /// <summary>The route's clusters, in the order of <see cref="MeshRoute.Clusters"/>.</summary>
    public ClusterRuntime[] Clusters { get; }

    public bool IsMatch(ReadOnlySpan<char> path, HttpRequestMessage request) => _matcher.IsMatch(path, new HttpRequestView(request));

    public bool IsMatch<TRequest>(ReadOnlySpan<char> path, in TRequest request)
        where TRequest : struct, IRequestView => _matcher.IsMatch(path, request);

    /// <summary>
    /// The cluster a <see cref="MeshRoute.ClusterHeader"/> route sends <paramref name="request"/> to: the
    /// cluster of the same configuration source that the header names, or <see langword="null"/>.
    /// </summary>
    public ClusterRuntime? ClusterFromHeader<TRequest>(in TRequest request, out string? named)
        where TRequest : struct, IRequestView
    {
        named = null;
        if (Config.ClusterHeader is not { } header || !request.TryGetHeader(header, out var value))
        {
            return null;
        }

        named = value;
        return _sourceClusters is not null && _sourceClusters.TryGetValue(value, out var cluster) ? cluster : null;
    }

    /// <summary>
    /// A slot for what a front door compiles from this route once and keeps with it (the HttpClient door keeps its
    /// resilience pipeline here: see <c>HttpRoutePipeline.For</c>). Routing neither fills nor reads it; being a field
    /// of the route, it is built once per route and goes away with it.
    /// </summary>
    public ref object? DoorSlot => ref _doorSlot;

    /// <summary>The cluster a request goes to: the one the route's cluster header names, or one drawn by weight.</summary>
    public ClusterChoice ChooseCluster<TRequest>(in TRequest request, MeshRandom random)
        where TRequest : struct, IRequestView
    {
        if (Config.ClusterHeader is not null)
        {
            var named = ClusterFromHeader(request, out var name);
            return ClusterChoice.ByHeader(named, name);
        }

        var index = ChooseCluster(random);
        return ClusterChoice.ByWeight(Clusters[index], index);
    }

    /// <summary>Chooses one of the route's clusters by weight and returns its index.</summary>
    public int ChooseCluster(MeshRandom random) => _weights is null ? 0 : _weights.Draw(random);

    /// <summary>Computes the request hash from the route's hash policies (gRFC A42).</summary>
    public PickRequest ComputeHash(HttpRequestMessage request, ulong channelId) => ComputeHash(new HttpRequestView(request), channelId);

    /// <summary>Computes the request hash from the route's hash policies (gRFC A42).</summary>
    public PickRequest ComputeHash<TRequest>(in TRequest request, ulong channelId)
        where TRequest : struct, IRequestView
    {
        var hasHash = false;
        ulong hash = 0;
        foreach (var policy in _hashPolicies)
        {
            ulong? value = policy.Kind switch
            {
                HashPolicyKind.Header => request.TryGetHeader(policy.Name, out var header) ? HashKeys.Hash(header) : null,
                HashPolicyKind.Cookie => request.TryGetHeader("cookie", out var cookies) && Cookies.TryGet(cookies, policy.Name, out var cookie) ? HashKeys.Hash(cookie) : null,
                HashPolicyKind.ChannelId => channelId,
                _ => null,
            };

            if (value is null)
            {
                continue;
            }

            // Combine successive hashes the way Envoy does: rotate the running hash left by one, then xor.
            hash = hasHash ? ((hash << 1) | (hash >> 63)) ^ value.Value : value.Value;
            hasHash = true;
            if (policy.Terminal)
            {
                break;
            }
        }

        return new PickRequest(hash, hasHash);
    }
}

/// <summary>Finds a cookie in a <c>Cookie</c> header without allocating.</summary>
internal static class Cookies
{
    public static bool TryGet(string header, string name, out ReadOnlySpan<char> value)
    {
        var span = header.AsSpan();
        while (!span.IsEmpty)
        {
            var separator = span.IndexOfAny(';', ',');
            var pair = (separator < 0 ? span : span[..separator]).Trim();
            span = separator < 0 ? [] : span[(separator + 1)..];
            var eq = pair.IndexOf('=');
            if (eq > 0 && pair[..eq].Trim().SequenceEqual(name))
            {
                value = pair[(eq + 1)..].Trim().Trim('"');
                return true;
            }
        }

        value = default;
        return false;
    }
}
