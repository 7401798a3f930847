using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Net.Client;
using Mesh.Client.Grpc;
using Mesh.Client.Runtime.Internal;
using Mesh.Samples.Echo;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--mtls [rounds] [slices] [workers]</c>: whether the mesh reuses its mTLS connections, and what mutual
/// TLS costs end to end. Real Kestrel echo backends on loopback (three with mTLS, three plaintext per HTTP
/// version), requests sent by concurrent workers through: a bare <see cref="HttpClient"/> (or a bare
/// <see cref="GrpcChannel"/>) to one plaintext backend, a mesh service over three plaintext endpoints, and a
/// mesh service over the three mTLS endpoints; for HttpClient over HTTP/1.1 and HTTP/2, and for gRPC.
/// </summary>
/// <remarks>
/// <para>Two phases. <b>Cold</b>: every case starts from no connections (a new client, a new mesh service
/// provider: new pools, a new TLS transport) and sends 10,000 requests, so the handshakes and connections it
/// counts are those 10,000 requests needed, and its time includes making them. The order of the cases
/// alternates from round to round (forward, backward, …).</para>
/// <para><b>Warm</b>: per front door, the three cases' clients stay open (warmed first) and take turns in
/// short slices of 5,000 requests, in rotating order; a ratio is taken between the cases of one slice (run
/// within a fraction of a second of each other, so that the other tenants of a shared machine weigh on both
/// alike), and the median over the slices is reported. Handshakes and connections made during the warm
/// phase show whether the pools keep what they opened.</para>
/// <para>Counts are read before anything is disposed: a disposed gRPC channel's subchannels may reconnect once
/// on their way out, which is not the load's doing. A warm-up pass (not reported) runs first, for the JIT.
/// The backends run in this process: their TLS work shares the cores with the client's.</para>
/// </remarks>
internal static class MtlsThroughput
{
    private const int Requests = 10_000;
    private const int SliceRequests = 5_000;
    private const int WarmUpRequests = 2_000;
    private const int Endpoints = 3;

    private static readonly Front[] Fronts = [Front.Http11, Front.Http2, Front.Grpc];
    private static readonly Path[] Paths = [Path.Bare, Path.MeshPlain, Path.MeshTls];

    private enum Front
    {
        Http11,
        Http2,
        Grpc,
    }

    private enum Path
    {
        Bare,
        MeshPlain,
        MeshTls,
    }

    private sealed record Case(Front Front, Path Path)
    {
        public string FrontName => Front switch
        {
            Front.Http11 => "HttpClient HTTP/1.1",
            Front.Http2 => "HttpClient HTTP/2",
            _ => "gRPC unary",
        };

        public string PathName => Path switch
        {
            Path.Bare => Front == Front.Grpc ? "bare GrpcChannel, 1 plaintext backend" : "bare HttpClient, 1 plaintext backend",
            Path.MeshPlain => "mesh, 3 plaintext endpoints",
            _ => "mesh, 3 mTLS endpoints",
        };
    }

    /// <summary>One batch of requests: its time and what it cost in connections.</summary>
    private sealed record Batch(int Requests, TimeSpan Elapsed, long? ClientHandshakes, int Connections, int VerifiedClientCertificates)
    {
        public double PerSecond => Requests / Elapsed.TotalSeconds;
    }

    /// <summary>What the client and the backends had counted, to take differences.</summary>
    private sealed record Counts(long? Handshakes, int Connections, int Verified, int Requests)
    {
        public static Batch operator -(Counts after, Counts before) => new(
            after.Requests - before.Requests, TimeSpan.Zero, after.Handshakes - before.Handshakes, after.Connections - before.Connections, after.Verified - before.Verified);
    }

    public static int Run(string[] args)
    {
        var rounds = Argument(args, 0, 5);
        var slices = Argument(args, 1, 12);
        var workers = Argument(args, 2, 32);
        return RunAsync(rounds, slices, workers).GetAwaiter().GetResult();
    }

