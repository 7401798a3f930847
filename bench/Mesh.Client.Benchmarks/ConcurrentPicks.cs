using System.Diagnostics;
using System.Globalization;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--concurrent [seconds]</c>: whether requests are held up while EDS updates of 10,000 endpoints are
/// applied. One thread picks endpoints as the request path does (the table in force, its cluster, a pick)
/// and keeps 64 requests in flight across table changes (each pick starts one on its endpoint and ends the
/// one started 64 picks earlier, possibly on an endpoint of an older table). Another thread applies
/// updates: parse, decode, build the cluster, publish; A and B alternate (other ports), so every update
/// rebuilds the cluster from new endpoint states. Each cluster policy runs three phases: no updates,
/// updates back to back (the worst case), and one update every 500 ms (a busy control plane).
/// </summary>
/// <remarks>
/// Reported: the gaps between consecutive picks on the picking thread (how long it went without completing
/// one: a lock, a GC pause or the OS running another thread would show here), the pick rate, and, for every
/// <see cref="MeshTableStore.Publish(MeshSnapshot)"/>, how many picks completed while it ran: if publication
/// blocked the request path, that count would be 0 for every publication (a GC pause that spans a whole
/// publication also gives 0, for that one). GC counts and pause time are reported to tell the two apart.
/// </remarks>
internal static class ConcurrentPicks
{
    private const int Localities = 10;
    private const int PerLocality = 1_000;
    private const int InFlight = 64;

    private static readonly TimeSpan Paced = TimeSpan.FromMilliseconds(500);

