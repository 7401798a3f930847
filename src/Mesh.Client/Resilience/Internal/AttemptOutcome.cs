namespace Mesh.Client.Resilience.Internal;

/// <summary>How an attempt failed before any response, as retry and outlier decisions see it.</summary>
internal enum AttemptFailure : byte
{
    /// <summary>No failure: the attempt has a response (an HTTP status or a gRPC status).</summary>
    None,

    /// <summary>The mesh refused the attempt (circuit breaker, no route, no endpoint, a gRPC drop): never retried, not the endpoint's fault.</summary>
    Refused,

    /// <summary>The attempt was cancelled (by the caller, or by a per-try timeout from inside): not retried here, not counted.</summary>
    Cancelled,

    /// <summary>The per-try timeout fired.</summary>
    PerTryTimeout,

    /// <summary>No connection could be made: refused, name resolution, TLS handshake.</summary>
    ConnectFailure,

    /// <summary>The connection broke while the request was under way.</summary>
    Reset,

    /// <summary>Any other error: not retried, counted against the endpoint.</summary>
    Other,
}

/// <summary>
/// The outcome of one attempt, filled by a front door and read by the one retry classification
/// (<see cref="RetryClassifier"/>) and the one outlier recording (<see cref="OutcomeRecorder"/>) both doors use.
/// An HttpClient attempt fills <see cref="HttpStatus"/> (see <see cref="HttpOutcome"/>), a gRPC attempt
/// <see cref="GrpcStatus"/>; the other stays -1.
/// </summary>
internal readonly record struct AttemptOutcome(AttemptFailure Failure, int HttpStatus, int GrpcStatus, bool Idempotent, bool Committed)
{
    /// <summary>
    /// A gRPC attempt that ended with <paramref name="status"/>. A drop (circuit breaker) is a refusal; a committed
    /// attempt (response headers arrived) is never retried (gRFC A6). gRPC does not ask about idempotency.
    /// </summary>
    public static AttemptOutcome Grpc(int status, bool dropped, bool committed) =>
        new(dropped ? AttemptFailure.Refused : AttemptFailure.None, -1, status, Idempotent: true, committed);

    /// <summary>A transport error below the call (the connection failed or broke): counted against the endpoint, not retried by itself.</summary>
    public static AttemptOutcome TransportError { get; } = new(AttemptFailure.Other, -1, -1, Idempotent: true, Committed: false);

    /// <summary>Whether the attempt failed as an outcome counts for hedging and outlier detection: an error of the endpoint or the network, or a 5xx.</summary>
    public bool IsEndpointFailure => Failure switch
    {
        AttemptFailure.Refused or AttemptFailure.Cancelled => false,
        AttemptFailure.None => GrpcStatus >= 0 ? GrpcStatus != 0 : HttpStatus >= 500,
        _ => true,
    };

    /// <summary>Whether the endpoint answered in a way that counts as a success for outlier detection.</summary>
    public bool IsEndpointSuccess => Failure == AttemptFailure.None && !IsEndpointFailure;
}
