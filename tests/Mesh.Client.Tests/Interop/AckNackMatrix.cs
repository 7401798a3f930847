using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mesh.Client.Grpc;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;

namespace Mesh.Client.Tests.Interop;

/// <summary>The three clients of the matrix.</summary>
public enum MatrixClientKind
{
    /// <summary>Mesh.Client.</summary>
    Ours,

    /// <summary>@grpc/grpc-js-xds.</summary>
    GrpcJs,

    /// <summary>gRPC C-core (python3-grpcio).</summary>
    CCore,
}

/// <summary>What a client answered to one configuration: ACK, NACK, or neither (it crashed, or said nothing in time).</summary>
internal sealed record MeasuredVerdict(string CaseId, string Verdict, string Detail)
{
    public const string Ack = "ACK";
    public const string Nack = "NACK";
    public const string Crash = "CRASH";
    public const string NoAnswer = "NO-ANSWER";
}

/// <summary>
/// Measures the ACK/NACK verdicts of one client for every <see cref="AckNackCases"/> configuration, served by our
/// XdsTestServer: the client starts on the baseline and completes a call, then each configuration replaces one
/// baseline resource, the client's answer to that version is recorded, and the baseline comes back (and must be
/// ACKed) before the next one. A reference client that dies is restarted with a fresh node id.
/// </summary>
internal static class AckNackMatrix
{
    private static readonly TimeSpan VerdictTimeout = TimeSpan.FromSeconds(10);

    public static async Task<IReadOnlyList<MeasuredVerdict>> MeasureAsync(MatrixClientKind kind, IReadOnlyList<AckNackCase> cases, Action<string> log)
    {
        await using var backends = await Backends.StartAsync(3, "matrix");
        await using var server = await XdsTestServer.StartAsync();
        using var providers = CertificateProviders.Create();
        var addresses = backends.Items.Select(b => b.Address).ToArray();
        var baseline = AckNackCases.Baseline(addresses);
        server.Update(set =>
        {
            foreach (var (typeUrl, name, resource) in baseline)
            {
                set.Set(typeUrl, name, resource);
            }
        });

        var generation = 0;
        var client = await StartAsync(kind, server, providers, ++generation);
        var results = new List<MeasuredVerdict>();
        try
        {
            foreach (var @case in cases)
            {
                var name = AckNackCases.NameOf(@case.TypeUrl);
                var version = server.SetResource(@case.TypeUrl, name, @case.Build(addresses));
                var answer = await WaitAsync(server, client, r => r.TypeUrl == @case.TypeUrl && r.ResponseVersion == version && r.Kind != XdsRequestKind.Subscribe);

                // Back to the baseline, which the client must ACK again (unless it died or never answered).
                var restored = server.SetResource(@case.TypeUrl, name, baseline.First(b => b.TypeUrl == @case.TypeUrl && b.Name == name).Resource);
                var back = answer is null ? null : await WaitAsync(server, client, r => r.Kind == XdsRequestKind.Ack && r.TypeUrl == @case.TypeUrl && r.ResponseVersion == restored);
                if (answer is not null && back is null && client.IsAlive)
                {
                    throw new InvalidOperationException($"{kind}: the baseline was not ACKed again after case {@case.Id} ({answer.Kind}).\n{client.Describe()}");
                }

                // A client that dies while a configuration is in force crashed on it, whether or not its ACK got out first.
                var verdict = !client.IsAlive
                    ? new MeasuredVerdict(@case.Id, MeasuredVerdict.Crash, (answer is null ? "before answering: " : $"after sending {answer.Kind}: ") + Last(client.Describe()))
                    : answer is null
                        ? new MeasuredVerdict(@case.Id, MeasuredVerdict.NoAnswer, $"no ACK or NACK within {VerdictTimeout.TotalSeconds:F0} s")
                        : answer.Kind == XdsRequestKind.Ack
                            ? new MeasuredVerdict(@case.Id, MeasuredVerdict.Ack, string.Empty)
                            : new MeasuredVerdict(@case.Id, MeasuredVerdict.Nack, answer.ErrorMessage ?? string.Empty);
                if (!client.IsAlive || answer is null)
                {
                    log($"{kind}: restarting the client after case {@case.Id}:\n{client.Describe()}");
                    await client.DisposeAsync();
                    client = await StartAsync(kind, server, providers, ++generation);
                }

                results.Add(verdict);
                log($"{kind,-7} {@case.Id,-45} {verdict.Verdict,-5} {verdict.Detail}");
            }
        }
        finally
        {
            await client.DisposeAsync();
        }

        return results;
    }

