using System.Collections.Frozen;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>Which route of the 100-route table the measured request takes.</summary>
public enum RouteTarget
{
    /// <summary>Route 1, exact path <c>/api/v1/login</c>: one comparison.</summary>
    First,

    /// <summary>
    /// Route 50, prefix <c>/api/v1/resource49/</c>, weighted clusters (90 : 10), a header hash policy; route
    /// 49 has the same prefix and a header condition the request does not meet.
    /// </summary>
    Fiftieth,

    /// <summary>Route 100, the catch-all prefix <c>/</c>: every other route is tried first.</summary>
    Last,

    /// <summary>
    /// Route 25, a <c>safe_regex</c> path: the regular expression runs (the table reaches it through its
    /// literal prefix <c>/api/v2/orders/</c>, not by trying the 24 routes before it).
    /// </summary>
    Regex,
}

/// <summary>
/// What the front doors do per request before sending, over a realistic table of 100 routes: match the
/// route, choose the route's cluster, compute the request hash, pick an endpoint. The goal (issue item 13)
/// is at most 200 ns and 0 B per request.
/// </summary>
[MemoryDiagnoser]
public class RouteTableBenchmarks
{
    private const string ServiceName = "shop";

    private static readonly string[] ClusterNames = ["users", "catalog", "orders", "search", "web"];

    private ServiceRouteTable _service = null!;
    private HttpRequestMessage _request = null!;
    private Uri _uri = null!;
    private Metadata _metadata = null!;
    private string _grpcPath = null!;
    private MeshRandom _random = null!;
    private ulong _channelId;
    private MeshRuntime _runtime = null!;

    /// <summary>The route the request takes.</summary>
    [Params(RouteTarget.First, RouteTarget.Fiftieth, RouteTarget.Last, RouteTarget.Regex)]
    public RouteTarget Target { get; set; }

    /// <summary>Publishes the 100-route service into a runtime and builds the request for <see cref="Target"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _random = MeshRandom.Shared;
        _runtime = new MeshRuntime(_random);
        var table = _runtime.Tables.Publish(Snapshot());
        _service = table.Services[ServiceName];
        _channelId = _random.NextUInt64();

        var (pathAndQuery, expectedIndex) = Target switch
        {
            RouteTarget.First => ("/api/v1/login", 0),
            RouteTarget.Fiftieth => ("/api/v1/resource49/items/7?expand=true", 49),
            RouteTarget.Last => ("/static/js/app.3f2a91.js", 99),
            _ => ("/api/v2/orders/1234567/items", 24),
        };

        // Headers set once, the way application code sets them (validated Add); none is x-canary.
        _uri = new Uri("http://" + ServiceName + pathAndQuery);
        _request = new HttpRequestMessage(HttpMethod.Get, _uri);
        _request.Headers.Add("x-user-id", "u-5f0c3a9e");
        _request.Headers.Add("x-tenant", "acme");
        _request.Headers.Add("accept", "application/json");

        // The gRPC front door matches the call's method path against the same kind of table; the same
        // paths are used here (a string either way), with the headers as call metadata.
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        _grpcPath = query < 0 ? pathAndQuery : pathAndQuery[..query];
        _metadata = new Metadata
        {
            { "x-user-id", "u-5f0c3a9e" },
            { "x-tenant", "acme" },
        };

        // The request must take the intended route through both views, and pick, or the figures measure nothing.
        var path = Path(_uri);
        var httpIndex = _service.MatchIndex(path, new HttpRequestView(_request));
        var grpcIndex = _service.MatchIndex(_grpcPath, new GrpcRequestView(_metadata));
        if (httpIndex != expectedIndex || grpcIndex != expectedIndex)
        {
            throw new InvalidOperationException($"{Target}: {pathAndQuery} took route {httpIndex} (HttpClient) / {grpcIndex} (gRPC), expected {expectedIndex}.");
        }

        if (HttpMatchAndPick() is null || GrpcMatchAndPick() is null)
        {
            throw new InvalidOperationException($"{Target}: no endpoint picked.");
        }

