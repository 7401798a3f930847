using System.Globalization;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// <c>--telemetry-sequential [slices] [workers]</c>: end-to-end throughput of mesh calls with the mesh's
/// telemetry collected (<see cref="TelemetryRig"/> says what "on" is) against the same calls with nobody
/// listening, in one process, on real Kestrel backends on loopback. Slices alternate off / on with the clients
/// and connections kept warm; the ratio on / off is taken per adjacent pair of slices and the median reported.
/// On a machine whose speed drifts between slices, <see cref="TelemetryPaired"/> (<c>--telemetry</c>) is the
/// steadier method: it runs both halves at the same time.
/// </summary>
/// <remarks><c>PERSLICE</c>: calls per slice (default 5,000); <c>ONLY=on</c> / <c>ONLY=off</c>: one side alone (for a profiler).</remarks>
internal static class TelemetryOverhead
{
    private static readonly bool? Only = Environment.GetEnvironmentVariable("ONLY") switch { "on" => true, "off" => false, _ => null };

    private static readonly int PerSlice = int.Parse(Environment.GetEnvironmentVariable("PERSLICE") ?? "5000", CultureInfo.InvariantCulture);

    public static int Run(string[] args)
    {
        var slices = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var workers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        return RunAsync(slices, workers).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int slices, int workers)
    {
        await using var rig = await TelemetryRig.StartAsync();
        Console.WriteLine($"Telemetry on / off, one after the other: {slices} slices of {PerSlice:N0} calls per case, {workers} concurrent workers, 3 echo backends on 127.0.0.1.");
        Console.WriteLine($"On = {TelemetryRig.Description}.");
        Console.WriteLine();
        foreach (var (name, call) in rig.Cases)
        {
            // Warm up: connections, JIT, pools.
            await LoadDriver.DriveAsync(PerSlice, workers, call);
            var off = new List<double>();
            var on = new List<double>();
            var offCpu = new List<double>();
            var onCpu = new List<double>();
            long spans = 0;
            for (var slice = 0; slice < slices; slice++)
            {
                // Alternate which runs first, so that drift over time does not favour one side.
                var onFirst = slice % 2 == 1;
                for (var half = 0; half < 2; half++)
                {
                    var telemetry = Only ?? ((half == 0) == onFirst);
                    if (telemetry)
                    {
                        using var collection = TelemetryRig.StartCollecting();
                        var (rate, cpu) = await TelemetryRig.MeasureAsync(PerSlice, workers, call);
                        on.Add(rate);
                        onCpu.Add(cpu);
                        collection.Flush();
                        spans += collection.Spans;
                    }
                    else
                    {
                        var (rate, cpu) = await TelemetryRig.MeasureAsync(PerSlice, workers, call);
                        off.Add(rate);
                        offCpu.Add(cpu);
                    }
                }
            }

            if (Only is { } side)
            {
                var (rates, cpus) = side ? (on, onCpu) : (off, offCpu);
                Console.WriteLine(FormattableString.Invariant(
                    $"{name,-26} {(side ? "on" : "off")} only: {LoadDriver.Median(rates),8:N0}/s   CPU per call {LoadDriver.Median(cpus):0.0} µs"));
                continue;
            }

            var ratios = on.Zip(off, (a, b) => a / b).ToArray();
            var cpuRatios = offCpu.Zip(onCpu, (a, b) => a / b).ToArray();
            Console.WriteLine(FormattableString.Invariant(
                $"{name,-26} off {LoadDriver.Median(off),8:N0}/s   on {LoadDriver.Median(on),8:N0}/s   on/off median {LoadDriver.Median(ratios):0.00} (range {ratios.Min():0.00}–{ratios.Max():0.00})   spans exported per call {spans / (double)(slices * PerSlice):0.0}"));
            Console.WriteLine(FormattableString.Invariant(
                $"{"",-26} CPU per call off {LoadDriver.Median(offCpu):0.0} µs   on {LoadDriver.Median(onCpu):0.0} µs   off/on median {LoadDriver.Median(cpuRatios):0.00} (range {cpuRatios.Min():0.00}–{cpuRatios.Max():0.00})"));
        }

        return 0;
    }
}
