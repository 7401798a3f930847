using System.Globalization;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Mesh.Client.Xds.Internal;

// Runs on the serializer: each response validated, ACKed or NACKed and told to the watchers; the
// does-not-exist timers (gRFC A57); the requests.
internal sealed partial class XdsClient
{
    private void OnResponse(StreamContext context, DiscoveryResponse response)
    {
        if (!ReferenceEquals(context, _stream))
        {
            return;
        }

        if (!IsConnected)
        {
            // The first response of a stream: the server works (again), gRFC A57 and A78.
            var lostAt = _lostAt;
            OnServerResponded(context.Server.ServerUri);
            IsConnected = true;
            if (!_everConnected)
            {
                _everConnected = true;
                Log.Connected(_logger, context.Server.ServerUri);
            }
            else
            {
                var downtime = lostAt is { } since ? _time.GetUtcNow() - since : TimeSpan.Zero;
                Log.Reconnected(_logger, context.Server.ServerUri, string.Create(CultureInfo.InvariantCulture, $"{downtime.TotalSeconds:0.###} s"));
            }
        }

        if (!_types.TryGetValue(response.TypeUrl, out var type))
        {
            // Not a type this client asked for: ignore it, as gRPC does.
            Log.UnknownType(_logger, response.TypeUrl);
            return;
        }

        type.Nonce = response.Nonce;
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var invalid = new HashSet<string>(StringComparer.Ordinal);
        var updated = new List<(ResourceState Resource, XdsResourceUpdate Update, Any Raw)>();
        var invalidCount = 0;
        for (var i = 0; i < response.Resources.Count; i++)
        {
            var raw = response.Resources[i];
            var result = XdsResourceDecoder.Decode(response.TypeUrl, raw, _decodeContext);
            if (result.Name is { } decodedName && !seen.Add(decodedName))
            {
                errors.Add($"resource '{decodedName}': appears more than once in the response");
                invalid.Add(decodedName);
                invalidCount++;
                continue;
            }

            if (result.Update is null)
            {
                errors.Add(result.Name is null ? $"resource [{i}]: {result.Error}" : $"resource '{result.Name}': {result.Error}");
                invalidCount++;
                if (result.Name is { } badName)
                {
                    invalid.Add(badName);
                }

                continue;
            }

            if (type.Resources.TryGetValue(result.Name!, out var resource))
            {
                updated.Add((resource, result.Update, raw));
            }
        }

        // A78 counts resources, each time they are sent, whether or not they changed or were subscribed to.
        _metrics.RecordXdsResourceUpdates(context.Server.ServerUri, type.TypeUrl, response.Resources.Count - invalidCount, invalidCount);

        // Valid resources of a rejected response are still used (gRFC A46).
        foreach (var (resource, update, raw) in updated)
        {
            resource.Timer?.Dispose();
            resource.Timer = null;
            var changed = resource.Raw is null || !resource.Raw.Equals(raw) || resource.Data is null;
            resource.Data = update;
            resource.Raw = raw;
            resource.Version = response.VersionInfo;
            resource.Status = XdsResourceStatus.Acked;
            resource.LastError = null;
            resource.UpdatedAt = _time.GetUtcNow();
            if (changed)
            {
                foreach (var watcher in resource.Watchers.ToArray())
                {
                    watcher.OnUpdate(update);
                }
            }
        }

        foreach (var name in invalid)
        {
            if (type.Resources.TryGetValue(name, out var resource))
            {
                resource.Timer?.Dispose();
                resource.Timer = null;
                resource.Status = XdsResourceStatus.Nacked;
                resource.LastError = ServerError($"{XdsTypeUrls.ShortName(type.TypeUrl)} resource '{name}' version {response.VersionInfo} rejected: {errors.First(e => e.StartsWith($"resource '{name}'", StringComparison.Ordinal))}");
                RecordRejection(resource, response.VersionInfo);
                foreach (var watcher in resource.Watchers.ToArray())
                {
                    watcher.OnError(resource.LastError);
                }
            }
        }

        if (XdsTypeUrls.IsFullStateOfTheWorld(type.TypeUrl))
        {
            foreach (var resource in type.Resources.Values.ToArray())
            {
                if (seen.Contains(resource.Name) || resource.Status == XdsResourceStatus.DoesNotExist)
                {
                    continue;
                }

                if (resource.Data is not null && CurrentServer.IgnoreResourceDeletion)
                {
                    // The server asked clients to keep resources it drops (gRFC A53).
                    Log.DeletionIgnored(_logger, XdsTypeUrls.ShortName(type.TypeUrl), resource.Name);
                    continue;
                }

                // A resource never received is not taken to be deleted: the response may answer a request
                // sent before the subscription. Its does-not-exist timer decides instead (as gRPC does).
                if (resource.Data is not null)
                {
                    MarkDoesNotExist(type, resource);
                }
            }
        }

        var request = CreateRequest(type);
        request.ResponseNonce = response.Nonce;
        if (errors.Count == 0)
        {
            type.Version = response.VersionInfo;
            request.VersionInfo = type.Version;
            Log.Acked(_logger, XdsTypeUrls.ShortName(type.TypeUrl), response.VersionInfo, response.Resources.Count);
        }
        else
        {
            var reasons = string.Join("; ", errors);
            var detail = $"{XdsTypeUrls.ShortName(type.TypeUrl)} version {response.VersionInfo} rejected: {reasons}";
            request.VersionInfo = type.Version;
            request.ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = detail };
            Log.Nacked(
                _logger,
                XdsTypeUrls.ShortName(type.TypeUrl),
                response.VersionInfo,
                invalidCount,
                response.Resources.Count,
                type.Version.Length > 0 ? type.Version : "(none)",
                reasons);
        }

