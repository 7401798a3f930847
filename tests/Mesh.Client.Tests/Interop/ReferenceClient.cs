using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Client.Tests.Interop;

/// <summary>The two reference xDS clients the interop tests run against our control plane.</summary>
public enum ReferenceClientKind
{
    /// <summary>@grpc/grpc-js with @grpc/grpc-js-xds (tests/interop/node/xds-client.js).</summary>
    GrpcJs,

    /// <summary>gRPC C-core through Debian's python3-grpcio (tests/interop/python/xds_client.py).</summary>
    CCore,
}

/// <summary>
/// A reference gRPC xDS client process calling <c>mesh.samples.Echo/Hello</c> on an <c>xds:///</c> target, with its
/// bootstrap in a file named by <c>GRPC_XDS_BOOTSTRAP</c>. It makes its first calls at start and more on request;
/// each call prints a JSON line (a reply or an RPC error).
/// </summary>
internal sealed class ReferenceClient : IAsyncDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CallsTimeout = TimeSpan.FromSeconds(30);

    private readonly InteropProcess _process;
    private readonly string _directory;

    private ReferenceClient(ReferenceClientKind kind, InteropProcess process, string directory)
    {
        Kind = kind;
        _process = process;
        _directory = directory;
    }

    public ReferenceClientKind Kind { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The environment C-core runs with: custom LB config (gRFC A52) and aggregate clusters are behind flags in 1.51;
    /// and with no call in flight, a Python process only reads its ADS stream when the channel's backup poller runs
    /// (every 5 s by default), which would make every ACK take up to 5 s.
    /// </summary>
    public static IReadOnlyDictionary<string, string> CCoreEnvironment { get; } = new Dictionary<string, string>
    {
        ["GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"] = "50",
        ["GRPC_EXPERIMENTAL_XDS_CUSTOM_LB_CONFIG"] = "true",
        ["GRPC_XDS_EXPERIMENTAL_ENABLE_AGGREGATE_AND_LOGICAL_DNS_CLUSTER"] = "true",
    };

    public static string NameOf(ReferenceClientKind kind) => kind switch
    {
        ReferenceClientKind.GrpcJs => "grpc-js-xds",
        _ => "C-core",
    };

    /// <summary>Starts the client with <paramref name="bootstrapJson"/>; it makes <paramref name="calls"/> calls at once.</summary>
    public static async Task<ReferenceClient> StartAsync(ReferenceClientKind kind, string bootstrapJson, string target, int calls)
    {
        var directory = Directory.CreateTempSubdirectory("mesh-interop-").FullName;
        var bootstrap = Path.Combine(directory, "bootstrap.json");
        await File.WriteAllTextAsync(bootstrap, bootstrapJson);
        var environment = new Dictionary<string, string> { ["GRPC_XDS_BOOTSTRAP"] = bootstrap };
        InteropProcess process;
        if (kind == ReferenceClientKind.GrpcJs)
        {
            var node = await InteropEnvironment.EnsureNodePackagesAsync();
            process = InteropProcess.Start(
                node,
                [Path.Combine(InteropEnvironment.InteropDirectory, "node", "xds-client.js"), target, calls.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                InteropEnvironment.InteropDirectory,
                Lifetime,
                environment);
        }
        else
        {
            await InteropEnvironment.EnsurePythonGrpcAsync();
            foreach (var (key, value) in CCoreEnvironment)
            {
                environment[key] = value;
            }

            process = InteropProcess.Start(
                InteropEnvironment.Python,
                [Path.Combine(InteropEnvironment.InteropDirectory, "python", "xds_client.py"), target, calls.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                InteropEnvironment.InteropDirectory,
                Lifetime,
                environment);
        }

        return new ReferenceClient(kind, process, directory);
    }

    /// <summary>Waits for the calls started so far to finish; returns the results of the latest batch.</summary>
    public async Task<IReadOnlyList<ReferenceCallResult>> WaitForCallsAsync(int batch = 1)
    {
        // WaitForLineAsync offers each line to the predicate once, in order: counting the "done" lines finds the batch's.
        var seen = 0;
        await _process.WaitForLineAsync(l => l.Contains("\"done\"", StringComparison.Ordinal) && ++seen == batch, $"batch {batch} of calls of the {NameOf(Kind)} client", CallsTimeout);
        var results = new List<ReferenceCallResult>();
        var done = 0;
        foreach (var line in _process.Lines)
        {
            if (line.Contains("\"done\"", StringComparison.Ordinal))
            {
                done++;
                continue;
            }

            if (done == batch - 1 && ReferenceCallResult.Parse(line) is { } result)
            {
                results.Add(result);
            }
        }

        return results;
    }

    /// <summary>Asks the client for <paramref name="count"/> more calls with the given request headers.</summary>
    public Task CallAsync(int count, params (string Name, string Value)[] headers) =>
        _process.WriteLineAsync(string.Join(' ', new[] { "call", count.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(headers.Select(h => $"{h.Name}={h.Value}"))));

    public string Describe() => _process.Describe();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory may stay.
        }
    }
}

/// <summary>One call of a reference client: the echo reply, or the RPC error.</summary>
internal sealed record ReferenceCallResult(string? Backend, string? Authority, string? Error)
{
    public bool Ok => Error is null;

    public static ReferenceCallResult? Parse(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }

        return node?["event"]?.GetValue<string>() switch
        {
            "reply" => new ReferenceCallResult(node["backend"]?.GetValue<string>(), node["authority"]?.GetValue<string>(), null),
            "rpc-error" => new ReferenceCallResult(null, null, $"{node["code"]}: {node["details"]}"),
            _ => null,
        };
    }
}
