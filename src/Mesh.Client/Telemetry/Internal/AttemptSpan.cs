using System.Diagnostics;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// The span of one attempt of a mesh call, made only for calls with more than one attempt.
/// </summary>
/// <remarks>
/// Almost every call makes a single attempt, and a span is most of what the mesh's telemetry costs a call.
/// So a call's first attempt gets no span of its own while it is the only one: the call span stands for it
/// and carries its endpoint (see <see cref="DescribeEndpoint"/>). When a second attempt begins (a retry, a
/// hedge), the first one's span is made then, as a child of the call span, backdated to when the attempt
/// began and ended when it ended (<see cref="Materialize"/>); later attempts get theirs as they start. The
/// first attempt's request carried the call span's context, so the server's span of that attempt is a child
/// of the call span; the servers' spans of later attempts are children of their attempt spans.
/// </remarks>
internal abstract class AttemptSpan : IDisposable
{
    private readonly long _start;
    private readonly bool _timed;
    private long _end;
    private bool _ended;
    private Activity? _activity;

    /// <summary>
    /// An attempt; <paramref name="timed"/>: its start and end are read (its call has a span, which may give this
    /// attempt one, or its duration is measured).
    /// </summary>
    protected AttemptSpan(int number, bool timed)
    {
        Number = number;
        _timed = timed;
        _start = timed ? Stopwatch.GetTimestamp() : 0;
    }

    /// <summary>1 for the first attempt.</summary>
    public int Number { get; }

    /// <summary>Whether the attempt's start and end are read.</summary>
    protected bool Timed => _timed;

    /// <summary>When the attempt began (a <see cref="Stopwatch"/> timestamp), if <see cref="Timed"/>.</summary>
    protected long Start => _start;

    /// <summary>When the attempt ended (a <see cref="Stopwatch"/> timestamp), once it has.</summary>
    protected long EndTimestamp => _end;

    /// <summary>The endpoint the attempt went to, once picked.</summary>
    protected EndpointState? Endpoint { get; set; }

    /// <summary>The identity TLS verified for <see cref="Endpoint"/>, if the connection is TLS.</summary>
    protected string? PeerIdentity { get; set; }

    /// <summary>The attempt's span, once it has one.</summary>
    public Activity? Activity => Volatile.Read(ref _activity);

    /// <summary>
    /// As the <paramref name="count"/>th attempt of a call with span <paramref name="call"/> begins: whether it
    /// gets a span of its own (any but a call's only attempt); the second attempt also gives
    /// <paramref name="first"/> its span.
    /// </summary>
    public static bool BeginsWithSpan(int count, Activity? call, AttemptSpan? first, string name)
    {
        if (count == 1 || call is null)
        {
            return false;
        }

        if (count == 2)
        {
            first?.Materialize(call, name);
        }

        return true;
    }

    /// <summary>
    /// Starts the span of an attempt after the first, now, as a child of <paramref name="call"/>; it stays the
    /// current activity only when <paramref name="staysCurrent"/> (see <see cref="MeshTraceContext.SpanStaysCurrent"/>).
    /// </summary>
    protected void StartSpan(string name, Activity call, bool staysCurrent) => _activity = StartChild(call, name, _start, staysCurrent);

    /// <summary>
    /// Starts <paramref name="name"/> as of <paramref name="start"/> with <paramref name="call"/> as its
    /// <see cref="Activity.Parent"/> (not only its parent id: the call span is the current activity while it starts);
    /// the current activity is then put back, unless the new span <paramref name="staysCurrent"/>.
    /// </summary>
    private static Activity? StartChild(Activity call, string name, long start, bool staysCurrent)
    {
        var previous = Activity.Current;
        if (!ReferenceEquals(previous, call))
        {
            Activity.Current = call;
        }

        var activity = MeshMetrics.ActivitySource.StartActivity(name, ActivityKind.Internal, parentContext: default, startTime: SpanClock.At(start));
        if (!staysCurrent || activity is null)
        {
            Activity.Current = previous;
        }

        return activity;
    }

    /// <summary>
    /// Gives the first attempt its span, because a second one has begun: a child of <paramref name="call"/>,
    /// backdated to the attempt's start, and ended at its end if it is over. The current activity is left as it was.
    /// </summary>
    private void Materialize(Activity call, string name)
    {
        lock (this)
        {
            if (_activity is not null || call.IsStopped)
            {
                return;
            }

            // Stopping it below makes its call span current again (an activity's Stop puts back what was current at
            // its start): what was current here is put back at the end.
            var current = Activity.Current;
            var activity = StartChild(call, name, _start, staysCurrent: false);
            Volatile.Write(ref _activity, activity);
            if (activity is not null && _ended)
            {
                Describe(activity);
                activity.SetEndTime(SpanClock.At(_end));
                activity.Stop();
            }

            Activity.Current = current;
        }
    }

    /// <summary>Ends the attempt: its span, if it has one, gets the attempt's endpoint and outcome and ends.</summary>
    protected void End()
    {
        if (!_timed)
        {
            // No span can be made for it (its call has none), and its duration is not measured.
            _ended = true;
            return;
        }

        lock (this)
        {
            if (_ended)
            {
                return;
            }

            _end = Stopwatch.GetTimestamp();
            _ended = true;
            if (_activity is { } activity)
            {
                Describe(activity);
                activity.SetEndTime(SpanClock.At(_end));
                activity.Stop();
            }
        }
    }

    /// <summary>Ends the attempt if nothing else did (a call abandoned without an outcome).</summary>
    public void Dispose() => End();

    /// <summary>Writes the attempt's number, endpoint and outcome into its span, once, as it ends.</summary>
    private void Describe(Activity activity)
    {
        if (activity.IsAllDataRequested)
        {
            activity.AddTag("mesh.attempt", Boxed.Int(Number));
            DescribeEndpoint(activity);
        }

        DescribeOutcome(activity);
    }

    /// <summary>The endpoint the attempt went to (cluster, address, port, locality, peer identity); also written on the call span of a single-attempt call.</summary>
    public void DescribeEndpoint(Activity activity)
    {
        if (Endpoint is { } endpoint)
        {
            activity.AddTag("mesh.cluster", endpoint.ClusterName);
            activity.AddTag("server.address", endpoint.Endpoint.Host);
            activity.AddTag("server.port", endpoint.BoxedPort);
            if (endpoint.Locality != Model.LocalityName.Default)
            {
                activity.AddTag("grpc.lb.locality", endpoint.LocalityLabel);
            }

            if (PeerIdentity is { } peer)
            {
                activity.AddTag("mesh.peer.identity", peer);
            }
        }
    }

    /// <summary>The attempt's outcome: status attributes and the span status.</summary>
    protected abstract void DescribeOutcome(Activity activity);
}
