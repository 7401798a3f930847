using System.Runtime.CompilerServices;
using Mesh.Client.AotCheck;

// Mesh.Client's native AOT check (tests/aot/README.md): every check prints PASS or FAIL; exit code 0 when all pass.
// PublishAot turns dynamic code off in JIT runs too, so RuntimeFeature cannot tell them apart; the JIT's
// runtime library in the process can.
var jit = File.ReadAllText("/proc/self/maps").Contains("libcoreclr.so", StringComparison.Ordinal);
Console.WriteLine(jit
    ? "runtime: JIT (libcoreclr.so is loaded): this is not the native AOT binary"
    : $"runtime: native AOT (no libcoreclr.so; dynamic code supported: {RuntimeFeature.IsDynamicCodeSupported})");
var log = new CheckLog();
using var watchdog = new Timer(_ =>
{
    Console.WriteLine("FAIL watchdog: the checks did not finish within 120 s");
    Environment.Exit(2);
}, null, TimeSpan.FromSeconds(120), Timeout.InfiniteTimeSpan);

// The checks bring their own configuration: a bootstrap in the environment would turn the appsettings check into an xDS one.
Environment.SetEnvironmentVariable("GRPC_XDS_BOOTSTRAP", null);
Environment.SetEnvironmentVariable("GRPC_XDS_BOOTSTRAP_CONFIG", null);
await log.RunGroupAsync("appsettings", AppSettingsCheck.RunAsync);
await log.RunGroupAsync("xds", XdsCheck.RunAsync);
return log.Finish();
