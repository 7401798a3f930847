namespace Mesh.Client.Model;

/// <summary>Faults to inject into requests (gRFC A33, Envoy's fault filter).</summary>
internal sealed record FaultPolicy
{
    /// <summary>The delay to add, if any.</summary>
    public FaultDelay? Delay { get; init; }

    /// <summary>The failure to answer with instead of sending, if any.</summary>
    public FaultAbort? Abort { get; init; }

    /// <summary>At most this many requests are being faulted at once (xDS <c>max_active_faults</c>); unlimited when null.</summary>
    public uint? MaxActiveFaults { get; init; }
}

/// <summary>An injected delay.</summary>
internal sealed record FaultDelay
{
    /// <summary>The delay, unless it comes from the request header <c>x-envoy-fault-delay-request</c> (milliseconds).</summary>
    public TimeSpan? FixedDelay { get; init; }

    /// <summary>Take the delay from the <c>x-envoy-fault-delay-request</c> header.</summary>
    public bool FromHeader { get; init; }

    /// <summary>Share of requests delayed, in parts per million.</summary>
    public uint PerMillion { get; init; } = 1_000_000;
}

/// <summary>An injected failure.</summary>
internal sealed record FaultAbort
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
