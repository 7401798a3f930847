namespace Mesh.Client.Model;

/// <summary>One route: which requests it matches and which cluster(s) they go to.</summary>
public sealed record MeshRoute
{
    /// <summary>Optional name, for diagnostics.</summary>
    public string? Name { get; init; }

    /// <summary>What a request must look like to take this route.</summary>
    public required RouteMatch Match { get; init; }

    /// <summary>Where a matching request goes: one or more clusters with weights.</summary>
    public required IReadOnlyList<WeightedCluster> Clusters { get; init; }

    /// <summary>How to compute the request hash for <c>ring_hash</c> and <c>maglev</c> clusters.</summary>
    public IReadOnlyList<HashPolicy> HashPolicies { get; init; } = [];

    /// <summary>
    /// When set, requests that take this route fail with this message instead of being sent (a route whose
    /// action a client cannot carry out, such as an xDS redirect or non-forwarding action).
    /// </summary>
    public string? ErrorMessage { get; init; }

    /// <summary>
    /// When set, the cluster is named by this request header instead of <see cref="Clusters"/> (xDS
    /// <c>cluster_header</c>); a request without the header, or naming an unknown cluster, fails.
    /// </summary>
    public string? ClusterHeader { get; init; }

    /// <summary>HttpClient: the time the whole request may take, retries included (xDS route <c>timeout</c>).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>gRPC: the longest a call may last (gRFC A31 <c>max_stream_duration</c>); the smaller of this and the caller's deadline wins.</summary>
    public TimeSpan? MaxStreamDuration { get; init; }

    /// <summary>gRPC: cap applied to the deadline the caller sends (gRFC A31 <c>grpc_timeout_header_max</c>).</summary>
    public TimeSpan? GrpcTimeoutHeaderMax { get; init; }

    /// <summary>How failed requests are retried (gRFC A44), or <see langword="null"/> for no retries.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>HttpClient: send hedged copies of a slow request to other endpoints (beyond gRPC's xDS clients).</summary>
    public HedgingPolicy? Hedging { get; init; }

    /// <summary>Faults to inject, for testing resilience (gRFC A33).</summary>
    public FaultPolicy? Fault { get; init; }
}

/// <summary>What makes a request worth retrying (xDS <c>retry_on</c>).</summary>
[Flags]
public enum RetryOn
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
public sealed record RetryPolicy
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

/// <summary>HttpClient hedging: after <see cref="Delay"/> without a response, send a copy to another endpoint; the first response wins.</summary>
public sealed record HedgingPolicy
{
    /// <summary>Copies besides the first request (default 1).</summary>
    public int MaxHedgedAttempts { get; init; } = 1;

    /// <summary>How long to wait for a response before the next copy (default 2 s).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Faults to inject into requests (gRFC A33, Envoy's fault filter).</summary>
public sealed record FaultPolicy
{
    /// <summary>The delay to add, if any.</summary>
    public FaultDelay? Delay { get; init; }

    /// <summary>The failure to answer with instead of sending, if any.</summary>
    public FaultAbort? Abort { get; init; }

    /// <summary>At most this many requests are being faulted at once (xDS <c>max_active_faults</c>); unlimited when null.</summary>
    public uint? MaxActiveFaults { get; init; }
}

/// <summary>An injected delay.</summary>
public sealed record FaultDelay
{
    /// <summary>The delay, unless it comes from the request header <c>x-envoy-fault-delay-request</c> (milliseconds).</summary>
    public TimeSpan? FixedDelay { get; init; }

    /// <summary>Take the delay from the <c>x-envoy-fault-delay-request</c> header.</summary>
    public bool FromHeader { get; init; }

    /// <summary>Share of requests delayed, in parts per million.</summary>
    public uint PerMillion { get; init; } = 1_000_000;
}

/// <summary>An injected failure.</summary>
public sealed record FaultAbort
{
    /// <summary>HTTP status to answer HttpClient requests with (and, mapped, gRPC calls when <see cref="GrpcStatus"/> is not set).</summary>
    public int? HttpStatus { get; init; }

    /// <summary>gRPC status code to fail gRPC calls with.</summary>
    public int? GrpcStatus { get; init; }

    /// <summary>Take the status from the <c>x-envoy-fault-abort-request</c> / <c>x-envoy-fault-abort-grpc-request</c> headers.</summary>
    public bool FromHeader { get; init; }

    /// <summary>Share of requests aborted, in parts per million.</summary>
    public uint PerMillion { get; init; } = 1_000_000;
}

/// <summary>The conditions a request must meet to take a route. All of them must hold.</summary>
public sealed record RouteMatch
{
    /// <summary>A match that takes every request.</summary>
    public static RouteMatch Any { get; } = new() { Path = PathMatch.Any };

    /// <summary>The path condition.</summary>
    public required PathMatch Path { get; init; }

    /// <summary>Header conditions; every one must hold.</summary>
    public IReadOnlyList<HeaderMatch> Headers { get; init; } = [];

