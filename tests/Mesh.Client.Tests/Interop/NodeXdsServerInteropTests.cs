using Grpc.Core;
using Mesh.Client.Grpc;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static Mesh.Client.Tests.Interop.EnvoyJson;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// Our client against an xDS server that is not ours: tests/interop/node/xds-server.js, whose resources protobufjs
/// encodes from the upstream Envoy protos shipped with @grpc/grpc-js-xds. Our client must ACK every type, and gRPC
/// calls and HttpClient requests through the mesh must reach the Kestrel echo backends the resources name.
/// </summary>
[Collection(InteropCollection.Name)]
public class NodeXdsServerInteropTests(ITestOutputHelper output)
{
    private const string Target = "echo.interop.svc.cluster.local:7070";
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task RdsWithHeaderMatchAndWeightedClusters_RoundRobinAndRingHash_BothFrontDoorsReachTheRightBackends()
    {
        // Arrange: fault filter then router; x-canary: yes → ring_hash cluster hashed on x-user (backends 2, 3);
        // everything else → 3:1 split between a round_robin cluster (0, 1) and a one-backend cluster (4).
        await using var server = await NodeXdsServer.StartAsync();
        await using var backends = await Backends.StartAsync(5, "node");
        var versions = await server.UpdateAsync([
            RdsListener(Target, "echo-routes", FaultFilter, RouterFilter),
            Routes("echo-routes", Target,
                """
                { "name": "canary",
                  "match": { "prefix": "/", "headers": [ { "name": "x-canary", "string_match": { "exact": "yes" } } ] },
                  "route": { "cluster": "canary", "hash_policy": [ { "header": { "header_name": "x-user" } } ] } }
                """,
                """
                { "name": "split",
                  "match": { "prefix": "/" },
                  "route": { "weighted_clusters": { "clusters": [
                    { "name": "stable", "weight": { "value": 3 } },
                    { "name": "spare", "weight": { "value": 1 } } ] } } }
                """),
            EdsCluster("stable"),
            EdsCluster("canary", """
                "lb_policy": "RING_HASH",
                "ring_hash_lb_config": { "minimum_ring_size": { "value": 64 }, "maximum_ring_size": { "value": 4096 }, "hash_function": "XX_HASH" }
                """),
            EdsCluster("spare"),
            Endpoints("stable", Locality("zone-a", 1, 0, "HEALTHY", backends[0].Address, backends[1].Address)),
            Endpoints("canary", Locality("zone-a", 1, 0, "HEALTHY", backends[2].Address, backends[3].Address)),
            Endpoints("spare", Locality("zone-b", 1, 0, "UNKNOWN", backends[4].Address)),
        ]);
        await using var client = await ClientAsync(server);

        // Act: 40 calls through each front door on the split route, then 20 users twice each on the canary route.
        var split = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            split.Add(await client.GrpcAsync());
            split.Add(await client.HttpAsync());
        }

        var canaryGrpc = new Dictionary<string, string>();
        var canaryHttp = new Dictionary<string, string>();
        for (var user = 0; user < 20; user++)
        {
            var headers = new[] { ("x-canary", "yes"), ("x-user", $"user-{user}") };
            canaryGrpc[$"user-{user}"] = await client.GrpcAsync(headers);
            Assert.Equal(canaryGrpc[$"user-{user}"], await client.GrpcAsync(headers));
            canaryHttp[$"user-{user}"] = await client.HttpAsync(headers);
            Assert.Equal(canaryHttp[$"user-{user}"], await client.HttpAsync(headers));
        }

        // Assert
        await AssertAckedAsync(server, versions);
        output.WriteLine($"split: {Count(split)}; canary: {Count(canaryGrpc.Values)}");

        // A 3:1 split of 80 requests misses the 1-in-4 cluster with probability 0.75^80 < 1e-9.
        Assert.Equal([backends[0].Name, backends[1].Name, backends[4].Name], split.Distinct().Order());

        // Each user sticks to one backend, the same through both front doors (one ring, one hash: gRFC A42).
        Assert.All(canaryGrpc.Values, b => Assert.Contains(b, new[] { backends[2].Name, backends[3].Name }));
        Assert.Equal(canaryGrpc, canaryHttp);