    private static int Argument(string[] args, int index, int fallback) =>
        args.Length > index && int.TryParse(args[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    private static async Task<int> RunAsync(int rounds, int slices, int workers)
    {
        Console.WriteLine(FormattableString.Invariant(
            $"mTLS vs plaintext, end to end on loopback. .NET {Environment.Version}, server GC: {System.Runtime.GCSettings.IsServerGC}, {Environment.ProcessorCount} cores, {workers} concurrent workers. Cold: {Requests:N0} requests per case from no connections, {rounds} rounds, order alternating. Warm: {slices} slices of {SliceRequests:N0} requests per case, cases in turn on open clients."));
        Console.WriteLine();

        await using var fixture = await MtlsFixture.StartAsync(Endpoints);
        Case[] cases = [.. from front in Fronts from path in Paths select new Case(front, path)];

        foreach (var c in cases)
        {
            await using var session = await Session.OpenAsync(fixture, c);
            await session.RunAsync(WarmUpRequests, workers);
        }

        // Cold: each case from no connections.
        var cold = cases.ToDictionary(c => c, _ => new List<Batch>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var c in round % 2 == 0 ? cases : cases.Reverse())
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await using var session = await Session.OpenAsync(fixture, c);
                var batch = await session.RunAsync(Requests, workers);
                cold[c].Add(batch);
                Console.Error.WriteLine(FormattableString.Invariant(
                    $"cold {round + 1}: {c.FrontName,-20} {c.PathName,-38} {batch.PerSecond,8:N0}/s  handshakes {Show(batch.ClientHandshakes)}  connections {batch.Connections}  verified {batch.VerifiedClientCertificates}"));
            }
        }

        // Warm: the three clients of a front door open side by side, taking turns.
        var warm = cases.ToDictionary(c => c, _ => new List<Batch>());
        var warmTotals = new Dictionary<Case, Batch>();
        foreach (var front in Fronts)
        {
            var sessions = new List<Session>();
            try
            {
                foreach (var path in Paths)
                {
                    var session = await Session.OpenAsync(fixture, new Case(front, path));
                    sessions.Add(session);
                    await session.RunAsync(Requests, workers);
                }

                var before = sessions.Select(s => s.Read()).ToArray();
                for (var slice = 0; slice < slices; slice++)
                {
                    for (var k = 0; k < sessions.Count; k++)
                    {
                        // Rotate the order (0 1 2, 1 2 0, 2 0 1, …) so that no case always follows the same one.
                        var session = sessions[(slice + k) % sessions.Count];
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                        var batch = await session.RunAsync(SliceRequests, workers);
                        warm[session.Case].Add(batch);
                    }
                }

                for (var k = 0; k < sessions.Count; k++)
                {
                    warmTotals[sessions[k].Case] = sessions[k].Read() - before[k];
                }

                Console.Error.WriteLine(FormattableString.Invariant(
                    $"warm: {front} {string.Join("  ", sessions.Select(s => $"{s.Case.Path} {LoadDriver.Median([.. warm[s.Case].Select(b => b.PerSecond)]):N0}/s"))}"));
            }
            finally
            {
                foreach (var session in sessions)
                {
                    await session.DisposeAsync();
                }
            }
        }

        Console.WriteLine("| Front door | Path | Requests/s, cold (median) | Requests/s, warm (median) | Client TLS handshakes per 10,000, cold | … warm | Backend TCP connections per 10,000, cold | … warm | Client certificates verified by the backends per 10,000, cold | … warm |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in cases)
        {
            var total = warmTotals[c];
            var tls = c.Path == Path.MeshTls;
            Console.WriteLine(FormattableString.Invariant(
                $"| {c.FrontName} | {c.PathName} | {LoadDriver.Median([.. cold[c].Select(b => b.PerSecond)]):N0} | {LoadDriver.Median([.. warm[c].Select(b => b.PerSecond)]):N0} | {Values(cold[c], b => b.ClientHandshakes)} | {PerTenThousand(total.ClientHandshakes, total.Requests)} | {Values(cold[c], b => b.Connections)} | {PerTenThousand(total.Connections, total.Requests)} | {(tls ? Values(cold[c], b => b.VerifiedClientCertificates) : "–")} | {(tls ? PerTenThousand(total.VerifiedClientCertificates, total.Requests) : "–")} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Ratios of requests/s: cold, within each round, median of the rounds; warm, within each slice, median of the slices (min – max):");
        Console.WriteLine();
        Console.WriteLine("| Front door | Phase | mesh plaintext / bare | **mesh mTLS / mesh plaintext** | mesh mTLS / bare |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        foreach (var front in Fronts)
        {
            var name = new Case(front, Path.Bare).FrontName;
            foreach (var (phase, results) in new[] { ("cold", cold), ("warm", warm) })
            {
                var bare = results[new Case(front, Path.Bare)];
                var plain = results[new Case(front, Path.MeshPlain)];
                var tls = results[new Case(front, Path.MeshTls)];
                Console.WriteLine(FormattableString.Invariant(
                    $"| {name} | {phase} | {Ratio(plain, bare)} | **{Ratio(tls, plain)}** | {Ratio(tls, bare)} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("Cold handshakes and connections: one figure per round (10,000 requests from no connections). Warm: made during all the slices, per 10,000 requests.");
        Console.WriteLine("Client TLS handshakes: MeshTlsHttpTransport.Handshakes (HttpClient only; gRPC's TLS runs in the channel's stream filter, which counts nothing).");
        Console.WriteLine("Backend TCP connections: connections the case's backends accepted. Client certificates verified: mutual-TLS handshakes the backends completed.");
        Console.WriteLine();

        await FirstRequestAsync(fixture);
        Console.WriteLine();
        await Http11PoolAsync(fixture, workers);
        return 0;
    }

    /// <summary>
    /// The time of one request on a new client whose mesh configuration is already in force: connecting
    /// (and for mTLS the handshake, with both sides' certificate checks) plus one request. The difference
    /// between the plaintext and the mTLS mesh rows is about what one handshake costs here.
    /// </summary>
    private static async Task FirstRequestAsync(MtlsFixture fixture)
    {
        const int Repeats = 7;
        Console.WriteLine(FormattableString.Invariant($"First request on a new client (connect, handshake, one request), median of {Repeats}, ms:"));
        Console.WriteLine();
        Console.WriteLine("| Front door | bare, plaintext | mesh, plaintext | mesh, mTLS |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var front in Fronts)
        {
            var cells = new List<string>();
            foreach (var path in Paths)
            {
                var times = new double[Repeats];
                for (var i = 0; i < Repeats; i++)
                {
                    await using var session = await Session.OpenAsync(fixture, new Case(front, path));
                    session.Prepare();
                    var stopwatch = Stopwatch.StartNew();
                    await session.CallAsync();
                    times[i] = stopwatch.Elapsed.TotalMilliseconds;
                }

                cells.Add(FormattableString.Invariant($"{LoadDriver.Median(times):0.0}"));
            }

            Console.WriteLine($"| {new Case(front, Path.Bare).FrontName} | {string.Join(" | ", cells)} |");
        }
    }

    /// <summary>One case's client, open: the call it makes, and the counts to read around a batch.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly ServiceProvider? _services;
        private readonly IDisposable _client;
        private readonly Func<Task> _call;
        private readonly EchoBackend[] _backends;
        private readonly Func<long?> _handshakes;

        private Session(Case c, ServiceProvider? services, IDisposable client, Func<Task> call, EchoBackend[] backends, Func<long?> handshakes)
        {
            Case = c;
            _services = services;
            _client = client;
            _call = call;
            _backends = backends;
            _handshakes = handshakes;
        }

        public Case Case { get; }

        public static Task<Session> OpenAsync(MtlsFixture fixture, Case c)
        {
            var plain = c.Front == Front.Http11 ? fixture.PlainHttp1Backends : fixture.PlainHttp2Backends;
            var backends = c.Path == Path.MeshTls ? fixture.Secure : c.Path == Path.Bare ? plain[..1] : plain;
            var services = c.Path == Path.Bare ? null : fixture.CreateMesh();
            if (c.Front == Front.Grpc)
            {
                var channel = c.Path == Path.Bare
                    ? GrpcChannel.ForAddress("http://" + plain[0].Address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } })
                    : MeshGrpc.CreateChannel("xds:///" + (c.Path == Path.MeshTls ? MtlsFixture.MtlsHttp2 : MtlsFixture.PlainHttp2), services!);
                var echo = new Echo.EchoClient(channel);
                var request = new HelloRequest { Name = "bench" };
                return Task.FromResult(new Session(c, services, channel, async () => await echo.HelloAsync(request), backends, () => null));
            }

            var http2 = c.Front == Front.Http2;
            var http = services is null
                ? new HttpClient(new SocketsHttpHandler { UseProxy = false })
                : services.GetRequiredService<IHttpClientFactory>().CreateClient();
            if (c.Path == Path.Bare && http2)
            {
                // h2c with prior knowledge, as the mesh sends to a service with Protocol Http2.
                http.DefaultRequestVersion = HttpVersion.Version20;
                http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            }

            var url = c.Path switch
            {
                Path.Bare => $"http://{plain[0].Address}/whoami",
                Path.MeshPlain => $"http://{(http2 ? MtlsFixture.PlainHttp2 : MtlsFixture.PlainHttp1)}/whoami",
                _ => $"http://{(http2 ? MtlsFixture.MtlsHttp2 : MtlsFixture.MtlsHttp1)}/whoami",
            };
            Func<long?> handshakes = () => null;
            if (c.Path == Path.MeshTls)
            {
                var transport = services!.GetRequiredService<MeshRuntime>().TlsTransport;
                handshakes = () => transport.Handshakes;
            }

            return Task.FromResult(new Session(c, services, http, () => http.GetStringAsync(url), backends, handshakes));
        }

        /// <summary>Makes the mesh apply its configuration (and load the certificates) now, not on the first request.</summary>
        public void Prepare() => _services?.GetRequiredService<MeshRuntime>();

        public Task CallAsync() => _call();

        public Counts Read() => new(
            _handshakes(),
            _backends.Sum(b => b.Connections),
            _backends.Sum(b => b.ClientSerials.Values.Sum()),
            _backends.Sum(b => b.Requests));

        /// <summary>Sends <paramref name="count"/> requests and checks that the backends answered exactly those.</summary>
        public async Task<Batch> RunAsync(int count, int workers)
        {
            var before = Read();
            var elapsed = await LoadDriver.DriveAsync(count, workers, _call);
            var batch = Read() - before;
            if (batch.Requests != count)
            {
                throw new InvalidOperationException($"{Case.FrontName}, {Case.PathName}: the backends answered {batch.Requests} requests, not {count}.");
            }

            return batch with { Elapsed = elapsed };
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            if (_services is not null)
            {
                await _services.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Why HTTP/1.1 needs more connections than there are workers once requests are spread over endpoints:
    /// the most requests in flight at once to each endpoint, seen by a handler just under the mesh's (after
    /// its rewrite to the endpoint), beside the connections each endpoint accepted. Plaintext, so the handler
    /// can watch (requests to TLS clusters leave through the mesh's own transport, whose pool is the same
    /// <see cref="SocketsHttpHandler"/> logic); a separate run, so the timed cases carry no extra handler.
    /// </summary>
    private static async Task Http11PoolAsync(MtlsFixture fixture, int workers)
    {
        var inFlight = new InFlightHandler();
        await using var services = fixture.CreateMesh(s => s.AddHttpClient("pool").AddHttpMessageHandler(() => inFlight));
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("pool");
        var backends = fixture.PlainHttp1Backends;
        var before = backends.Select(b => b.Connections).ToArray();
        await LoadDriver.DriveAsync(Requests, workers, () => http.GetStringAsync($"http://{MtlsFixture.PlainHttp1}/whoami"));
        var peaks = backends.Select(b => inFlight.Peak(b.Port)).ToArray();
        var accepted = backends.Select((b, i) => b.Connections - before[i]).ToArray();
        Console.WriteLine(FormattableString.Invariant(
            $"HTTP/1.1 pool (mesh plaintext, {Requests:N0} requests by {workers} workers from no connections): most requests in flight at once per endpoint {string.Join(" / ", peaks)} (sum {peaks.Sum()}); connections each endpoint accepted {string.Join(" / ", accepted)} (sum {accepted.Sum()})."));
    }

    /// <summary>Counts requests in flight per endpoint port and keeps the highest count.</summary>
    private sealed class InFlightHandler : DelegatingHandler
    {
        private readonly ConcurrentDictionary<int, PortCounts> _ports = new();

        public int Peak(int port) => _ports.TryGetValue(port, out var box) ? Volatile.Read(ref box.Peak) : 0;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var box = _ports.GetOrAdd(request.RequestUri!.Port, static _ => new PortCounts());
            var now = Interlocked.Increment(ref box.Current);
            int peak;
            while (now > (peak = Volatile.Read(ref box.Peak)) && Interlocked.CompareExchange(ref box.Peak, now, peak) != peak)
            {
            }

            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref box.Current);
            }
        }

        private sealed class PortCounts
        {
            public int Current;
            public int Peak;
        }
    }

    private static string Show(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "–";

    private static string Values(List<Batch> batches, Func<Batch, long?> value) =>
        batches.All(b => value(b) is null) ? "–" : string.Join(", ", batches.Select(b => Show(value(b))));

    private static string PerTenThousand(long? count, int requests) =>
        count is { } n ? FormattableString.Invariant($"{n * 10_000.0 / requests:0.#}") : "–";

    private static string Ratio(List<Batch> numerator, List<Batch> denominator)
    {
        var ratios = numerator.Zip(denominator, (n, d) => n.PerSecond / d.PerSecond).ToArray();
        return FormattableString.Invariant($"{LoadDriver.Median(ratios):0.00} ({ratios.Min():0.00} – {ratios.Max():0.00})");
    }
}
