using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Testing.Internal;

/// <summary>
/// The state behind an <see cref="XdsTestServer"/>, which outlives the Kestrel host so that a restarted server
/// serves the same resources and keeps counting versions, nonces and streams. One lock orders every change,
/// request and response, so that a response's nonce is recorded before the client can answer it and pushes
/// reach each stream in the order the changes were made.
/// </summary>
internal sealed partial class XdsControlPlane : IDisposable
{
    /// <summary>Sent as <c>control_plane.identifier</c> in every response.</summary>
    public const string Identifier = "Mesh.Client.Testing";

    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly Dictionary<string, SortedDictionary<string, Any>> _resources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    private readonly List<AdsStream> _streams = [];
    private readonly List<XdsTestClient> _clients = [];
    private readonly List<Waiter> _waiters = [];
    private long _lastNonce;
    private int _lastStreamId;
    private bool _accepting;
    private bool _disposed;

    public XdsControlPlane(ILogger logger) => _logger = logger;

    public IReadOnlyList<XdsTestClient> Clients
    {
        get
        {
            lock (_lock)
            {
                return [.. _clients];
            }
        }
    }

    public int ActiveStreams
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Whether new streams are served; off while the host stops, so that a stop cannot race a reconnect.</summary>
    public bool Accepting
    {
        set
        {
            lock (_lock)
            {
                _accepting = value;
            }
        }
    }

    public string GetVersion(string typeUrl)
    {
        lock (_lock)
        {
            return VersionOf(typeUrl);
        }
    }

    /// <summary>Applies <paramref name="changes"/>, then gives each touched type a new version and pushes it once.</summary>
    public IReadOnlyDictionary<string, string> Apply(IReadOnlyList<XdsResourceSet.Change> changes)
    {
        lock (_lock)
        {
            var touched = new List<string>();
            foreach (var change in changes)
            {
                if (change.TypeUrl is null)
                {
                    foreach (var (typeUrl, resources) in _resources)
                    {
                        resources.Clear();
                        Touch(touched, typeUrl);
                    }

                    continue;
                }

                Touch(touched, change.TypeUrl);
                if (!_resources.TryGetValue(change.TypeUrl, out var ofType))
                {
                    ofType = new SortedDictionary<string, Any>(StringComparer.Ordinal);
                    _resources.Add(change.TypeUrl, ofType);
                }

                if (change.Name is null)
                {
                    ofType.Clear();
                }
                else if (change.Resource is null)
                {
                    ofType.Remove(change.Name);
                }
                else
                {
                    ofType[change.Name] = change.Resource;
                }
            }

            var versions = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var typeUrl in touched)
            {
                _versions[typeUrl] = _versions.GetValueOrDefault(typeUrl) + 1;
                var version = VersionOf(typeUrl);
                versions[typeUrl] = version;
                Log.VersionChanged(_logger, typeUrl, version, _resources[typeUrl].Count);
                foreach (var stream in _streams)
                {
                    if (stream.Subscriptions.TryGetValue(typeUrl, out var subscription) && subscription.IsActive)
                    {
                        Send(stream, typeUrl, subscription);
                    }
                }
            }

            return versions;
        }

