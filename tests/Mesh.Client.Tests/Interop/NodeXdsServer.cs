using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// <c>tests/interop/node/xds-server.js</c>: an ADS server on 127.0.0.1 whose resources are encoded by protobufjs
/// from the upstream Envoy protos that @grpc/grpc-js-xds ships. The test sends resources as JSON objects; the
/// server prints every request it receives, classified as subscription, ACK or NACK.
/// </summary>
internal sealed class NodeXdsServer : IAsyncDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(15);

    private readonly InteropProcess _process;
    private int _nextCommandId;

    private NodeXdsServer(InteropProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, for a bootstrap's server_uri.</summary>
    public string ServerUri => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public static async Task<NodeXdsServer> StartAsync()
    {
        var node = await InteropEnvironment.EnsureNodePackagesAsync();
        var process = InteropProcess.Start(
            node,
            [Path.Combine(InteropEnvironment.InteropDirectory, "node", "xds-server.js")],
            InteropEnvironment.InteropDirectory,
            Lifetime);
        try
        {
            var listening = await process.WaitForLineAsync(l => Event(l) is { } e && Is(e, "listening"), "the node xDS server to listen", WaitTimeout);
            return new NodeXdsServer(process, Event(listening)!["port"]!.GetValue<int>());
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Adds or replaces resources (JSON objects with "@type", named by <c>name</c> or <c>cluster_name</c>) and
    /// removes others; returns the new version of every type touched. Fails if the server rejects the command,
    /// e.g. for a field the upstream protos do not have.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> UpdateAsync(IEnumerable<string> set, IEnumerable<(string TypeUrl, string Name)>? remove = null)
    {
        var id = Interlocked.Increment(ref _nextCommandId);
        var command = new JsonObject
        {
            ["id"] = id,
            ["op"] = "update",
            ["set"] = new JsonArray([.. set.Select(r => JsonNode.Parse(r))]),
            ["remove"] = new JsonArray([.. (remove ?? []).Select(r => new JsonObject { ["type"] = r.TypeUrl, ["name"] = r.Name })]),
        };
        var from = _process.Lines.Count;
        await _process.WriteLineAsync(command.ToJsonString());
        var answer = await _process.WaitForLineAsync(
            l => Event(l) is { } e && (Is(e, "applied") || Is(e, "error")) && e["id"]?.GetValueKind() == JsonValueKind.Number && e["id"]!.GetValue<int>() == id,
            $"the node xDS server to apply update {id}",
            WaitTimeout,
            from);
        var result = Event(answer)!;
        if (Is(result, "error"))
        {
            throw new InvalidOperationException($"The node xDS server rejected update {id}: {result["message"]}\n{_process.Describe()}");
        }

        return result["versions"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
    }

    /// <summary>Same as <see cref="UpdateAsync"/>, expecting the server to reject it; returns its message.</summary>
    public async Task<string> UpdateExpectingRejectionAsync(params string[] set)
    {
        try
        {
            await UpdateAsync(set);
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("The node xDS server rejected", StringComparison.Ordinal))
        {
            return ex.Message;
        }

        throw new InvalidOperationException($"The node xDS server accepted an update it should have rejected.\n{_process.Describe()}");
    }

    /// <summary>Every request event so far.</summary>
    public IReadOnlyList<NodeXdsRequest> Requests =>
        [.. _process.Lines.Select(Event).OfType<JsonObject>().Where(e => Is(e, "request")).Select(NodeXdsRequest.From)];

    public Task<NodeXdsRequest> WaitForAckAsync(string typeUrl, string version) =>
        WaitForRequestAsync(r => r.Kind == "ack" && r.TypeUrl == typeUrl && r.ResponseVersion == version, $"an ACK of {typeUrl} version {version}");

    public Task<NodeXdsRequest> WaitForNackAsync(string typeUrl, string version) =>
        WaitForRequestAsync(r => r.Kind == "nack" && r.TypeUrl == typeUrl && r.ResponseVersion == version, $"a NACK of {typeUrl} version {version}");

    public async Task<NodeXdsRequest> WaitForRequestAsync(Func<NodeXdsRequest, bool> predicate, string what)
    {
        var line = await _process.WaitForLineAsync(
            l => Event(l) is { } e && Is(e, "request") && predicate(NodeXdsRequest.From(e)),
            what,
            WaitTimeout);
        return NodeXdsRequest.From(Event(line)!);
    }

    /// <summary>The server's output, for assertion messages.</summary>
    public string Describe() => _process.Describe();

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static JsonObject? Event(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool Is(JsonObject e, string name) =>
        e["event"]?.GetValueKind() == JsonValueKind.String && e["event"]!.GetValue<string>() == name;
}

/// <summary>One DiscoveryRequest as the node xDS server classified it.</summary>
internal sealed record NodeXdsRequest(int Stream, string Node, string TypeUrl, string Kind, string Version, string? ResponseVersion, IReadOnlyList<string> Names, string? Error)
{
    public static NodeXdsRequest From(JsonObject e)
    {
        string? Text(string name) => e[name]?.GetValueKind() == JsonValueKind.String ? e[name]!.GetValue<string>() : null;
        return new NodeXdsRequest(
            e["stream"]!.GetValue<int>(),
            Text("node") ?? string.Empty,
            Text("type") ?? string.Empty,
            Text("kind") ?? string.Empty,
            Text("version") ?? string.Empty,
            Text("responseVersion"),
            [.. e["names"]!.AsArray().Select(n => n?.GetValue<string>() ?? string.Empty)],
            Text("error"));
    }

    public override string ToString() =>
        $"stream {Stream} {Kind} {TypeUrl[(TypeUrl.LastIndexOf('.') + 1)..]} version '{Version}' (response {ResponseVersion ?? "-"}) [{string.Join(", ", Names)}]{(Error is null ? string.Empty : ": " + Error)}";
}
