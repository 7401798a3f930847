using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Mesh.Client.Benchmarks;
using Perfolizer.Horology;

// Console modes that BenchmarkDotNet cannot express (see bench/README.md, "xDS updates" and "mTLS"):
//   --retained            memory an applied 10,000-endpoint EDS update keeps alive, per endpoint
//   --concurrent [secs]   picks on one thread while updates are published on another
//   --mtls [rounds] [workers]   end-to-end requests/s and TLS handshakes, mTLS vs plaintext, on loopback
//   --telemetry [windows] [workers]   end-to-end calls/s and CPU per call with the mesh's telemetry collected vs not,
//                                    both at the same time in two child processes (--telemetry-child)
//   --telemetry-sequential [slices] [workers]   the same, one after the other in one process
if (args is ["--retained", ..])
{
    return RetainedMemory.Run();
}

if (args is ["--concurrent", .. var rest])
{
    return ConcurrentPicks.Run(rest);
}

if (args is ["--mtls", .. var mtlsArgs])
{
    return MtlsThroughput.Run(mtlsArgs);
}

if (args is ["--telemetry", .. var telemetryArgs])
{
    return TelemetryPaired.Run(telemetryArgs);
}

if (args is ["--telemetry-child", .. var childArgs])
{
    return TelemetryPaired.RunChild(childArgs);
}

if (args is ["--telemetry-sequential", .. var sequentialArgs])
{
    return TelemetryOverhead.Run(sequentialArgs);
}

// One short job for every benchmark, so the whole suite runs in a few minutes on a 2-core box:
// one process per case, 3 warm-up and 5 measured iterations of about 250 ms each. Options such as
// --warmupCount, --iterationCount and --iterationTime on the command line override these.
//
// DOTNET_GCDynamicAdaptationMode=0 turns off DATAS (dynamic adaptation of the server GC to the
// application's size): under it the allocation counters BenchmarkDotNet reads can go backwards, which
// shows up as odd or negative "Allocated" figures.
var job = Job.Default
    .WithLaunchCount(1)
    .WithWarmupCount(3)
    .WithIterationCount(5)
    .WithIterationTime(TimeInterval.FromMilliseconds(250))
    .WithEnvironmentVariable("DOTNET_GCDynamicAdaptationMode", "0")
    .AsDefault();

var config = DefaultConfig.Instance.AddJob(job);

// The BenchmarkDotNet classes (bench/README.md describes each); --filter picks among them.
BenchmarkSwitcher.FromTypes(
[
    typeof(PickBenchmarks),
    typeof(HttpClientPathBenchmarks),
    typeof(EdsUpdateBenchmarks),
    typeof(RouteTableBenchmarks),
    typeof(RetryPipelineBenchmarks),
    typeof(TelemetryBenchmarks),
]).Run(args, config);
return 0;
