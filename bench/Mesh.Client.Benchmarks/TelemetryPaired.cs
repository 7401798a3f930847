using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--telemetry [windows] [workers]</c>: the end-to-end cost of the mesh's telemetry, measured with both
/// halves running at the same time. Two child processes (<c>--telemetry-child</c>), each with its own echo
/// backends and mesh client (<see cref="TelemetryRig"/>), drive load in the same time windows; in each window
/// one collects telemetry and the other does not, and they swap roles every window. Whatever the shared
/// machine does during a window (its speed varied up to 2× within seconds here) it does to both halves, so
/// the per-window ratios hold steady where one-after-the-other slices (<c>--telemetry-sequential</c>) do not.
/// </summary>
/// <remarks>
/// Per window: calls completed (the two processes share the cores, so the one that spends more CPU per call
/// completes fewer) and each process's CPU time per call. Reported: the median over windows of on/off calls
/// and of off/on CPU per call, and the same from the totals. <c>WINDOWMS</c>: window length (default 1,000 ms).
/// </remarks>
internal static class TelemetryPaired
{
    private static readonly int WindowMilliseconds = int.Parse(Environment.GetEnvironmentVariable("WINDOWMS") ?? "1000", CultureInfo.InvariantCulture);

    // AB=<path of another build's Mesh.Client.Benchmarks>: both processes collect telemetry in every window, this
    // build in one and that build in the other; the ratios are this build's over that one's (for comparing changes).
    private static readonly string? OtherBuild = Environment.GetEnvironmentVariable("AB");

    public static int Run(string[] args)
    {
        var windows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        var workers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        return RunAsync(windows, workers).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int windows, int workers)
    {
        using var a = Child.Start(workers, 0, Environment.ProcessPath!);
        using var b = Child.Start(workers, 1, OtherBuild ?? Environment.ProcessPath!);
        var caseNames = (await a.ReadAsync()).Split('|');
        await b.ReadAsync();
        Console.WriteLine(FormattableString.Invariant(
            $"Telemetry on / off at the same time: two processes, each with 3 echo backends on 127.0.0.1 and {workers} concurrent workers; {windows} windows of {WindowMilliseconds:N0} ms per case, roles swapped every window."));
        Console.WriteLine($"On = {TelemetryRig.Description}.");
        if (OtherBuild is not null)
        {
            Console.WriteLine($"A/B: on in both processes; \"on\" below is this build, \"off\" the build at {OtherBuild}.");
        }

        Console.WriteLine();
        for (var c = 0; c < caseNames.Length; c++)
        {
            await Task.WhenAll(a.SendAsync($"case {c}"), b.SendAsync($"case {c}"));
            var rates = new List<double>();
            var cpus = new List<double>();
            var (onCalls, offCalls, onCpu, offCpu, onBytes, offBytes, spans) = (0L, 0L, 0.0, 0.0, 0.0, 0.0, 0L);
            var (onPause, offPause, onGen0, offGen0, onGen1, offGen1) = (0.0, 0.0, 0L, 0L, 0L, 0L);

            // Six windows more than asked for: the first six (three per role) only warm up.
            for (var w = -6; w < windows; w++)
            {
                var (on, off) = OtherBuild is not null ? (a, b) : w % 2 == 0 ? (a, b) : (b, a);
                await Task.WhenAll(on.SendAsync("prepare on"), off.SendAsync(OtherBuild is not null ? "prepare on" : "prepare off"));
                var go = $"go {WindowMilliseconds}";
                var results = await Task.WhenAll(on.SendAsync(go), off.SendAsync(go));
                var r = results.Select(Window.Parse).ToArray();
                if (w < 0)
                {
                    continue;
                }

                rates.Add(r[0].Calls / (double)r[1].Calls);
                cpus.Add(r[1].CpuPerCall / r[0].CpuPerCall);
                onCalls += r[0].Calls;
                offCalls += r[1].Calls;
                onCpu += r[0].CpuMicroseconds;
                offCpu += r[1].CpuMicroseconds;
                onBytes += r[0].Bytes;
                offBytes += r[1].Bytes;
                spans += r[0].Spans;
                (onPause, offPause) = (onPause + r[0].GcPauseMicroseconds, offPause + r[1].GcPauseMicroseconds);
                (onGen0, offGen0, onGen1, offGen1) = (onGen0 + r[0].Gen0, offGen0 + r[1].Gen0, onGen1 + r[0].Gen1, offGen1 + r[1].Gen1);
            }

            Console.WriteLine(FormattableString.Invariant(
                $"{caseNames[c],-26} calls on/off median {LoadDriver.Median(rates):0.000} (quartiles {Quartile(rates, 1):0.000}–{Quartile(rates, 3):0.000}), total {onCalls / (double)offCalls:0.000}   ({offCalls * 1000.0 / (windows * WindowMilliseconds):N0}/s off)"));
            Console.WriteLine(FormattableString.Invariant(
                $"{"",-26} CPU per call off/on median {LoadDriver.Median(cpus):0.000} (quartiles {Quartile(cpus, 1):0.000}–{Quartile(cpus, 3):0.000}), total {offCpu / offCalls / (onCpu / onCalls):0.000}   (off {offCpu / offCalls:0.0} µs, on {onCpu / onCalls:0.0} µs)"));
            Console.WriteLine(FormattableString.Invariant(
                $"{"",-26} allocated per call off {offBytes / offCalls:N0} B, on {onBytes / onCalls:N0} B; GC pause per call off {offPause / offCalls:0.00} µs, on {onPause / onCalls:0.00} µs; collections per 10,000 calls off {offGen0 * 10_000.0 / offCalls:0.0} (gen1 {offGen1 * 10_000.0 / offCalls:0.0}), on {onGen0 * 10_000.0 / onCalls:0.0} (gen1 {onGen1 * 10_000.0 / onCalls:0.0}); spans exported per call {spans / (double)onCalls:0.00}"));
        }

        await Task.WhenAll(a.SendAsync("quit"), b.SendAsync("quit"));
        return 0;
    }

