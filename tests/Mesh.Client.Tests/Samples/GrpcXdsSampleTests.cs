using System.Text.RegularExpressions;
using Mesh.Client.Tests.Interop;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// samples/Grpc/Mesh.Samples.GrpcXds prints what its README says. The test runs the sample's own build (the
/// test project references it, so its assembly sits beside the tests') as a process, as <c>dotnet run</c>
/// would, and reads its output: the spread of each step and the effect of each pushed update.
/// </summary>
public sealed partial class GrpcXdsSampleTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Sample_SpreadsCallsAndFollowsTheEndpointChangeAndTheWeightedSplit()
    {
        // Arrange
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var sample = Path.Combine(AppContext.BaseDirectory, "Mesh.Samples.GrpcXds.dll");
        Assert.True(File.Exists(sample), $"The sample's build is missing: {sample} (the test project references samples/Grpc/Mesh.Samples.GrpcXds).");

        // Act
        var (exitCode, output) = await InteropProcess.RunAsync(dotnet, [sample], AppContext.BaseDirectory, RunTimeout);

        // Assert
        Assert.True(exitCode == 0, $"The sample exited with {exitCode?.ToString() ?? "no exit code"}.\n{output}");
        var steps = SpreadLine().Matches(output).Select(Parse).ToArray();
        Assert.True(steps.Length == 3, $"Expected three spread lines ('N calls: ...').\n{output}");

        // 1. Round robin over greeter-1 and greeter-2.
        var (calls, first) = steps[0];
        Assert.True(first["greeter-1"] > 0 && first["greeter-2"] > 0 && first["greeter-1"] + first["greeter-2"] == calls, $"step 1: {output}");

        // 2. greeter-1 replaced by greeter-3: after the pushed endpoints are in use, greeter-1 gets nothing.
        (calls, var second) = steps[1];
        Assert.True(second["greeter-1"] == 0 && second["greeter-2"] > 0 && second["greeter-3"] > 0 && second["greeter-canary"] == 0, $"step 2: {output}");

        // 3. A 75/25 split to the canary over 200 calls: 50 expected; 0 or 100 or more would be more than 8 standard deviations off.
        (calls, var third) = steps[2];
        Assert.True(third["greeter-1"] == 0 && third["greeter-canary"] is > 0 and < 100 && third.Values.Sum() == calls, $"step 3: {output}");

        Assert.Contains("version 2 pushed and ACKed; call", output, StringComparison.Ordinal);
        Assert.Contains(" 0 NACKs.", output, StringComparison.Ordinal);
    }

    private static (int Calls, Dictionary<string, int> Answered) Parse(Match line) =>
        (int.Parse(line.Groups["calls"].Value, System.Globalization.CultureInfo.InvariantCulture),
         line.Groups["answers"].Value.Split(", ")
            .Select(answer => answer.Split(' '))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"^ +(?<calls>\d+) calls: (?<answers>.+)$", RegexOptions.Multiline)]
    private static partial Regex SpreadLine();
}
