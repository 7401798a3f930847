using System.Runtime.CompilerServices;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Xds.Internal;

/// <summary>Read access to what the client holds, for CSDS and the config dump (<c>MeshStatus</c>).</summary>
internal sealed partial class XdsClient
{
    private const string DumpNeverConnected = "not connected yet";

    // What a NACK rejected, per resource. Kept beside the resource state rather than in it so that the
    // status view needs no more of the client than one call when a resource is rejected; the weak table
    // lets an unsubscribed resource take its record with it.
    private readonly ConditionalWeakTable<ResourceState, XdsRejection> _rejections = new();

    /// <summary>
    /// Everything the client holds now: the server, the stream's state, the node and every subscribed
    /// resource with its status. Taken on the serializer, so it is one consistent picture.
    /// </summary>
    public Task<XdsClientDump> GetDumpAsync()
    {
        var result = new TaskCompletionSource<XdsClientDump>(TaskCreationOptions.RunContinuationsAsynchronously);
        _serializer.Run(() => result.TrySetResult(CaptureDump()));
        return result.Task;
    }

    /// <summary>Called on the serializer when <paramref name="resource"/> is NACKed in a response of <paramref name="rejectedVersion"/>.</summary>
    private void RecordRejection(ResourceState resource, string rejectedVersion) =>
        _rejections.AddOrUpdate(resource, new XdsRejection(rejectedVersion, _time.GetUtcNow()));

    private XdsClientDump CaptureDump()
    {
        var resources = new List<XdsResourceDump>();
        foreach (var typeUrl in XdsTypeUrls.All)
        {
            foreach (var resource in _types[typeUrl].Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                XdsResourceRejection? failure = null;
                if (resource.Status == XdsResourceStatus.Nacked && resource.LastError is { } details)
                {
                    _rejections.TryGetValue(resource, out var rejection);
                    failure = new XdsResourceRejection(details, rejection?.Version, rejection?.At);
                }

                resources.Add(new XdsResourceDump(typeUrl, resource.Name, resource.Version, resource.Status, resource.UpdatedAt, resource.Raw, failure));
            }
        }

        // The first stream has not failed yet: there is no error to report, only that it is not up.
        var lastError = _lastError == DumpNeverConnected && IsConnected ? null : _lastError;
        return new XdsClientDump(CurrentServer, _bootstrap.Origin, IsConnected, lastError, _node.Clone(), resources);
    }

    private sealed record XdsRejection(string Version, DateTimeOffset At);
}

/// <summary>The xDS client's state at one moment.</summary>
/// <param name="Server">The server the client talks to (or tries to).</param>
/// <param name="BootstrapOrigin">Where the bootstrap came from.</param>
/// <param name="Connected">Whether an ADS stream is up and has had a response.</param>
/// <param name="LastError">Why the last stream failed, if one did.</param>
/// <param name="Node">The node the client presents.</param>
/// <param name="Resources">Every subscribed resource: LDS, RDS, CDS, EDS, each by name.</param>
internal sealed record XdsClientDump(
    XdsServerConfig Server,
    string BootstrapOrigin,
    bool Connected,
    string? LastError,
    Node Node,
    IReadOnlyList<XdsResourceDump> Resources);

/// <summary>One subscribed resource.</summary>
/// <param name="TypeUrl">The resource type.</param>
/// <param name="Name">The resource name.</param>
/// <param name="Version">The version of the last accepted update; <see langword="null"/> before one.</param>
/// <param name="Status">Requested, ACKed, NACKed or does not exist.</param>
/// <param name="UpdatedAt">When the last accepted update (or the does-not-exist verdict) came.</param>
/// <param name="Raw">The resource as the server sent it in the last accepted update.</param>
/// <param name="Failure">Why the last update was rejected, while the resource is NACKed.</param>
internal sealed record XdsResourceDump(
    string TypeUrl,
    string Name,
    string? Version,
    XdsResourceStatus Status,
    DateTimeOffset? UpdatedAt,
    Any? Raw,
    XdsResourceRejection? Failure);

/// <summary>A rejected update.</summary>
/// <param name="Details">The reason, as sent in the NACK.</param>
/// <param name="RejectedVersion">The version of the response that was rejected.</param>
/// <param name="AttemptedAt">When it was rejected.</param>
internal sealed record XdsResourceRejection(string Details, string? RejectedVersion, DateTimeOffset? AttemptedAt);