    /// <summary>
    /// HttpClient: query-parameter conditions; every one must hold. gRPC calls have no query, so a route with
    /// any never matches a call (gRPC's xDS clients skip such routes).
    /// </summary>
    public IReadOnlyList<QueryParameterMatch> QueryParameters { get; init; } = [];

    /// <summary>
    /// When set, the route matches only this share of the requests that meet its other conditions, in
    /// parts per million (xDS <c>runtime_fraction</c>).
    /// </summary>
    public uint? FractionPerMillion { get; init; }
}

/// <summary>How a route matches the request path.</summary>
public enum PathMatchKind
{
    /// <summary>The path starts with the value.</summary>
    Prefix,

    /// <summary>The path equals the value.</summary>
    Exact,

    /// <summary>The whole path matches a regular expression (RE2 semantics: linear time, no backtracking).</summary>
    Regex,
}

/// <summary>A path condition.</summary>
/// <param name="Kind">Prefix, exact or regular expression.</param>
/// <param name="Value">The prefix, path or pattern.</param>
/// <param name="CaseSensitive">Whether the comparison is case sensitive (the xDS default).</param>
public sealed record PathMatch(PathMatchKind Kind, string Value, bool CaseSensitive = true)
{
    /// <summary>Matches every path (prefix <c>""</c>).</summary>
    public static PathMatch Any { get; } = new(PathMatchKind.Prefix, string.Empty);
}

/// <summary>How a header condition compares the header's value.</summary>
public enum HeaderMatchKind
{
    /// <summary>The value equals the expected value.</summary>
    Exact,

    /// <summary>The value starts with the expected value.</summary>
    Prefix,

    /// <summary>The value ends with the expected value.</summary>
    Suffix,

    /// <summary>The value contains the expected value.</summary>
    Contains,

    /// <summary>The whole value matches a regular expression (RE2 semantics).</summary>
    Regex,

    /// <summary>The header is present (any value).</summary>
    Present,

    /// <summary>The value is an integer in [<see cref="HeaderMatch.RangeStart"/>, <see cref="HeaderMatch.RangeEnd"/>).</summary>
    Range,
}

/// <summary>A header condition. Several values of one header are compared joined by <c>,</c>.</summary>
public sealed record HeaderMatch
{
    /// <summary>Header name (case-insensitive).</summary>
    public required string Name { get; init; }

    /// <summary>How the value is compared.</summary>
    public required HeaderMatchKind Kind { get; init; }

    /// <summary>The expected value, prefix, suffix, substring or pattern. Unused for <see cref="HeaderMatchKind.Present"/> and <see cref="HeaderMatchKind.Range"/>.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>Compare the value ignoring case (exact, prefix, suffix, contains).</summary>
    public bool IgnoreCase { get; init; }

    /// <summary>Inclusive lower bound for <see cref="HeaderMatchKind.Range"/>.</summary>
    public long RangeStart { get; init; }

    /// <summary>Exclusive upper bound for <see cref="HeaderMatchKind.Range"/>.</summary>
    public long RangeEnd { get; init; }

    /// <summary>For <see cref="HeaderMatchKind.Present"/>: <see langword="true"/> to require the header, <see langword="false"/> to require its absence.</summary>
    public bool PresentMatch { get; init; } = true;

    /// <summary>Invert the result of the condition.</summary>
    public bool Invert { get; init; }
}

/// <summary>A query-parameter condition: the first value of the parameter is compared.</summary>
public sealed record QueryParameterMatch
{
    /// <summary>Parameter name (case-sensitive).</summary>
    public required string Name { get; init; }

    /// <summary>How the value is compared: exact, prefix, suffix, contains, regex, or present.</summary>
    public required HeaderMatchKind Kind { get; init; }

    /// <summary>The expected value or pattern.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>Compare ignoring case.</summary>
    public bool IgnoreCase { get; init; }
}

/// <summary>A cluster a route sends traffic to, with its share of the route's traffic.</summary>
/// <param name="Cluster">Cluster name.</param>
/// <param name="Weight">Relative weight; a route's weights need not add up to 100.</param>
public sealed record WeightedCluster(string Cluster, uint Weight = 1);

/// <summary>Where a request hash comes from.</summary>
public enum HashPolicyKind
{
    /// <summary>The value of a request header.</summary>
    Header,

    /// <summary>The identity of the calling client (one HttpClient handler or one gRPC channel).</summary>
    ChannelId,

    /// <summary>HttpClient: the value of a cookie of the request.</summary>
    Cookie,
}

/// <summary>One way to compute the request hash that <c>ring_hash</c> and <c>maglev</c> pick by.</summary>
/// <param name="Kind">The hash source.</param>
/// <param name="Name">The header name for <see cref="HashPolicyKind.Header"/>, the cookie name for <see cref="HashPolicyKind.Cookie"/>.</param>
/// <param name="Terminal">When this policy yields a hash, stop evaluating the policies after it.</param>
public sealed record HashPolicy(HashPolicyKind Kind, string Name = "", bool Terminal = false);