        // 20 users all hashing to one of two backends: probability 2^-19.
        Assert.Equal(2, canaryGrpc.Values.Distinct().Count());
    }

    [Fact]
    public async Task WrrLocalityPolicy_TwoLocalitiesAndTwoPriorities_BalancesPriorityZeroThenFailsOver()
    {
        // Arrange: inline routes; load_balancing_policy wrr_locality(round_robin); priority 0 has zone-a (backend 0)
        // and zone-b (backend 1), priority 1 has zone-c (backend 2).
        await using var server = await NodeXdsServer.StartAsync();
        await using var backends = await Backends.StartAsync(3, "tier");
        var routes = Routes("inline", Target, """{ "match": { "prefix": "/" }, "route": { "cluster": "tiered" } }""");
        var versions = await server.UpdateAsync([
            InlineListener(Target, routes, FaultFilter, RouterFilter),
            EdsCluster("tiered", WrrLocalityRoundRobin),
            Endpoints("tiered",
                Locality("zone-a", 1, 0, "HEALTHY", backends[0].Address),
                Locality("zone-b", 1, 0, "HEALTHY", backends[1].Address),
                Locality("zone-c", 1, 1, "HEALTHY", backends[2].Address)),
        ]);
        await using var client = await ClientAsync(server);

        // Act
        var before = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            before.Add(await client.GrpcAsync());
            before.Add(await client.HttpAsync());
        }

        // Priority 0 goes unhealthy: traffic fails over to priority 1.
        var failover = await server.UpdateAsync([
            Endpoints("tiered",
                Locality("zone-a", 1, 0, "UNHEALTHY", backends[0].Address),
                Locality("zone-b", 1, 0, "DRAINING", backends[1].Address),
                Locality("zone-c", 1, 1, "HEALTHY", backends[2].Address)),
        ]);
        await Wait.UntilAsync(async () => await client.GrpcAsync() == backends[2].Name, "gRPC calls to fail over to priority 1");
        var after = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            after.Add(await client.GrpcAsync());
            after.Add(await client.HttpAsync());
        }

        // Assert
        await AssertAckedAsync(server, versions);
        await AssertAckedAsync(server, failover);
        output.WriteLine($"before: {Count(before)}; after: {Count(after)}");

        // Localities of equal weight, round robin inside: both priority-0 backends answer, priority 1 never.
        Assert.Equal([backends[0].Name, backends[1].Name], before.Distinct().Order());
        Assert.All(after, b => Assert.Equal(backends[2].Name, b));
    }

    [Fact]
    public async Task AggregateCluster_EdsThenLogicalDns_GrpcUsesTheFirstChildWithEndpoints()
    {
        // Arrange: aggregate [primary (EDS, no endpoints yet), fallback (LOGICAL_DNS 127.0.0.1:backend 1)].
        await using var server = await NodeXdsServer.StartAsync();
        await using var backends = await Backends.StartAsync(2, "agg");
        var versions = await server.UpdateAsync(AggregateMesh(backends));
        await using var client = await ClientAsync(server);

        // Act + Assert: the fallback serves while the primary is empty; endpoints in the primary take over.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(backends[1].Name, await client.GrpcAsync());
        }

        var filled = await server.UpdateAsync([Endpoints("primary", Locality("zone-a", 1, 0, "HEALTHY", backends[0].Address))]);
        await Wait.UntilAsync(async () => await client.GrpcAsync() == backends[0].Name, "calls to move to the primary cluster");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(backends[0].Name, await client.GrpcAsync());
        }

        await AssertAckedAsync(server, versions);
        await AssertAckedAsync(server, filled);
    }

    /// <summary>
    /// Bug (src/Mesh.Client/Xds/Internal/XdsTargetWatcher.cs, BuildCluster): an aggregate cluster takes its
    /// upstream protocol from the aggregate resource, which has no protocol options, instead of from the child
    /// clusters that hold the endpoints (here HTTP/2 explicitly, on h2c-only backends). The HttpClient front door
    /// then speaks HTTP/1.1 and Kestrel answers 400.
    /// </summary>
    [Fact]
    public async Task AggregateCluster_ChildClustersSpeakHttp2_HttpClientUsesTheChildProtocol()
    {
        await using var server = await NodeXdsServer.StartAsync();
        await using var backends = await Backends.StartAsync(2, "agg");
        var versions = await server.UpdateAsync(AggregateMesh(backends));
        await using var client = await ClientAsync(server);

        Assert.Equal(backends[1].Name, await client.GrpcAsync());
        await AssertAckedAsync(server, versions);
        Assert.Equal(backends[1].Name, await client.HttpAsync());
    }

    [Fact]
    public async Task InvalidResourcesOfEveryType_AreNackedAndTheLastGoodConfigKeepsServing()
    {
        // Arrange
        await using var server = await NodeXdsServer.StartAsync();
        await using var backends = await Backends.StartAsync(2, "nack");
        var good = await server.UpdateAsync([
            RdsListener(Target, "nack-routes", RouterFilter),
            Routes("nack-routes", Target, """{ "match": { "prefix": "/" }, "route": { "cluster": "nack" } }"""),
            EdsCluster("nack"),
            Endpoints("nack", Locality("zone-a", 1, 0, "HEALTHY", backends[0].Address)),
        ]);
        await using var client = await ClientAsync(server);
        Assert.Equal(backends[0].Name, await client.GrpcAsync());
        await AssertAckedAsync(server, good);

        // Act + Assert: one invalid resource per type, each NACKed with the field named, none taking effect.
        (string Resource, string Field)[] invalid =
        [
            (RdsListener(Target, "nack-routes", RouterFilter, FaultFilter), "router filter"),
            (Routes("nack-routes", Target, """{ "match": { "safe_regex": { "regex": "/mesh.samples.Echo/(" } }, "route": { "cluster": "nack" } }"""), "safe_regex"),
            (EdsCluster("nack", """
                "lb_policy": "RING_HASH", "ring_hash_lb_config": { "minimum_ring_size": { "value": 4096 }, "maximum_ring_size": { "value": 1024 } }
                """), "minimum_ring_size"),
            (Endpoints("nack", Locality("zone-a", 1, 0, "HEALTHY", backends[1].Address), Locality("zone-b", 1, 2, "HEALTHY", backends[0].Address)), "priorities must be contiguous"),
        ];
        foreach (var (resource, field) in invalid)
        {
            var versions = await server.UpdateAsync([resource]);
            var (type, version) = versions.Single();
            var nack = await server.WaitForNackAsync(type, version);
            Assert.True(nack.Error?.Contains(field, StringComparison.Ordinal) == true, $"the NACK should name '{field}': {nack}");
            Assert.Equal(backends[0].Name, await client.GrpcAsync());
            Assert.Equal(backends[0].Name, await client.HttpAsync());
        }

        // A valid update of every type is ACKed and followed.
        var fixedUp = await server.UpdateAsync([
            RdsListener(Target, "nack-routes", FaultFilter, RouterFilter),
            Routes("nack-routes", Target, """{ "match": { "safe_regex": { "regex": "/mesh\\.samples\\.Echo/.*|/whoami" } }, "route": { "cluster": "nack" } }"""),
            EdsCluster("nack"),
            Endpoints("nack", Locality("zone-a", 1, 0, "HEALTHY", backends[1].Address)),
        ]);
        await AssertAckedAsync(server, fixedUp);
        await Wait.UntilAsync(async () => await client.GrpcAsync() == backends[1].Name, "calls to follow the valid update");
        Assert.Equal(backends[1].Name, await client.HttpAsync());
    }

    [Fact]
    public async Task NodeServer_MisspeltFieldOrUnloadedAnyType_RejectsTheResourceInsteadOfSendingItHalfEmpty()
    {
        // The pitfalls of protobufjs' fromObject (a misspelt field or an Any of a type not loaded is dropped
        // silently) must not reach a test: the server refuses such resources.
        await using var server = await NodeXdsServer.StartAsync();

        var misspelt = await server.UpdateExpectingRejectionAsync(EdsCluster("c").Replace("\"lb_policy\"", "\"lb_polcy\"", StringComparison.Ordinal));
        var unloaded = await server.UpdateExpectingRejectionAsync(RdsListener(Target, "r", """{ "name": "lua", "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua" } }"""));
        var badEnum = await server.UpdateExpectingRejectionAsync(EdsCluster("c", "\"lb_policy\": \"ROUND_ROBBIN\""));

        Assert.Contains("has no field 'lb_polcy'", misspelt, StringComparison.Ordinal);
        Assert.Contains("envoy.extensions.filters.http.lua.v3.Lua is not loaded", unloaded, StringComparison.Ordinal);
        Assert.Contains("ROUND_ROBBIN is not a value", badEnum, StringComparison.Ordinal);
    }

    private static string[] AggregateMesh(Backends backends) =>
    [
        RdsListener(Target, "agg-routes", RouterFilter),
        Routes("agg-routes", Target, """{ "match": { "prefix": "/" }, "route": { "cluster": "aggregate" } }"""),
        AggregateCluster("aggregate", "primary", "fallback"),
        EdsCluster("primary"),
        LogicalDnsCluster("fallback", backends[1].Address),
        Endpoints("primary"),
    ];

    private static async Task<MeshClient> ClientAsync(NodeXdsServer server)
    {
        var host = await MeshHost.StartAsync(XdsMesh.AppSettings(InteropBootstrap.Create(server.ServerUri, "mesh-client-interop")));
        return new MeshClient(host, server);
    }

    private static async Task AssertAckedAsync(NodeXdsServer server, IReadOnlyDictionary<string, string> versions)
    {
        foreach (var (type, version) in versions)
        {
            await server.WaitForAckAsync(type, version);
        }

        var nacks = server.Requests.Where(r => r.Kind == "nack" && versions.TryGetValue(r.TypeUrl, out var v) && r.ResponseVersion == v).ToList();
        Assert.True(nacks.Count == 0, $"NACKs of versions that were also expected to be ACKed:\n{string.Join('\n', nacks)}");
    }

    private static string Count(IEnumerable<string> backends) =>
        string.Join(", ", backends.GroupBy(b => b).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}"));

    /// <summary>A client host configured by a bootstrap naming the node server, with both front doors to <see cref="Target"/>.</summary>
    private sealed class MeshClient(MeshHost host, NodeXdsServer server) : IAsyncDisposable
    {
        private readonly global::Grpc.Net.Client.GrpcChannel _channel = MeshGrpc.CreateChannel("xds:///" + Target, host.Services);
        private readonly HttpClient _http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        /// <summary>One gRPC call; returns the backend that answered.</summary>
        public async Task<string> GrpcAsync(params (string Name, string Value)[] headers)
        {
            var metadata = new Metadata();
            foreach (var (name, value) in headers)
            {
                metadata.Add(name, value);
            }

            try
            {
                var reply = await new Echo.EchoClient(_channel).HelloAsync(new HelloRequest { Name = "interop" }, metadata, DateTime.UtcNow + CallDeadline);
                Assert.Equal(Target, reply.Authority);
                return reply.Backend;
            }
            catch (RpcException ex)
            {
                throw new InvalidOperationException($"gRPC call failed: {ex.Status}\n{Diagnostics()}", ex);
            }
        }

        /// <summary>One HttpClient request to http://target/whoami; returns the backend that answered.</summary>
        public async Task<string> HttpAsync(params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{Target}/whoami");
            foreach (var (name, value) in headers)
            {
                request.Headers.Add(name, value);
            }

            try
            {
                using var response = await _http.SendAsync(request);
                var body = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
                Assert.EndsWith(" " + Target, body, StringComparison.Ordinal);
                return body[..body.IndexOf(' ', StringComparison.Ordinal)];
            }
            catch (HttpRequestException ex)
            {
                throw new InvalidOperationException($"HttpClient request failed: {ex.Message}\n{Diagnostics()}", ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            _channel.Dispose();
            await host.DisposeAsync();
        }

        private string Diagnostics() =>
            "Mesh.Client logs (warning and above):\n"
            + string.Join('\n', host.Logs.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).TakeLast(20).Select(r => $"  [{r.Level}] {r.Id.Id} {r.Message}"))
            + "\n" + server.Describe();
    }
}