        Send(request);
        PublishStatus();
        StateChanged?.Invoke();
    }

    private void MarkDoesNotExist(TypeState type, ResourceState resource)
    {
        resource.Timer?.Dispose();
        resource.Timer = null;
        resource.Data = null;
        resource.Raw = null;
        resource.Status = XdsResourceStatus.DoesNotExist;
        resource.UpdatedAt = _time.GetUtcNow();
        Log.DoesNotExist(_logger, XdsTypeUrls.ShortName(type.TypeUrl), resource.Name);
        foreach (var watcher in resource.Watchers.ToArray())
        {
            watcher.OnDoesNotExist();
        }
    }

    private void StartDoesNotExistTimer(TypeState type, ResourceState resource)
    {
        if (_stream is null || resource.Data is not null || resource.Status == XdsResourceStatus.DoesNotExist || resource.Timer is not null)
        {
            return;
        }

        var stream = _stream;
        resource.Timer = _time.CreateTimer(
            _ => _serializer.Run(() =>
            {
                if (ReferenceEquals(stream, _stream) && resource.Timer is not null && resource.Data is null &&
                    type.Resources.TryGetValue(resource.Name, out var current) && ReferenceEquals(current, resource))
                {
                    MarkDoesNotExist(type, resource);
                    PublishStatus();
                    StateChanged?.Invoke();
                }
            }),
            null,
            DoesNotExistTimeout,
            Timeout.InfiniteTimeSpan);
    }

    private void SendRequest(TypeState type)
    {
        var request = CreateRequest(type);
        request.VersionInfo = type.Version;
        request.ResponseNonce = type.Nonce;
        Send(request);
    }

    private DiscoveryRequest CreateRequest(TypeState type)
    {
        var request = new DiscoveryRequest { TypeUrl = type.TypeUrl };
        request.ResourceNames.AddRange(type.Resources.Keys.Order(StringComparer.Ordinal));
        return request;
    }

    private void Send(DiscoveryRequest request)
    {
        if (_stream is not { } stream)
        {
            return;
        }

        if (!stream.SentNode)
        {
            // The node goes in the first request of each stream only.
            request.Node = _node;
            stream.SentNode = true;
        }

        stream.Outbox.TryWrite(request);
    }

    private sealed class TypeState(string typeUrl)
    {
        public string TypeUrl { get; } = typeUrl;

        public Dictionary<string, ResourceState> Resources { get; } = new(StringComparer.Ordinal);

        /// <summary>The last version ACKed; sent with every request (empty before the first ACK).</summary>
        public string Version { get; set; } = string.Empty;

        /// <summary>The nonce of the last response on the current stream.</summary>
        public string Nonce { get; set; } = string.Empty;
    }

    private sealed class ResourceState(string name)
    {
        public string Name { get; } = name;

        public List<IXdsWatcher> Watchers { get; } = [];

        public XdsResourceUpdate? Data { get; set; }

        public Any? Raw { get; set; }

        public string? Version { get; set; }

        public XdsResourceStatus Status { get; set; } = XdsResourceStatus.Requested;

        public string? LastError { get; set; }

        public DateTimeOffset? UpdatedAt { get; set; }

        public ITimer? Timer { get; set; }
    }
}
