namespace Mesh.Client.Testing;

/// <summary>
/// One ADS stream a client opened to an <see cref="XdsTestServer"/>, with everything it sent. A client that
/// reconnects appears again with a new <see cref="StreamId"/>; closed streams stay listed.
/// </summary>
public sealed class XdsTestClient
{
    private readonly Lock _lock = new();
    private readonly List<XdsRequestRecord> _requests = [];
    private volatile bool _connected = true;
    private volatile NodeIdentity? _node;

    internal XdsTestClient(int streamId, string peer)
    {
        StreamId = streamId;
        Peer = peer;
    }

    /// <summary>The stream's number, 1 for the first stream the server accepted; unique across restarts.</summary>
    public int StreamId { get; }

    /// <summary>The peer address as gRPC reports it, e.g. <c>ipv4:127.0.0.1:50412</c>.</summary>
    public string Peer { get; }

    /// <summary>The node id from the first request that carried a node; empty before then.</summary>
    public string NodeId => _node?.Id ?? string.Empty;

    /// <summary>The node's <c>cluster</c>; empty before the first request that carried a node.</summary>
    public string NodeCluster => _node?.Cluster ?? string.Empty;

    /// <summary>The node's <c>user_agent_name</c>; empty before the first request that carried a node.</summary>
    public string UserAgentName => _node?.UserAgentName ?? string.Empty;

    /// <summary>The node's <c>client_features</c>, e.g. <c>envoy.lb.does_not_support_overprovisioning</c>.</summary>
    public IReadOnlyList<string> ClientFeatures => _node?.ClientFeatures ?? [];

    /// <summary>Whether the stream is still open.</summary>
    public bool IsConnected => _connected;

    /// <summary>A snapshot of the requests received on the stream, oldest first.</summary>
    public IReadOnlyList<XdsRequestRecord> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    internal bool HasNode => _node is not null;

    internal void SetNode(string id, string cluster, string userAgentName, IReadOnlyList<string> clientFeatures) =>
        _node = new NodeIdentity(id, cluster, userAgentName, clientFeatures);

    internal void Add(XdsRequestRecord record)
    {
        lock (_lock)
        {
            _requests.Add(record);
        }
    }

    internal void MarkDisconnected() => _connected = false;

    /// <inheritdoc />
    public override string ToString() =>
        $"stream {StreamId} node '{NodeId}' {(IsConnected ? "connected" : "closed")}";

    private sealed record NodeIdentity(string Id, string Cluster, string UserAgentName, IReadOnlyList<string> ClientFeatures);
}
