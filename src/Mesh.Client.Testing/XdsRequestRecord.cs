using System.Globalization;
using System.Text;

namespace Mesh.Client.Testing;

/// <summary>What a <c>DiscoveryRequest</c> meant, judged against the responses sent on its stream.</summary>
public enum XdsRequestKind
{
    /// <summary>
    /// A subscription: the first request for a type on a stream, or a request that is neither an ACK nor a
    /// NACK (no nonce, or a nonce of no response sent on this stream for this type with this version).
    /// </summary>
    Subscribe,

    /// <summary>
    /// An ACK: no <c>error_detail</c>, and <c>response_nonce</c> and <c>version_info</c> equal to the nonce and
    /// version of a response this stream was sent for the type. An ACK may also change the subscription.
    /// </summary>
    Ack,

    /// <summary>A NACK: <c>error_detail</c> is set.</summary>
    Nack,
}

/// <summary>One <c>DiscoveryRequest</c> a client sent on an ADS stream.</summary>
public sealed class XdsRequestRecord
{
    internal XdsRequestRecord(
        int streamId,
        string nodeId,
        string typeUrl,
        string versionInfo,
        string responseNonce,
        IReadOnlyList<string> resourceNames,
        XdsRequestKind kind,
        string? responseVersion,
        int? errorCode,
        string? errorMessage)
    {
        StreamId = streamId;
        NodeId = nodeId;
        TypeUrl = typeUrl;
        VersionInfo = versionInfo;
        ResponseNonce = responseNonce;
        ResourceNames = resourceNames;
        Kind = kind;
        ResponseVersion = responseVersion;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
    }

    /// <summary>The stream it arrived on (<see cref="XdsTestClient.StreamId"/>).</summary>
    public int StreamId { get; }

    /// <summary>The node id the stream announced; empty if it has not sent one.</summary>
    public string NodeId { get; }

    /// <summary><c>type_url</c>.</summary>
    public string TypeUrl { get; }

    /// <summary><c>version_info</c>: the last version the client accepted for the type.</summary>
    public string VersionInfo { get; }

    /// <summary><c>response_nonce</c>; empty on a first request.</summary>
    public string ResponseNonce { get; }

    /// <summary><c>resource_names</c>: the whole subscription for the type (state of the world).</summary>
    public IReadOnlyList<string> ResourceNames { get; }

    /// <summary>Subscription, ACK or NACK.</summary>
    public XdsRequestKind Kind { get; }

    /// <summary>
    /// The version of the response whose nonce the request carries (for a NACK, the version rejected), or
    /// <see langword="null"/> when the nonce names no response sent on this stream for this type.
    /// </summary>
    public string? ResponseVersion { get; }

    /// <summary>A NACK's <c>error_detail.code</c>; <see langword="null"/> otherwise.</summary>
    public int? ErrorCode { get; }

    /// <summary>A NACK's <c>error_detail.message</c>; <see langword="null"/> otherwise.</summary>
    public string? ErrorMessage { get; }

    /// <summary>A one-line description, for test failure messages.</summary>
    public override string ToString()
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"stream {StreamId} {Kind} {ShortType(TypeUrl)} version '{VersionInfo}' nonce '{ResponseNonce}' [{string.Join(", ", ResourceNames)}]");
        if (Kind == XdsRequestKind.Nack)
        {
            text.Append(CultureInfo.InvariantCulture, $" rejecting version '{ResponseVersion}': {ErrorMessage}");
        }

        return text.ToString();
    }

    private static string ShortType(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('.') + 1)..];
}