    /// <summary>The measured verdicts as a table, for test output and failure messages.</summary>
    public static string Format(IEnumerable<MeasuredVerdict> verdicts)
    {
        var text = new StringBuilder();
        foreach (var v in verdicts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {v.CaseId,-45} {v.Verdict,-9} {v.Detail}");
        }

        return text.ToString();
    }

    /// <summary>The first request of the client's node that matches; <see langword="null"/> if the client dies or the time runs out first.</summary>
    private static async Task<XdsRequestRecord?> WaitAsync(XdsTestServer server, IMatrixClient client, Func<XdsRequestRecord, bool> predicate)
    {
        var deadline = DateTime.UtcNow + VerdictTimeout;
        while (true)
        {
            try
            {
                return await server.WaitForRequestAsync(r => r.NodeId == client.NodeId && predicate(r), TimeSpan.FromMilliseconds(250));
            }
            catch (TimeoutException) when (client.IsAlive && DateTime.UtcNow < deadline)
            {
                // Keep waiting while the client lives.
            }
            catch (TimeoutException)
            {
                return null;
            }
        }
    }

    private static string Last(string description)
    {
        var lines = description.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Where(l => l.StartsWith("--- state", StringComparison.Ordinal)).Concat(lines.TakeLast(3)));
    }

    private static async Task<IMatrixClient> StartAsync(MatrixClientKind kind, XdsTestServer server, CertificateProviders providers, int generation)
    {
        var nodeId = string.Create(CultureInfo.InvariantCulture, $"matrix-{kind}-{generation}");
        var bootstrap = providers.AddTo(server.CreateBootstrapJson(nodeId));
        IMatrixClient client = kind == MatrixClientKind.Ours
            ? await OurMatrixClient.StartAsync(bootstrap, nodeId)
            : await ReferenceMatrixClient.StartAsync(kind == MatrixClientKind.GrpcJs ? ReferenceClientKind.GrpcJs : ReferenceClientKind.CCore, bootstrap, nodeId);
        try
        {
            // Subscribed to every type, and every current version ACKed: the client stands on the baseline.
            foreach (var typeUrl in new[] { XdsTypeUrls.Listener, XdsTypeUrls.RouteConfiguration, XdsTypeUrls.Cluster, XdsTypeUrls.ClusterLoadAssignment })
            {
                var current = server.GetVersion(typeUrl);
                await server.WaitForRequestAsync(r => r.NodeId == nodeId && r.Kind == XdsRequestKind.Ack && r.TypeUrl == typeUrl && r.ResponseVersion == current, VerdictTimeout);
            }
        }
        catch (Exception ex)
        {
            var description = client.Describe();
            await client.DisposeAsync();
            throw new InvalidOperationException($"{kind}: the client did not start on the baseline: {ex.Message}\n{description}", ex);
        }

        return client;
    }

    /// <summary>
    /// The bootstrap's <c>certificate_providers</c> (gRFC A29), the same for every client: <c>file_watcher</c>
    /// instances over PEM files issued at run time by a <see cref="TestCertificateAuthority"/> —
    /// <see cref="AckNackCases.IdentityProvider"/> with an identity and roots, <see cref="AckNackCases.RootsProvider"/>
    /// with roots only. The TLS cases name them; a client NACKs a name its bootstrap does not declare.
    /// </summary>
    private sealed class CertificateProviders : IDisposable
    {
        private readonly string _directory;
        private readonly string _json;

        private CertificateProviders(string directory, string json)
        {
            _directory = directory;
            _json = json;
        }

        public static CertificateProviders Create()
        {
            var directory = Directory.CreateTempSubdirectory("mesh-matrix-certs-").FullName;
            using var authority = new TestCertificateAuthority("Mesh Matrix Root CA");
            using var identity = authority.Issue("spiffe://cluster.local/ns/default/sa/matrix-client");
            var (chain, key, root) = authority.WriteIstioFiles(directory, identity);
            var providers = new JsonObject
            {
                [AckNackCases.IdentityProvider] = FileWatcher(new JsonObject
                {
                    ["certificate_file"] = chain,
                    ["private_key_file"] = key,
                    ["ca_certificate_file"] = root,
                    ["refresh_interval"] = "600s",
                }),
                [AckNackCases.RootsProvider] = FileWatcher(new JsonObject
                {
                    ["ca_certificate_file"] = root,
                    ["refresh_interval"] = "600s",
                }),
            };
            return new CertificateProviders(directory, providers.ToJsonString());
        }

        /// <summary>The bootstrap with these providers added.</summary>
        public string AddTo(string bootstrapJson)
        {
            var bootstrap = JsonNode.Parse(bootstrapJson)!.AsObject();
            bootstrap["certificate_providers"] = JsonNode.Parse(_json);
            return bootstrap.ToJsonString();
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A temp directory may stay.
            }
        }

        private static JsonObject FileWatcher(JsonObject config) => new() { ["plugin_name"] = "file_watcher", ["config"] = config };
    }

    private interface IMatrixClient : IAsyncDisposable
    {
        string NodeId { get; }

        bool IsAlive { get; }

        string Describe();
    }

    private sealed class ReferenceMatrixClient(ReferenceClient client, string nodeId) : IMatrixClient
    {
        public string NodeId => nodeId;

        public bool IsAlive => !client.HasExited;

        public static async Task<IMatrixClient> StartAsync(ReferenceClientKind kind, string bootstrap, string nodeId)
        {
            var client = await ReferenceClient.StartAsync(kind, bootstrap, "xds:///" + AckNackCases.Target, calls: 1);
            try
            {
                var first = await client.WaitForCallsAsync();
                if (!first.All(r => r.Ok))
                {
                    throw new InvalidOperationException($"the first call on the baseline failed: {first[0].Error}");
                }
            }
            catch (Exception ex)
            {
                var description = client.Describe();
                await client.DisposeAsync();
                throw new InvalidOperationException($"{ReferenceClient.NameOf(kind)} did not start: {ex.Message}\n{description}", ex);
            }

            return new ReferenceMatrixClient(client, nodeId);
        }

        public string Describe() => client.Describe();

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }

    private sealed class OurMatrixClient(MeshHost host, global::Grpc.Net.Client.GrpcChannel channel, string nodeId) : IMatrixClient
    {
        public string NodeId => nodeId;

        public bool IsAlive => true;

        public static async Task<IMatrixClient> StartAsync(string bootstrap, string nodeId)
        {
            var host = await MeshHost.StartAsync(XdsMesh.AppSettings(bootstrap));
            var channel = MeshGrpc.CreateChannel("xds:///" + AckNackCases.Target, host.Services);
            try
            {
                await new Echo.EchoClient(channel).HelloAsync(new HelloRequest { Name = "matrix" }, deadline: DateTime.UtcNow.AddSeconds(15));
            }
            catch
            {
                channel.Dispose();
                await host.DisposeAsync();
                throw;
            }

            return new OurMatrixClient(host, channel, nodeId);
        }

        public string Describe() =>
            "Mesh.Client logs (warning and above):\n" + string.Join('\n', host.Logs.GetSnapshot()
                .Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning)
                .TakeLast(20)
                .Select(r => $"  [{r.Level}] {r.Id.Id} {r.Message}"));

        public async ValueTask DisposeAsync()
        {
            channel.Dispose();
            await host.DisposeAsync();
        }
    }
}
