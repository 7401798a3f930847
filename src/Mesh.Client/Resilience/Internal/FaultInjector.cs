using System.Globalization;
using Grpc.Core;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Resilience.Internal;

/// <summary>
/// Decides which faults a request gets (gRFC A33, Envoy's fault filter): a delay before anything is sent,
/// then possibly an abort instead of sending. Also keeps the gauge of requests being faulted, which
/// <see cref="FaultPolicy.MaxActiveFaults"/> limits.
/// </summary>
/// <remarks>
/// <para>
/// The active-fault gauge belongs to this instance: gRFC A33 wants one per process, so the mesh keeps one
/// injector for all its HttpClient handlers and gRPC channels. Every faulted request counts, whether or not
/// its policy sets a limit, as Envoy's <c>active_faults</c> gauge does.
/// </para>
/// <para>
/// Header control follows Envoy and gRPC: headers are read only when the policy says
/// <see cref="FaultDelay.FromHeader"/> / <see cref="FaultAbort.FromHeader"/>, and then the configured
/// <see cref="FaultDelay.FixedDelay"/>, <see cref="FaultAbort.HttpStatus"/> and <see cref="FaultAbort.GrpcStatus"/>
/// are ignored (in xDS they are one <c>oneof</c>). Invalid headers are ignored. When a header has several
/// values, the last one counts (gRFC A33 lets implementations pick any; grpc-go takes the last).
/// </para>
/// </remarks>
internal sealed class FaultInjector(MeshRandom random)
{
    /// <summary>Delay in milliseconds (header-controlled delay).</summary>
    public const string DelayHeader = "x-envoy-fault-delay-request";

    /// <summary>Lowers the share of delayed requests (header-controlled delay).</summary>
    public const string DelayPercentageHeader = "x-envoy-fault-delay-request-percentage";

    /// <summary>HTTP status to abort with (header-controlled abort); wins over <see cref="AbortGrpcHeader"/>.</summary>
    public const string AbortHttpHeader = "x-envoy-fault-abort-request";

    /// <summary>gRPC status code to abort with (header-controlled abort).</summary>
    public const string AbortGrpcHeader = "x-envoy-fault-abort-grpc-request";

    /// <summary>Lowers the share of aborted requests (header-controlled abort).</summary>
    public const string AbortPercentageHeader = "x-envoy-fault-abort-request-percentage";

    private const uint Million = 1_000_000;

    // A percentage header is a numerator over the denominator the filter was configured with (Envoy
    // HeaderPercentageProvider). The model keeps only parts per million, so the header is read as a percentage
    // (numerator over HUNDRED, the xDS default denominator): exact for filters configured in HUNDRED, and a
    // header of 5 means 5 % rather than 5 per million for filters configured in MILLION. Either way it can only
    // lower the configured share, never raise it.
    private const uint PerMillionPerPercent = 10_000;

    // Task.Delay accepts at most uint.MaxValue - 1 milliseconds; a longer header delay is invalid, so ignored.
    private const uint MaxHeaderDelayMilliseconds = uint.MaxValue - 1;

    private const int MaxGrpcStatus = (int)StatusCode.Unauthenticated;

    private int _activeFaults;

    /// <summary>The number of requests holding a fault right now (decided and not yet disposed).</summary>
    public int ActiveFaults => Volatile.Read(ref _activeFaults);

    /// <summary>
    /// Decides the faults for one request: the delay is decided first, then the abort, each with its own draw
    /// (gRFC A33), so a request may get both. The caller applies the delay, then the abort, and disposes the
    /// decision when the faults are over (at the latest when the request ends), which frees its active-fault slot.
    /// </summary>
    /// <typeparam name="TRequest">How the request is read.</typeparam>
    /// <param name="policy">The route's fault policy.</param>
    /// <param name="request">The request.</param>
    /// <returns>The faults to apply; <see cref="FaultDecision.HasFault"/> is false when there are none.</returns>
    public FaultDecision Decide<TRequest>(FaultPolicy policy, in TRequest request)
        where TRequest : struct, IRequestView
    {
        // Envoy checks the limit before deciding anything; the exact check is the reservation below.
        if (policy.MaxActiveFaults is { } max && Volatile.Read(ref _activeFaults) >= max)
        {
            return default;
        }

        var delay = policy.Delay is { } delayPolicy ? DecideDelay(delayPolicy, request) : TimeSpan.Zero;
        var grpcStatus = -1;
        var httpStatus = -1;
        if (policy.Abort is { } abortPolicy)
        {
            DecideAbort(abortPolicy, request, out httpStatus, out grpcStatus);
        }

        if (delay == TimeSpan.Zero && grpcStatus < 0)
        {
            return default;
        }

        return TryReserve(policy.MaxActiveFaults)
            ? new FaultDecision(new FaultSlot(this), delay, httpStatus, grpcStatus)
            : default;
    }