        static void Touch(List<string> touched, string typeUrl)
        {
            if (!touched.Contains(typeUrl))
            {
                touched.Add(typeUrl);
            }
        }
    }

    /// <summary>Registers a new stream, or returns <see langword="null"/> while the server is not accepting streams.</summary>
    public AdsStream? Open(string peer)
    {
        AdsStream stream;
        lock (_lock)
        {
            if (!_accepting || _disposed)
            {
                return null;
            }

            stream = new AdsStream(new XdsTestClient(++_lastStreamId, peer));
            _streams.Add(stream);
            _clients.Add(stream.Client);
        }

        Log.StreamOpened(_logger, stream.Client.StreamId, peer);
        return stream;
    }

    /// <summary>Unregisters a stream whose call has ended; harmless after <see cref="DropAll"/>.</summary>
    public void Close(AdsStream stream)
    {
        bool removed;
        lock (_lock)
        {
            removed = _streams.Remove(stream);
            stream.Client.MarkDisconnected();
        }

        stream.Outgoing.Writer.TryComplete();
        if (removed)
        {
            Log.StreamClosed(_logger, stream.Client.StreamId);
        }
    }

    /// <summary>
    /// Ends every open stream: they stop counting as active at once, and their calls end with UNAVAILABLE.
    /// Returns the streams dropped, whose <see cref="AdsStream.Finished"/> says when their handlers have returned.
    /// </summary>
    public IReadOnlyList<AdsStream> DropAll()
    {
        AdsStream[] dropped;
        lock (_lock)
        {
            dropped = [.. _streams];
            _streams.Clear();
            foreach (var stream in dropped)
            {
                stream.Client.MarkDisconnected();
            }
        }

        // Cancelling runs the call's callbacks synchronously, so it happens outside the lock.
        foreach (var stream in dropped)
        {
            stream.Outgoing.Writer.TryComplete();
            stream.Drop();
            Log.StreamDropped(_logger, stream.Client.StreamId);
        }

        return dropped;
    }

    /// <summary>Records a request, updates the stream's subscription and answers a new or changed subscription.</summary>
    public void OnRequest(AdsStream stream, DiscoveryRequest request)
    {
        lock (_lock)
        {
            var client = stream.Client;
            if (!client.HasNode && request.Node is { } node)
            {
                client.SetNode(node.Id, node.Cluster, node.UserAgentName, [.. node.ClientFeatures]);
            }

            var typeUrl = request.TypeUrl;
            string? responseVersion = null;
            if (request.ResponseNonce.Length > 0
                && stream.SentByNonce.TryGetValue(request.ResponseNonce, out var sent)
                && sent.TypeUrl == typeUrl)
            {
                responseVersion = sent.Version;
            }

            var kind = request.ErrorDetail is not null ? XdsRequestKind.Nack
                : responseVersion is not null && responseVersion == request.VersionInfo ? XdsRequestKind.Ack
                : XdsRequestKind.Subscribe;

            if (!stream.Subscriptions.TryGetValue(typeUrl, out var subscription))
            {
                subscription = new Subscription();
                stream.Subscriptions.Add(typeUrl, subscription);
            }

            var changed = subscription.Update(request.ResourceNames, XdsTypeUrls.IsFullStateType(typeUrl));
            var record = new XdsRequestRecord(
                client.StreamId,
                client.NodeId,
                typeUrl,
                request.VersionInfo,
                request.ResponseNonce,
                [.. request.ResourceNames],
                kind,
                responseVersion,
                request.ErrorDetail?.Code,
                request.ErrorDetail?.Message);
            client.Add(record);
            if (kind == XdsRequestKind.Nack)
            {
                Log.NackReceived(_logger, client.StreamId, typeUrl, responseVersion ?? "(unknown)", record.ErrorMessage ?? string.Empty);
            }
            else
            {
                Log.RequestReceived(_logger, client.StreamId, kind, typeUrl, request.VersionInfo, request.ResponseNonce, request.ResourceNames.Count);
            }

            // A request that leaves the subscription as it was needs no answer: the client has the latest state.
            if (changed && subscription.IsActive && _versions.ContainsKey(typeUrl) && _streams.Contains(stream))
            {
                Send(stream, typeUrl, subscription);
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(record))
                {
                    _waiters[i].Completion.TrySetResult(record);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public void Dispose()
    {
        Waiter[] waiters;
        lock (_lock)
        {
            _disposed = true;
            _accepting = false;
            waiters = [.. _waiters];
            _waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.Completion.TrySetException(new ObjectDisposedException(nameof(XdsTestServer)));
        }
    }

    private string VersionOf(string typeUrl) =>
        _versions.TryGetValue(typeUrl, out var version) ? version.ToString(CultureInfo.InvariantCulture) : string.Empty;

    /// <summary>Queues the type's current state for the stream's subscription. Called under the lock.</summary>
    private void Send(AdsStream stream, string typeUrl, Subscription subscription)
    {
        var version = VersionOf(typeUrl);
        var nonce = (++_lastNonce).ToString(CultureInfo.InvariantCulture);
        var response = new DiscoveryResponse
        {
            VersionInfo = version,
            TypeUrl = typeUrl,
            Nonce = nonce,
            ControlPlane = new ControlPlane { Identifier = Identifier },
        };
        if (_resources.TryGetValue(typeUrl, out var ofType))
        {
            foreach (var (name, resource) in ofType)
            {
                if (subscription.IsWildcard || subscription.Names.Contains(name))
                {
                    response.Resources.Add(resource);
                }
            }
        }

        stream.SentByNonce[nonce] = new SentResponse(typeUrl, version);
        stream.Outgoing.Writer.TryWrite(response);
        Log.ResponseQueued(_logger, stream.Client.StreamId, typeUrl, version, nonce, response.Resources.Count);
    }
}
