namespace Mesh.Client.Tests.Interop;

/// <summary>
/// The wire contract of our hand-written xDS protos (src/Mesh.Client/Xds/Protos): tests/interop/protocheck/check.js
/// compares every message, field number, type, label, oneof, enum value and rpc we declare with the upstream
/// Envoy protos shipped in @grpc/grpc-js-xds.
/// </summary>
[Collection(InteropCollection.Name)]
public class ProtoCheckTests
{
    [Fact]
    public async Task CheckJs_OurProtos_MatchTheUpstreamEnvoyProtos()
    {
        var node = await InteropEnvironment.EnsureNodePackagesAsync();

        var (exitCode, output) = await InteropProcess.RunAsync(
            node,
            [Path.Combine(InteropEnvironment.InteropDirectory, "protocheck", "check.js")],
            InteropEnvironment.RepoRoot,
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, $"protocheck failed (exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none: timed out"}):\n{output}");
        Assert.Contains("protocheck: OK", output, StringComparison.Ordinal);
    }
}