    /// <summary>
    /// Maps an HTTP status to the gRPC status a client reports for it (gRPC <c>http-grpc-status-mapping.md</c>);
    /// 200 maps to UNKNOWN, as for a response without <c>grpc-status</c> (gRFC A33 "200/OK Error Injection").
    /// </summary>
    /// <param name="httpStatus">The HTTP status.</param>
    /// <returns>The gRPC status code.</returns>
    public static int GrpcStatusFromHttp(int httpStatus) => httpStatus switch
    {
        400 => (int)StatusCode.Internal,
        401 => (int)StatusCode.Unauthenticated,
        403 => (int)StatusCode.PermissionDenied,
        404 => (int)StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => (int)StatusCode.Unavailable,
        _ => (int)StatusCode.Unknown,
    };

    /// <summary>
    /// The HTTP status an HttpClient request is answered with when only a gRPC status is configured: 200 for OK,
    /// otherwise 503. Envoy answers 200 and puts the code in <c>grpc-status</c>, which only a gRPC caller
    /// understands; gRPC callers read <see cref="FaultDecision.AbortGrpcStatus"/> instead, and a plain HTTP caller
    /// that asked for a failure should see one.
    /// </summary>
    /// <param name="grpcStatus">The gRPC status code.</param>
    /// <returns>The HTTP status.</returns>
    public static int HttpStatusFromGrpc(int grpcStatus) => grpcStatus == (int)StatusCode.OK ? 200 : 503;

    private TimeSpan DecideDelay<TRequest>(FaultDelay policy, in TRequest request)
        where TRequest : struct, IRequestView
    {
        var perMillion = Math.Min(policy.PerMillion, Million);
        if (perMillion == 0)
        {
            // Headers can only lower the share, so there is nothing to read.
            return TimeSpan.Zero;
        }

        TimeSpan delay;
        if (policy.FromHeader)
        {
            if (!TryGetUInt32Header(request, DelayHeader, out var milliseconds) || milliseconds > MaxHeaderDelayMilliseconds)
            {
                return TimeSpan.Zero;
            }

            delay = TimeSpan.FromMilliseconds(milliseconds);
            perMillion = LowerByHeader(request, DelayPercentageHeader, perMillion);
        }
        else
        {
            delay = policy.FixedDelay ?? TimeSpan.Zero;
        }

        // A zero delay is no fault (grpc-go), so it takes no draw and no active-fault slot.
        return delay > TimeSpan.Zero && Draw(perMillion) ? delay : TimeSpan.Zero;
    }

    private void DecideAbort<TRequest>(FaultAbort policy, in TRequest request, out int httpStatus, out int grpcStatus)
        where TRequest : struct, IRequestView
    {
        httpStatus = -1;
        grpcStatus = -1;
        var perMillion = Math.Min(policy.PerMillion, Million);
        if (perMillion == 0)
        {
            return;
        }

        int http, grpc;
        if (policy.FromHeader)
        {
            // Envoy: a valid HTTP status wins, and gRPC calls get it mapped; the gRPC header is read only without one.
            if (TryGetUInt32Header(request, AbortHttpHeader, out var headerHttp) && IsValidHttpStatus(headerHttp))
            {
                http = (int)headerHttp;
                grpc = GrpcStatusFromHttp(http);
            }
            else if (TryGetUInt32Header(request, AbortGrpcHeader, out var headerGrpc) && headerGrpc <= MaxGrpcStatus)
            {
                grpc = (int)headerGrpc;
                http = HttpStatusFromGrpc(grpc);
            }
            else
            {
                return;
            }

            perMillion = LowerByHeader(request, AbortPercentageHeader, perMillion);
        }
        else if (policy.GrpcStatus is { } configuredGrpc)
        {
            // Our model may carry both statuses (xDS carries one): each kind of caller gets its own. An out-of-range
            // code becomes UNKNOWN, as in grpc-go; validating configuration is not this class's job.
            grpc = configuredGrpc is >= 0 and <= MaxGrpcStatus ? configuredGrpc : (int)StatusCode.Unknown;
            http = policy.HttpStatus is { } configuredHttp && IsValidHttpStatus(configuredHttp)
                ? configuredHttp
                : HttpStatusFromGrpc(grpc);
        }
        else if (policy.HttpStatus is { } configuredHttp && IsValidHttpStatus(configuredHttp))
        {
            http = configuredHttp;
            grpc = GrpcStatusFromHttp(http);
        }
        else
        {
            return;
        }

        if (Draw(perMillion))
        {
            httpStatus = http;
            grpcStatus = grpc;
        }
    }

