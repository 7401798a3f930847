using System.Buffers;
using System.Text.Json;
using Envoy.Service.Status.V3;
using Google.Protobuf;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Telemetry.Internal;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Telemetry;

/// <summary>
/// A live view of the mesh as this process sees it: the control plane and every xDS resource the client
/// holds (version, ACK/NACK, last error), and the services, routes, clusters and endpoints in force with
/// their runtime state (health, ejection, requests in flight, circuit breaker). Registered by
/// <c>AddMesh()</c>; <c>Mesh.Client.AspNetCore</c> serves it as a JSON dump, an HTML page and the Client
/// Status Discovery Service that <c>grpcdebug</c> queries.
/// </summary>
/// <remarks>
/// Each call takes a fresh picture; nothing is cached. The JSON fields are documented in docs/telemetry.md
/// ("Config dump, CSDS and the dashboard"). No key material is ever included.
/// </remarks>
public sealed class MeshStatus
{
    /// <summary>The media type of <see cref="WriteJsonAsync"/>'s output.</summary>
    public const string JsonContentType = "application/json; charset=utf-8";

    // The xDS client answers on its serializer, which only ever runs short work; a picture that takes
    // longer than this means the client is wedged, and saying so beats hanging the caller.
    private static readonly TimeSpan XdsStatusTimeout = TimeSpan.FromSeconds(10);

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true };

    private readonly MeshRuntime _runtime;
    private readonly MeshStatusSources _sources;
    private readonly TimeProvider _time;

    internal MeshStatus(MeshRuntime runtime, MeshStatusSources sources, TimeProvider time)
    {
        _runtime = runtime;
        _sources = sources;
        _time = time;
    }

    /// <summary>Writes the config dump as UTF-8 JSON to <paramref name="destination"/>.</summary>
    /// <param name="destination">Where to write; left open.</param>
    /// <param name="cancellationToken">Cancels the wait for the xDS client and the write.</param>
    /// <returns>A task that completes when the document is written.</returns>
    public async Task WriteJsonAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var buffer = await CaptureJsonAsync(cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The config dump as UTF-8 JSON.</summary>
    /// <param name="cancellationToken">Cancels the wait for the xDS client.</param>
    /// <returns>The JSON document's bytes.</returns>
    public async Task<byte[]> GetJsonAsync(CancellationToken cancellationToken = default) =>
        (await CaptureJsonAsync(cancellationToken).ConfigureAwait(false)).WrittenSpan.ToArray();

    /// <summary>
    /// The Client Status Discovery Service answer (gRFC A40), serialized: an
    /// <c>envoy.service.status.v3.ClientStatusResponse</c> with one <c>ClientConfig</c> (the node and a
    /// <c>GenericXdsConfig</c> per xDS resource), or none when the process has no xDS control plane.
    /// </summary>
    /// <param name="excludeResourceContents">Leave out the resources themselves (<c>xds_config</c>), as the request field of that name asks.</param>
    /// <param name="cancellationToken">Cancels the wait for the xDS client.</param>
    /// <returns>The protobuf encoding of the response.</returns>
    public async Task<byte[]> GetClientStatusAsync(bool excludeResourceContents = false, CancellationToken cancellationToken = default) =>
        (await GetClientStatusResponseAsync(excludeResourceContents, cancellationToken).ConfigureAwait(false)).ToByteArray();

    /// <summary>The CSDS answer as a message, for the gRPC service.</summary>
    internal async Task<ClientStatusResponse> GetClientStatusResponseAsync(bool excludeResourceContents, CancellationToken cancellationToken) =>
        MeshStatusCsds.Build(await GetXdsStatusAsync(cancellationToken).ConfigureAwait(false), excludeResourceContents);

    private async Task<ArrayBufferWriter<byte>> CaptureJsonAsync(CancellationToken cancellationToken)
    {
        var xds = await GetXdsStatusAsync(cancellationToken).ConfigureAwait(false);
        var table = _runtime.Current;
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            MeshStatusJsonWriter.Write(writer, table, _sources.For(table), xds, _time.GetUtcNow());
        }

        return buffer;
    }

    private async Task<XdsClientDump?> GetXdsStatusAsync(CancellationToken cancellationToken)
    {
        if (_runtime.Xds is not { } source)
        {
            return null;
        }

        try
        {
            return await source.Client.GetDumpAsync().WaitAsync(XdsStatusTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"The xDS client of {source.Description} did not report its state within {XdsStatusTimeout.TotalSeconds:F0} s.", ex);
        }
    }
}