        if (Target == RouteTarget.Fiftieth && !_service.Routes[49].ComputeHash(new HttpRequestView(_request), _channelId).HasHash)
        {
            throw new InvalidOperationException("Route 50 computed no hash from x-user-id.");
        }
    }

    /// <summary>Disposes the request and the runtime.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _request.Dispose();
        _runtime.Dispose();
    }

    /// <summary>Route matching alone, HttpClient view (the path span of the cached <c>PathAndQuery</c>).</summary>
    [Benchmark(Description = "HttpClient: match only")]
    public int HttpMatchOnly() => _service.MatchIndex(Path(_uri), new HttpRequestView(_request));

    /// <summary>
    /// What <c>MeshHttpHandler</c> does before sending: path span, route match, cluster choice, request hash,
    /// endpoint pick.
    /// </summary>
    [Benchmark(Baseline = true, Description = "HttpClient: match + choose + hash + pick")]
    public object? HttpMatchAndPick()
    {
        var route = _service.Match(Path(_uri), _request)!;
        var cluster = route.Clusters[route.ChooseCluster(_random)];
        var hash = route.ComputeHash(new HttpRequestView(_request), _channelId);
        return cluster.Pick(hash);
    }

    /// <summary>
    /// What the HttpClient door does per attempt since the request core: route match, then
    /// <see cref="RouteDecision.Decide{TRequest}"/> (cluster choice, circuit-breaker slot, hash, pick avoiding the
    /// previous endpoint), then the slot given back.
    /// </summary>
    [Benchmark(Description = "HttpClient: match + route decision (the door)")]
    public object? HttpMatchAndDecide()
    {
        var route = _service.Match(Path(_uri), _request)!;
        var decision = RouteDecision.Decide(route, new HttpRequestView(_request), _random, _channelId, previous: null);
        if (decision.Endpoint is not null)
        {
            decision.Cluster!.State.Release();
        }

        return decision.Endpoint;
    }

    /// <summary>
    /// The same over the gRPC view: the interceptor's <c>MatchIndex(method path, metadata)</c>, then cluster
    /// choice, hash and pick. (A gRPC channel then picks a subchannel through its own picker; the cluster
    /// pick stands in for it.)
    /// </summary>
    [Benchmark(Description = "gRPC: match + choose + hash + pick")]
    public object? GrpcMatchAndPick()
    {
        var view = new GrpcRequestView(_metadata);
        var route = _service.Routes[_service.MatchIndex(_grpcPath, view)];
        var cluster = route.Clusters[route.ChooseCluster(_random)];
        var hash = route.ComputeHash(view, _channelId);
        return cluster.Pick(hash);
    }

    /// <summary>The path without the query, as <c>MeshHttpHandler.SendToMeshAsync</c> takes it (Uri caches <c>PathAndQuery</c>).</summary>
    private static ReadOnlySpan<char> Path(Uri uri)
    {
        var pathAndQuery = uri.PathAndQuery;
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? pathAndQuery.AsSpan() : pathAndQuery.AsSpan(0, query);
    }

    /// <summary>One service of 100 routes over 5 round_robin clusters of 10 endpoints.</summary>
    private static MeshSnapshot Snapshot()
    {
        var clusters = new Dictionary<string, MeshCluster>(StringComparer.OrdinalIgnoreCase);
        for (var c = 0; c < ClusterNames.Length; c++)
        {
            var endpoints = new List<MeshEndpoint>();
            for (var e = 0; e < 10; e++)
            {
                endpoints.Add(new MeshEndpoint { Host = string.Create(CultureInfo.InvariantCulture, $"10.0.{c}.{e + 1}"), Port = 8080 });
            }

            clusters[ClusterNames[c]] = new MeshCluster
            {
                Name = ClusterNames[c],
                LoadBalancing = RoundRobinPolicy.Instance,
                Priorities = [new MeshPriority([new MeshLocality { Name = LocalityName.Default, Endpoints = endpoints }])],
            };
        }

        var service = new MeshService { Name = ServiceName, Routes = Routes() };
        return new MeshSnapshot
        {
            Version = "1",
            Source = "bench",
            Services = new Dictionary<string, MeshService>(StringComparer.OrdinalIgnoreCase) { [ServiceName] = service }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            Clusters = clusters.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        };
    }

    /// <summary>
    /// The 100 routes, in match order. Route numbers below count from 0:
    /// 0 exact <c>/api/v1/login</c>; 24, 63, 84 <c>safe_regex</c> paths; 99 the catch-all prefix <c>/</c>;
    /// otherwise by the last digit of the number i: 5 exact <c>/api/v1/resource{i}/summary</c>;
    /// 8 prefix <c>/api/v1/resource{i+1}/</c> with header <c>x-canary: true</c> (the canary of the next route);
    /// 9 prefix <c>/api/v1/resource{i}/</c>, weighted clusters 90 : 10 and a hash policy on <c>x-user-id</c>;
    /// 2 prefix <c>/api/v1/resource{i}/</c> with header <c>x-tenant</c> present; other digits a plain prefix
    /// <c>/api/v1/resource{i}/</c>. In all: 3 regex, 11 exact, 86 prefix routes (1 catch-all); 20 with a header
    /// condition; 9 with weighted clusters.
    /// </summary>
    private static List<MeshRoute> Routes()
    {
        var routes = new List<MeshRoute>(100);
        for (var i = 0; i < 100; i++)
        {
            var one = new[] { new WeightedCluster(ClusterNames[i % 4]) };
            var resource = string.Create(CultureInfo.InvariantCulture, $"/api/v1/resource{i}/");
            MeshRoute route = i switch
            {
                0 => Route(i, PathMatchKind.Exact, "/api/v1/login", [new WeightedCluster("users")]),
                24 => Route(i, PathMatchKind.Regex, "/api/v2/orders/[0-9]+/items(/[0-9]+)?", [new WeightedCluster("orders")]),
                63 => Route(i, PathMatchKind.Regex, "/api/v2/users/[a-z0-9-]+/avatar", [new WeightedCluster("users")]),
                84 => Route(i, PathMatchKind.Regex, "/api/v2/catalog/[a-z]+/[0-9]+", [new WeightedCluster("catalog")]),
                99 => Route(i, PathMatchKind.Prefix, "/", [new WeightedCluster("web")]),
                _ when i % 10 == 5 => Route(i, PathMatchKind.Exact, resource + "summary", one),
                _ when i % 10 == 8 => Route(
                    i,
                    PathMatchKind.Prefix,
                    string.Create(CultureInfo.InvariantCulture, $"/api/v1/resource{i + 1}/"),
                    [new WeightedCluster("search")],
                    headers: [new HeaderMatch { Name = "x-canary", Kind = HeaderMatchKind.Exact, Value = "true" }]),
                _ when i % 10 == 9 => Route(i, PathMatchKind.Prefix, resource, [new WeightedCluster("catalog", 90), new WeightedCluster("search", 10)]) with
                {
                    HashPolicies = [new HashPolicy(HashPolicyKind.Header, "x-user-id")],
                },
                _ when i % 10 == 2 => Route(i, PathMatchKind.Prefix, resource, one, headers: [new HeaderMatch { Name = "x-tenant", Kind = HeaderMatchKind.Present }]),
                _ => Route(i, PathMatchKind.Prefix, resource, one),
            };
            routes.Add(route);
        }

        return routes;
    }

    private static MeshRoute Route(int index, PathMatchKind kind, string path, WeightedCluster[] clusters, HeaderMatch[]? headers = null) => new()
    {
        Name = string.Create(CultureInfo.InvariantCulture, $"route-{index}"),
        Match = new RouteMatch { Path = new PathMatch(kind, path), Headers = headers ?? [] },
        Clusters = clusters,
    };
}