    private bool Draw(uint perMillion) => perMillion switch
    {
        0 => false,
        >= Million => true,
        _ => random.NextInt64(Million) < perMillion,
    };

    private bool TryReserve(uint? max)
    {
        if (max is not { } limit)
        {
            Interlocked.Increment(ref _activeFaults);
            return true;
        }

        // Compare-and-swap rather than increment-then-undo, so the gauge never shows more than the limit.
        var current = Volatile.Read(ref _activeFaults);
        while (current < limit)
        {
            var seen = Interlocked.CompareExchange(ref _activeFaults, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    private void Release() => Interlocked.Decrement(ref _activeFaults);

    private static bool IsValidHttpStatus(long status) => status is >= 200 and < 600;

    private static uint LowerByHeader<TRequest>(in TRequest request, string header, uint configured)
        where TRequest : struct, IRequestView
    {
        if (!TryGetUInt32Header(request, header, out var percent))
        {
            return configured;
        }

        return (uint)Math.Min((ulong)percent * PerMillionPerPercent, configured);
    }

    private static bool TryGetUInt32Header<TRequest>(in TRequest request, string name, out uint value)
        where TRequest : struct, IRequestView
    {
        value = 0;
        if (!request.TryGetHeader(name, out var text))
        {
            return false;
        }

        // Several values arrive joined by ','; the last one counts.
        var span = text.AsSpan();
        var comma = span.LastIndexOf(',');
        if (comma >= 0)
        {
            span = span[(comma + 1)..];
        }

        // Digits only, as Envoy's SimpleAtoi into an unsigned type: no sign, no decimals, no exponent.
        return uint.TryParse(span.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>One request's hold on the active-fault gauge, released once however many copies are disposed.</summary>
    internal sealed class FaultSlot(FaultInjector owner)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release();
            }
        }
    }
}

/// <summary>
/// The faults decided for one request. <see langword="default"/> means none. Disposing it (once or more, from
/// any copy) frees the active-fault slot it holds.
/// </summary>
internal readonly struct FaultDecision : IDisposable
{
    private readonly FaultInjector.FaultSlot? _slot;
    private readonly TimeSpan _delay;
    private readonly int _httpStatus;
    private readonly int _grpcStatus;

    internal FaultDecision(FaultInjector.FaultSlot slot, TimeSpan delay, int httpStatus, int grpcStatus)
    {
        _slot = slot;
        _delay = delay;
        _httpStatus = httpStatus;
        _grpcStatus = grpcStatus;
    }

    /// <summary>The delay to wait before sending, if any; applied before the abort.</summary>
    public TimeSpan? Delay => _slot is not null && _delay > TimeSpan.Zero ? _delay : null;

    /// <summary>
    /// The HTTP status an HttpClient request is answered with instead of being sent, if the request is aborted.
    /// Set whenever <see cref="AbortGrpcStatus"/> is.
    /// </summary>
    public int? AbortHttpStatus => _slot is not null && _grpcStatus >= 0 ? _httpStatus : null;

    /// <summary>
    /// The gRPC status code a gRPC call fails with instead of being sent, if the call is aborted; OK (0) means the
    /// call ends at once with status OK (gRFC A33). Set whenever <see cref="AbortHttpStatus"/> is.
    /// </summary>
    public int? AbortGrpcStatus => _slot is not null && _grpcStatus >= 0 ? _grpcStatus : null;

    /// <summary>Whether the request gets a delay, an abort or both.</summary>
    public bool HasFault => _slot is not null;

    /// <summary>Frees the active-fault slot; does nothing for a decision without faults or one already disposed.</summary>
    public void Dispose() => _slot?.Release();
}