    private static double Quartile(List<double> values, int quartile)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, sorted.Length * quartile / 4)];
    }

    /// <summary>The child's side: <c>--telemetry-child [workers]</c>, driven by one-line commands on standard input.</summary>
    public static int RunChild(string[] args)
    {
        var workers = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 32;
        return RunChildAsync(workers).GetAwaiter().GetResult();
    }

    private static async Task<int> RunChildAsync(int workers)
    {
        await using var rig = await TelemetryRig.StartAsync();
        var output = Console.Out;
        await output.WriteLineAsync(string.Join('|', rig.Cases.Select(c => c.Name)));
        await output.FlushAsync();
        Func<Task> call = () => Task.CompletedTask;
        TelemetryRig.Collection? collection = null;
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var words = line.Split(' ');
            string reply;
            switch (words[0])
            {
                case "case":
                    call = rig.Cases[int.Parse(words[1], CultureInfo.InvariantCulture)].Call;
                    await LoadDriver.DriveAsync(5000, workers, call);
                    reply = "ok";
                    break;
                case "prepare":
                    collection?.Dispose();
                    collection = words[1] == "on" ? TelemetryRig.StartCollecting() : null;
                    reply = "ok";
                    break;
                case "go":
                    var duration = TimeSpan.FromMilliseconds(int.Parse(words[1], CultureInfo.InvariantCulture));
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var allocated = GC.GetTotalAllocatedBytes();
                    var pause = GC.GetTotalPauseDuration();
                    var (gen0, gen1) = (GC.CollectionCount(0), GC.CollectionCount(1));
                    var calls = await DriveForAsync(duration, workers, call);
                    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    var bytes = GC.GetTotalAllocatedBytes() - allocated;
                    collection?.Flush();
                    reply = FormattableString.Invariant(
                        $"{calls} {used.TotalMicroseconds:0} {bytes} {collection?.Spans ?? 0} {(GC.GetTotalPauseDuration() - pause).TotalMicroseconds:0} {GC.CollectionCount(0) - gen0} {GC.CollectionCount(1) - gen1}");
                    collection?.Dispose();
                    collection = null;
                    break;
                case "quit":
                    return 0;
                default:
                    throw new InvalidOperationException($"Unknown command '{line}'.");
            }

            await output.WriteLineAsync(reply);
            await output.FlushAsync();
        }

        return 0;
    }

    /// <summary>Calls from <paramref name="workers"/> concurrent loops until <paramref name="duration"/> has passed; the calls completed.</summary>
    private static async Task<long> DriveForAsync(TimeSpan duration, int workers, Func<Task> call)
    {
        long completed = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    await call();
                    Interlocked.Increment(ref completed);
                }
            });
        }

        await Task.WhenAll(tasks);
        return completed;
    }

    private readonly record struct Window(long Calls, double CpuMicroseconds, double Bytes, long Spans, double GcPauseMicroseconds, int Gen0, int Gen1)
    {
        public double CpuPerCall => CpuMicroseconds / Calls;

        public static Window Parse(string line)
        {
            var p = line.Split(' ');
            return new Window(long.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture),
                double.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture), double.Parse(p[4], CultureInfo.InvariantCulture),
                int.Parse(p[5], CultureInfo.InvariantCulture), int.Parse(p[6], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A child process and its command line.</summary>
    private sealed class Child : IDisposable
    {
        private readonly Process _process;

        private Child(Process process) => _process = process;

        public static Child Start(int workers, int index, string path)
        {
            // Run as this program was run: its own executable, or "dotnet <dll>"; with PIN=1, each on a core of its own.
            var info = new ProcessStartInfo(path) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Environment.GetEnvironmentVariable("PIN") == "1")
            {
                info.FileName = "taskset";
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add((index % Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture));
                info.ArgumentList.Add(path);
            }

            if (Path.GetFileNameWithoutExtension(path) == "dotnet")
            {
                info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            }

            info.ArgumentList.Add("--telemetry-child");
            info.ArgumentList.Add(workers.ToString(CultureInfo.InvariantCulture));
            return new Child(Process.Start(info)!);
        }

        /// <summary>Sends a command and returns the child's one-line answer.</summary>
        public async Task<string> SendAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return command == "quit" ? string.Empty : await ReadAsync();
        }

        public async Task<string> ReadAsync() =>
            await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"The child process ended (exit code {(_process.HasExited ? _process.ExitCode : -1)}).");

        public void Dispose()
        {
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }
}
