using System.Text.RegularExpressions;
using Mesh.Client.Tests.Interop;
using Mesh.Client.Tests.Packaging;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// The demo (the README's first command) and the OpenTelemetry sample print what their READMEs say. Each runs from its
/// own build folder as <c>dotnet run</c> would run it (the test project builds them without referencing them), and
/// the test reads what it printed.
/// </summary>
public sealed partial class ConsoleSampleTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Demo_FromAppSettings_BalancesOverMutualTlsAndEveryBackendProvesItsIdentity()
    {
        var run = await RunSampleAsync("Mesh.Demo", []);

        Assert.Contains("mesh configured by appsettings.json only.", run.Output, StringComparison.Ordinal);
        AssertRoundRobinBlock(run);
        AssertMutualTlsSummary(run);
    }

    [Fact]
    public async Task Demo_FromXds_BalancesFollowsTheLiveUpdateAndNacksNothing()
    {
        var run = await RunSampleAsync("Mesh.Demo", ["--xds"]);

        Assert.Contains("mesh configured by an xDS control plane", run.Output, StringComparison.Ordinal);
        AssertRoundRobinBlock(run);
        AssertMutualTlsSummary(run);
        Assert.Matches(new Regex(@"live EDS update \(version \d+, ACKed\): catalog -> 127\.0\.0\.1:47103 only; next 30 HttpClient \+ 30 gRPC: 127\.0\.0\.1:47103=60"), run.Output);
        Assert.Matches(new Regex(@"\d+ ACKs, 0 NACKs\."), run.Output);
    }

    [Fact]
    public async Task OpenTelemetrySample_PrintsTheSpanTreeWithEachRetriedAttempt()
    {
        // Loopback only: nothing need listen there; the sample prints what it exported either way.
        var run = await RunSampleAsync("Mesh.Samples.OpenTelemetry", [], new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317" });

        Assert.Contains("Exported over OTLP to http://127.0.0.1:4317", run.Output, StringComparison.Ordinal);
        Assert.Contains("  checkout ", run.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"Attempt GET catalog .*mesh\.attempt=1, .*http\.response\.status_code=503"), run.Output);
        Assert.Matches(new Regex(@"Attempt GET catalog .*mesh\.attempt=2, .*http\.response\.status_code=200"), run.Output);
        Assert.Matches(new Regex(@"Attempt\.mesh\.samples\.Echo\.Hello .*mesh\.attempt=2, .*rpc\.grpc\.status_code=0"), run.Output);
    }

    /// <summary>The first block: round robin over backends a–c, exact for HttpClient, all 300 gRPC calls on a–c.</summary>
    private static void AssertRoundRobinBlock(CommandResult run)
    {
        var block = run.Output[run.Output.IndexOf("round_robin  [catalog]", StringComparison.Ordinal)..];
        foreach (var (port, name) in new[] { (47101, "backend-a"), (47102, "backend-b"), (47103, "backend-c") })
        {
            Assert.Matches(new Regex($@"127\.0\.0\.1:{port} {name} +100 +\d+ +spiffe://cluster\.local/ns/demo/sa/catalog"), block);
        }

        Assert.Matches(new Regex(@"127\.0\.0\.1:47104 backend-d +0 +0"), block);
    }

    private static void AssertMutualTlsSummary(CommandResult run)
    {
        foreach (var (name, identity) in new[] { ("backend-a", "catalog"), ("backend-b", "catalog"), ("backend-c", "catalog"), ("backend-d", "catalog-v2") })
        {
            Assert.Matches(
                new Regex($@"{name}: proved spiffe://cluster\.local/ns/demo/sa/{Regex.Escape(identity)}; verified the client as spiffe://cluster\.local/ns/demo/sa/frontend over \d+ TLS connection"),
                run.Output);
        }
    }

    /// <summary>Runs samples/<paramref name="sample"/>'s build of the tests' configuration from its own folder.</summary>
    private static async Task<CommandResult> RunSampleAsync(string sample, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        // tests/Mesh.Client.Tests/bin/<configuration>/<framework>/: the sample's build is samples/<sample>/bin/<configuration>/<framework>/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = framework.Parent!.Name;
        var folder = Path.Combine(InteropEnvironment.RepoRoot, "samples", sample, "bin", configuration, framework.Name);
        var assembly = Path.Combine(folder, sample + ".dll");
        Assert.True(File.Exists(assembly), $"The sample's build is missing: {assembly} (the test project builds samples/{sample}; build Mesh.Client.sln).");

        var run = await NestedCommand.DotnetAsync([assembly, .. arguments], folder, RunTimeout, environment);
        return run.EnsureSuccess($"samples/{sample}");
    }
}