    public static int Run(string[] args)
    {
        var seconds = args.Length > 0 && int.TryParse(args[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 5;
        Console.WriteLine(FormattableString.Invariant(
            $"Picks while EDS updates of {Localities * PerLocality:N0} endpoints are applied. .NET {Environment.Version}, server GC: {System.Runtime.GCSettings.IsServerGC}, GC latency mode: {System.Runtime.GCSettings.LatencyMode}, {Environment.ProcessorCount} cores, {seconds} s per phase after 3 s of warm-up."));
        Console.WriteLine();

        byte[][] bytes =
        [
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, PerLocality, port: 8080)),
            EdsUpdateFixture.AnyBytes(EdsUpdateFixture.Assignment(Localities, PerLocality, port: 8081)),
        ];

        var results = new List<Phase>();
        foreach (var policy in new[] { UpdatePolicy.RoundRobin, UpdatePolicy.RingHash })
        {
            var runtime = new MeshRuntime(MeshRandom.Shared);
            EdsUpdateFixture.Apply(runtime, bytes[0], EdsUpdateFixture.Policy(policy));

            // Warm-up: tiered compilation and dynamic PGO settle on both threads.
            new Phase(runtime, policy, bytes, TimeSpan.Zero).Run(TimeSpan.FromSeconds(3));
            foreach (var interval in new TimeSpan?[] { null, TimeSpan.Zero, Paced })
            {
                var phase = new Phase(runtime, policy, bytes, interval);
                phase.Run(TimeSpan.FromSeconds(seconds));
                results.Add(phase);
            }
        }

        Console.WriteLine("| Policy (picks) | Updates running | Picks/s | Gap p50 | p99 | p99.9 | p99.99 | max | Gaps > 1 ms | Time in them | Updates | Update mean | of which Publish | Picks during a Publish (median) | Publishes during which no pick completed | GCs gen0/1/2 | GC pause total |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var phase in results)
        {
            Console.WriteLine(phase.Row());
        }

        Console.WriteLine();
        Console.WriteLine("Gap: time between two consecutive completed picks on the picking thread (one pick, one in-flight start/end, one Stopwatch read).");
        Console.WriteLine("Picks/s: rate of that loop. Picks during a Publish: picks the other thread completed between the start and the end of one MeshTableStore.Publish.");
        Console.WriteLine("GC pause total: GC.GetTotalPauseDuration over the phase; compare with the time in gaps > 1 ms.");
        return 0;
    }

    /// <param name="interval">Time from the start of one update to the start of the next; zero: back to
    /// back; <see langword="null"/>: no updates.</param>
    private sealed class Phase(MeshRuntime runtime, UpdatePolicy policy, byte[][] bytes, TimeSpan? interval)
    {
        private readonly bool _publish = interval is not null;
        private readonly LatencyHistogram _gaps = new();
        private volatile bool _stop;
        private long _picks;
        private long _elapsedTicks;
        private int _updates;
        private long _updateTicks;
        private long _publishTicks;
        private readonly List<long> _picksDuringPublish = [];
        private int _gen0;
        private int _gen1;
        private int _gen2;
        private TimeSpan _pause;

        public void Run(TimeSpan duration)
        {
            var (gen0, gen1, gen2, pause) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            var picker = new Thread(PickLoop) { Name = "picks", IsBackground = true };
            var publisher = new Thread(PublishLoop) { Name = "updates", IsBackground = true };
            var started = Stopwatch.GetTimestamp();
            picker.Start();
            if (_publish)
            {
                publisher.Start();
            }

            Thread.Sleep(duration);
            _stop = true;
            picker.Join();
            if (_publish)
            {
                publisher.Join();
            }

            _elapsedTicks = Stopwatch.GetTimestamp() - started;
            (_gen0, _gen1, _gen2, _pause) = (GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2, GC.GetTotalPauseDuration() - pause);

            // Every request started was ended, on whatever table's endpoint state it started on.
            var cluster = runtime.Current.Clusters[EdsUpdateFixture.ClusterName];
            if (cluster.AllEndpoints.Sum(e => e.InFlight) != 0)
            {
                throw new InvalidOperationException("Requests in flight were lost across updates.");
            }
        }

        public string Row()
        {
            static string Time(double ns) => ns switch
            {
                < 1_000 => FormattableString.Invariant($"{ns:N0} ns"),
                < 1_000_000 => FormattableString.Invariant($"{ns / 1_000:N1} µs"),
                _ => FormattableString.Invariant($"{ns / 1_000_000:N1} ms"),
            };

            var seconds = _elapsedTicks / (double)Stopwatch.Frequency;
            var perTickNs = 1e9 / Stopwatch.Frequency;
            var name = policy == UpdatePolicy.RingHash ? "ring_hash (with a hash)" : "round_robin";
            _picksDuringPublish.Sort();
            var updates = _updates == 0
                ? "– | – | – | – | –"
                : FormattableString.Invariant($"{_updates:N0} | {Time(_updateTicks * perTickNs / _updates)} | {Time(_publishTicks * perTickNs / _updates)} | {_picksDuringPublish[_picksDuringPublish.Count / 2]:N0} | {_picksDuringPublish.Count(p => p == 0)}");
            return FormattableString.Invariant(
                $"| {name} | {interval switch { null => "no", { Ticks: 0 } => "back to back", { } i => FormattableString.Invariant($"every {i.TotalMilliseconds:N0} ms") }} | {_picks / seconds / 1e6:N1} M | {Time(_gaps.Percentile(0.5) * perTickNs)} | {Time(_gaps.Percentile(0.99) * perTickNs)} | {Time(_gaps.Percentile(0.999) * perTickNs)} | {Time(_gaps.Percentile(0.9999) * perTickNs)} | {Time(_gaps.Max * perTickNs)} | {_gaps.LongGaps:N0} | {_gaps.LongGapTicks * perTickNs / 1e6:N0} ms | {updates} | {_gen0}/{_gen1}/{_gen2} | {_pause.TotalMilliseconds:N1} ms |");
        }

        private void PickLoop()
        {
            var inFlight = new EndpointState?[InFlight];
            var slot = 0;
            var hashing = policy == UpdatePolicy.RingHash;
            var hash = 0x9E3779B97F4A7C15UL;
            long picks = 0;
            var last = Stopwatch.GetTimestamp();
            while (!_stop)
            {
                // What the request path does per request: one volatile read of the table, one dictionary
                // lookup, one pick (no lock anywhere).
                var cluster = runtime.Current.Clusters[EdsUpdateFixture.ClusterName];
                PickRequest request = default;
                if (hashing)
                {
                    hash = (hash * 6364136223846793005UL) + 1442695040888963407UL;
                    request = new PickRequest(hash, hasHash: true);
                }

                var state = cluster.Pick(request) ?? throw new InvalidOperationException("No endpoint picked.");
                state.OnStart();
                inFlight[slot]?.OnEnd();
                inFlight[slot] = state;
                slot = (slot + 1) & (InFlight - 1);

                var now = Stopwatch.GetTimestamp();
                _gaps.Record(now - last);
                last = now;
                Volatile.Write(ref _picks, ++picks);
            }

            foreach (var state in inFlight)
            {
                state?.OnEnd();
            }
        }

        private void PublishLoop()
        {
            var current = runtime.Current.Clusters[EdsUpdateFixture.ClusterName];
            var policyModel = current.Config.LoadBalancing;

            // Start with the version the runtime does not hold, so that the first update rebuilds too.
            var next = current.AllEndpoints[0].Endpoint.Port == 8080 ? 1 : 0;
            while (!_stop)
            {
                var start = Stopwatch.GetTimestamp();
                var (_, update) = EdsUpdateFixture.ParseAndDecode(bytes[next]);
                var snapshot = EdsUpdateFixture.Snapshot(EdsUpdateFixture.Cluster(update, policyModel));

                var picksBefore = Volatile.Read(ref _picks);
                var publishStart = Stopwatch.GetTimestamp();
                runtime.Tables.Publish(snapshot);
                var end = Stopwatch.GetTimestamp();
                var picksDuring = Volatile.Read(ref _picks) - picksBefore;

                _picksDuringPublish.Add(picksDuring);
                _publishTicks += end - publishStart;
                _updateTicks += end - start;
                _updates++;
                next = 1 - next;

                var due = start + (long)(interval!.Value.TotalSeconds * Stopwatch.Frequency);
                while (!_stop && Stopwatch.GetTimestamp() < due)
                {
                    Thread.Sleep(Math.Clamp((int)((due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency), 1, 50));
                }
            }
        }
    }

    /// <summary>
    /// Counts of Stopwatch ticks: exact below 1,024 ticks, then 32 buckets per power of two (about 3 %
    /// resolution); the maximum is kept exactly. Recording allocates nothing.
    /// </summary>
    private sealed class LatencyHistogram
    {
        private const int Exact = 1024;
        private const int SubBuckets = 32;
        private readonly long[] _counts = new long[Exact + (SubBuckets * 64)];
        private static readonly long OneMillisecond = Stopwatch.Frequency / 1000;
        private long _total;

        public long Max { get; private set; }

        /// <summary>Values above 1 ms.</summary>
        public long LongGaps { get; private set; }

        /// <summary>Sum of the values above 1 ms.</summary>
        public long LongGapTicks { get; private set; }

        public void Record(long ticks)
        {
            _counts[Index(ticks)]++;
            _total++;
            if (ticks > Max)
            {
                Max = ticks;
            }

            if (ticks > OneMillisecond)
            {
                LongGaps++;
                LongGapTicks += ticks;
            }
        }

        /// <summary>The smallest recorded value's bucket start at or above which lie at most <c>1 - q</c> of the values.</summary>
        public long Percentile(double q)
        {
            var rank = (long)Math.Ceiling(q * _total);
            long seen = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                seen += _counts[i];
                if (seen >= rank && _counts[i] > 0)
                {
                    return Lower(i);
                }
            }

            return Max;
        }

        private static int Index(long ticks)
        {
            if (ticks < Exact)
            {
                return (int)Math.Max(ticks, 0);
            }

            var log = 63 - (int)long.LeadingZeroCount(ticks);
            return Exact + ((log - 10) * SubBuckets) + (int)((ticks >> (log - 5)) & (SubBuckets - 1));
        }

        private static long Lower(int index)
        {
            if (index < Exact)
            {
                return index;
            }

            var log = ((index - Exact) / SubBuckets) + 10;
            var sub = (index - Exact) % SubBuckets;
            return (1L << log) + ((long)sub << (log - 5));
        }
    }
}
