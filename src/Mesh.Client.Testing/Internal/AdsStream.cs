using System.Threading.Channels;
using Envoy.Service.Discovery.V3;

namespace Mesh.Client.Testing.Internal;

/// <summary>
/// The server's side of one ADS stream: what the client subscribed to, the responses sent to it, and the queue
/// the stream's writer drains. Everything but the queue and the drop signal is guarded by the control plane's lock.
/// </summary>
internal sealed class AdsStream
{
    private readonly CancellationTokenSource _dropped = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AdsStream(XdsTestClient client) => Client = client;

    public XdsTestClient Client { get; }

    /// <summary>Responses in the order they were decided; one writer sends them, because gRPC allows one write at a time.</summary>
    public Channel<DiscoveryResponse> Outgoing { get; } =
        Channel.CreateUnbounded<DiscoveryResponse>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Cancelled when the server drops the stream.</summary>
    public CancellationToken Dropped => _dropped.Token;

    public bool IsDropped => _dropped.IsCancellationRequested;

    /// <summary>Completes when the call's handler has returned, so that its status is on its way to the client.</summary>
    public Task Finished => _finished.Task;

    /// <summary>Subscriptions by type URL.</summary>
    public Dictionary<string, Subscription> Subscriptions { get; } = new(StringComparer.Ordinal);

    /// <summary>Every response sent on this stream, by nonce, to classify ACKs and NACKs.</summary>
    public Dictionary<string, SentResponse> SentByNonce { get; } = new(StringComparer.Ordinal);

    /// <remarks>The token source is never disposed: a drop may race the call's own end, and it holds no timer.</remarks>
    public void Drop() => _dropped.Cancel();

    public void MarkFinished() => _finished.TrySetResult();
}

/// <summary>A response sent on a stream.</summary>
internal readonly record struct SentResponse(string TypeUrl, string Version);

/// <summary>
/// A stream's subscription to one type, under the state-of-the-world rules: the names in the latest request
/// are the whole subscription; <c>*</c> subscribes to everything; and for LDS and CDS a first request with no
/// names subscribes to everything too (legacy wildcard), for as long as later requests name nothing.
/// </summary>
internal sealed class Subscription
{
    public const string WildcardName = "*";

    private bool _legacyWildcard;
    private bool _explicitWildcard;
    private HashSet<string> _names = new(StringComparer.Ordinal);
    private bool _seen;

    public bool IsWildcard => _legacyWildcard || _explicitWildcard;

    public IReadOnlySet<string> Names => _names;

    /// <summary>Whether the stream wants anything of this type.</summary>
    public bool IsActive => IsWildcard || _names.Count > 0;

    /// <summary>Applies a request's resource names; returns whether the subscription is new or changed.</summary>
    public bool Update(IReadOnlyCollection<string> requested, bool fullStateType)
    {
        var first = !_seen;
        _seen = true;
        var legacy = requested.Count == 0 && fullStateType && (first || _legacyWildcard);
        var explicitWildcard = requested.Contains(WildcardName);
        var names = new HashSet<string>(requested.Where(n => n != WildcardName), StringComparer.Ordinal);
        var changed = first
            || legacy != _legacyWildcard
            || explicitWildcard != _explicitWildcard
            || !names.SetEquals(_names);
        _legacyWildcard = legacy;
        _explicitWildcard = explicitWildcard;
        _names = names;
        return changed;
    }
}
