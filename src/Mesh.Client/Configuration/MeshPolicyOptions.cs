namespace Mesh.Client.Configuration;

/// <summary>
/// Request policies of a route (or, on a service, the defaults of its routes): timeouts, retries,
/// hedging, fault injection.
/// </summary>
public abstract class MeshRequestPolicyOptions
{
    /// <summary>HttpClient: the whole request's time limit, retries included (<c>"2s"</c>, <c>"500ms"</c>, <c>"00:00:02"</c>).</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>gRPC: the longest a call may last; the smaller of this and the caller's deadline wins (gRFC A31).</summary>
    public TimeSpan? MaxStreamDuration { get; set; }

    /// <summary>gRPC: cap on the caller's deadline; takes precedence over <see cref="MaxStreamDuration"/> (gRFC A31).</summary>
    public TimeSpan? GrpcTimeoutHeaderMax { get; set; }

    /// <summary>Retries of failed requests.</summary>
    public MeshRetryOptions? Retry { get; set; }

    /// <summary>HttpClient: hedged copies of slow requests. Exclusive with <see cref="Retry"/> on one route.</summary>
    public MeshHedgingOptions? Hedging { get; set; }

    /// <summary>Fault injection, for testing resilience.</summary>
    public MeshFaultOptions? Fault { get; set; }
}

/// <summary>A retry policy (gRFC A44, Envoy <c>retry_policy</c>).</summary>
public sealed class MeshRetryOptions
{
    /// <summary>
    /// What is retried, comma-separated: <c>5xx</c>, <c>gateway-error</c>, <c>reset</c>, <c>connect-failure</c>,
    /// <c>retriable-status-codes</c> (HttpClient) and <c>cancelled</c>, <c>deadline-exceeded</c>, <c>internal</c>,
    /// <c>resource-exhausted</c>, <c>unavailable</c> (gRPC). Default <c>"connect-failure,reset,gateway-error,unavailable"</c>.
    /// </summary>
    public string RetryOn { get; set; } = "connect-failure,reset,gateway-error,unavailable";

    /// <summary>Retries after the first attempt (default 1).</summary>
    public int NumRetries { get; set; } = 1;

    /// <summary>First backoff (default 25 ms).</summary>
    public TimeSpan BaseInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Largest backoff (default 10 × <see cref="BaseInterval"/>).</summary>
    public TimeSpan? MaxInterval { get; set; }

    /// <summary>HttpClient: time limit per attempt.</summary>
    public TimeSpan? PerTryTimeout { get; set; }

    /// <summary>HttpClient: statuses retried with <c>retriable-status-codes</c>.</summary>
    public IList<int> RetriableStatusCodes { get; } = [];

    /// <summary>HttpClient: also retry POST and PATCH. Off by default: they may not be safe to repeat.</summary>
    public bool RetryNonIdempotent { get; set; }
}

/// <summary>HttpClient hedging.</summary>
public sealed class MeshHedgingOptions
{
    /// <summary>Copies besides the first request (default 1).</summary>
    public int MaxHedgedAttempts { get; set; } = 1;

    /// <summary>Wait this long for a response before sending the next copy (default 2 s).</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Fault injection (gRFC A33, Envoy's fault filter).</summary>
public sealed class MeshFaultOptions
{
    /// <summary>Delay requests.</summary>
    public MeshFaultDelayOptions? Delay { get; set; }

    /// <summary>Fail requests instead of sending them.</summary>
    public MeshFaultAbortOptions? Abort { get; set; }

    /// <summary>At most this many requests faulted at once.</summary>
    public int? MaxActiveFaults { get; set; }
}

/// <summary>An injected delay.</summary>
public sealed class MeshFaultDelayOptions
{
    /// <summary>The delay.</summary>
    public TimeSpan? Fixed { get; set; }

    /// <summary>Take the delay from the <c>x-envoy-fault-delay-request</c> header (milliseconds).</summary>
    public bool FromHeader { get; set; }

    /// <summary>Percentage of requests delayed (0–100, decimals allowed; default 100).</summary>
    public double Percentage { get; set; } = 100;
}

/// <summary>An injected failure.</summary>
public sealed class MeshFaultAbortOptions
{
    /// <summary>HTTP status answered to HttpClient requests (and mapped to a gRPC status when <see cref="GrpcStatus"/> is not set).</summary>
    public int? HttpStatus { get; set; }

    /// <summary>gRPC status code (0–16) gRPC calls fail with.</summary>
    public int? GrpcStatus { get; set; }

    /// <summary>Take the status from the <c>x-envoy-fault-abort-request</c> / <c>x-envoy-fault-abort-grpc-request</c> headers.</summary>
    public bool FromHeader { get; set; }

    /// <summary>Percentage of requests aborted (0–100, decimals allowed; default 100).</summary>
    public double Percentage { get; set; } = 100;
}

/// <summary>Outlier detection of a service's endpoints (gRFC A50).</summary>
public sealed class MeshOutlierDetectionOptions
{
    /// <summary>How often endpoints are judged (default 10 s).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Base ejection time (default 30 s), multiplied by consecutive ejections.</summary>
    public TimeSpan BaseEjectionTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest ejection (default 300 s).</summary>
    public TimeSpan MaxEjectionTime { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Most endpoints ejected at once, in percent (default 10).</summary>
    public int MaxEjectionPercent { get; set; } = 10;

    /// <summary>Success-rate ejection; off unless set.</summary>
    public MeshSuccessRateOptions? SuccessRate { get; set; }

    /// <summary>Failure-percentage ejection; off unless set.</summary>
    public MeshFailurePercentageOptions? FailurePercentage { get; set; }
}

/// <summary>Success-rate ejection settings.</summary>
public sealed class MeshSuccessRateOptions
{
    /// <summary>Standard deviation factor in thousandths (default 1900).</summary>
    public int StdevFactor { get; set; } = 1900;

    /// <summary>Chance an outlier is ejected, in percent (default 100).</summary>
    public int EnforcementPercentage { get; set; } = 100;

    /// <summary>Endpoints with enough requests needed (default 5).</summary>
    public int MinimumHosts { get; set; } = 5;

    /// <summary>Requests per interval an endpoint needs to be judged (default 100).</summary>
    public int RequestVolume { get; set; } = 100;
}

/// <summary>Failure-percentage ejection settings.</summary>
public sealed class MeshFailurePercentageOptions
{
    /// <summary>Failure percentage above which an endpoint is ejected (default 85).</summary>
    public int Threshold { get; set; } = 85;

    /// <summary>Chance an outlier is ejected, in percent (default 100).</summary>
    public int EnforcementPercentage { get; set; } = 100;

    /// <summary>Endpoints with enough requests needed (default 5).</summary>
    public int MinimumHosts { get; set; } = 5;

    /// <summary>Requests per interval an endpoint needs to be judged (default 50).</summary>
    public int RequestVolume { get; set; } = 50;
}
