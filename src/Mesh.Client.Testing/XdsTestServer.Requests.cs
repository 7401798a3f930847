using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing;

public sealed partial class XdsTestServer
{
    /// <summary>How long the <c>WaitFor…Async</c> methods wait when no timeout is given: 15 seconds.</summary>
    public static TimeSpan DefaultWaitTimeout { get; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Completes when some client has ACKed <paramref name="version"/> of <paramref name="typeUrl"/>, now or earlier.
    /// </summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="version">The version, as returned by <see cref="SetResource(Any)"/> or <see cref="Update"/>.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultWaitTimeout"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The ACK.</returns>
    /// <exception cref="TimeoutException">No such ACK in time; the message lists the requests received.</exception>
    public Task<XdsRequestRecord> WaitForAckAsync(string typeUrl, string version, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentNullException.ThrowIfNull(version);
        return WaitForRequestAsync(
            r => r.Kind == XdsRequestKind.Ack && r.TypeUrl == typeUrl && r.VersionInfo == version,
            $"an ACK of {typeUrl} version '{version}'",
            timeout,
            cancellationToken);
    }

    /// <summary>
    /// Completes when some client has NACKed a response of <paramref name="typeUrl"/>, now or earlier.
    /// </summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="version">
    /// The rejected version (<see cref="XdsRequestRecord.ResponseVersion"/>, the version of the response whose
    /// nonce the NACK carries, not the NACK's own <c>version_info</c>); any version when <see langword="null"/>.
    /// </param>
    /// <param name="timeout">How long to wait; <see cref="DefaultWaitTimeout"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The NACK, whose <see cref="XdsRequestRecord.ErrorMessage"/> says what the client rejected.</returns>
    /// <exception cref="TimeoutException">No such NACK in time; the message lists the requests received.</exception>
    public Task<XdsRequestRecord> WaitForNackAsync(string typeUrl, string? version = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        return WaitForRequestAsync(
            r => r.Kind == XdsRequestKind.Nack && r.TypeUrl == typeUrl && (version is null || r.ResponseVersion == version),
            version is null ? $"a NACK of {typeUrl}" : $"a NACK of {typeUrl} version '{version}'",
            timeout,
            cancellationToken);
    }

    /// <summary>
    /// Completes with the first request, already received or still to come, on any stream, that matches
    /// <paramref name="predicate"/>; e.g. a subscription to a given name, or the first request of a new stream.
    /// </summary>
    /// <param name="predicate">Tests a request. It runs under the server's lock: keep it to the request's own data.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultWaitTimeout"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The request.</returns>
    /// <exception cref="TimeoutException">No such request in time; the message lists the requests received.</exception>
    public Task<XdsRequestRecord> WaitForRequestAsync(Func<XdsRequestRecord, bool> predicate, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return WaitForRequestAsync(predicate, "a matching request", timeout, cancellationToken);
    }

    private Task<XdsRequestRecord> WaitForRequestAsync(Func<XdsRequestRecord, bool> predicate, string what, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var bound = timeout ?? DefaultWaitTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bound, TimeSpan.Zero, nameof(timeout));
        return _plane.WaitAsync(predicate, what, bound, cancellationToken);
    }
}
