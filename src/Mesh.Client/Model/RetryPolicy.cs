namespace Mesh.Client.Model;

/// <summary>What makes a request worth retrying (xDS <c>retry_on</c>).</summary>
[Flags]
internal enum RetryOn
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>HttpClient: any 5xx response.</summary>
    Http5xx = 1 << 0,

    /// <summary>HttpClient: 502, 503 or 504.</summary>
    GatewayError = 1 << 1,

    /// <summary>The connection broke before a response (reset, refused stream, disconnect).</summary>
    Reset = 1 << 2,

    /// <summary>No connection could be made.</summary>
    ConnectFailure = 1 << 3,

    /// <summary>HttpClient: a status listed in <see cref="RetryPolicy.RetriableStatusCodes"/>.</summary>
    RetriableStatusCodes = 1 << 4,

    /// <summary>gRPC status CANCELLED.</summary>
    Cancelled = 1 << 5,

    /// <summary>gRPC status DEADLINE_EXCEEDED.</summary>
    DeadlineExceeded = 1 << 6,

    /// <summary>gRPC status INTERNAL.</summary>
    Internal = 1 << 7,

    /// <summary>gRPC status RESOURCE_EXHAUSTED.</summary>
    ResourceExhausted = 1 << 8,

    /// <summary>gRPC status UNAVAILABLE.</summary>
    Unavailable = 1 << 9,
}

/// <summary>A route's retry policy (gRFC A44, Envoy <c>RetryPolicy</c>).</summary>
internal sealed record RetryPolicy
{
    /// <summary>What is retried.</summary>
    public RetryOn RetryOn { get; init; }

    /// <summary>Retries after the first attempt (xDS <c>num_retries</c>, default 1).</summary>
    public int NumRetries { get; init; } = 1;

    /// <summary>First backoff interval; later ones grow exponentially with jitter (default 25 ms).</summary>
    public TimeSpan BaseInterval { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Largest backoff interval (default 10 × <see cref="BaseInterval"/>).</summary>
    public TimeSpan? MaxInterval { get; init; }

    /// <summary>HttpClient: time limit for each attempt.</summary>
    public TimeSpan? PerTryTimeout { get; init; }

    /// <summary>HttpClient: response statuses retried when <see cref="RetryOn"/> has <see cref="RetryOn.RetriableStatusCodes"/>.</summary>
    public IReadOnlyList<int> RetriableStatusCodes { get; init; } = [];

    /// <summary>HttpClient: also retry methods that are not idempotent (POST, PATCH). Off unless the route says so.</summary>
    public bool RetryNonIdempotent { get; init; }

    /// <summary>The maximum backoff in effect.</summary>
    public TimeSpan EffectiveMaxInterval => MaxInterval ?? BaseInterval * 10;
}
