using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Xunit.Abstractions;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: tests/consumer (a console app with its own build files and NuGet.config, outside
/// the solution) is copied beside the freshly packed feed, restored by PackageReference into an empty packages folder,
/// built, and run against two real backends. It must find both backends through HttpClient and through gRPC
/// (<c>xds:///</c>), from its appsettings.json alone. A package that builds but does not work (a dependency missing
/// from its nuspec, an assembly missing from lib/) fails here: at restore, at compile, or when the app runs.
/// </summary>
[Collection(NestedDotnetCollection.Name)]
public sealed class ConsumerSmokeTests(ITestOutputHelper log)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Consumer_FromTheLocalFeed_ReachesBothBackendsThroughHttpClientAndGrpc()
    {
        // Arrange: the packed feed, the consumer copied beside it, two backends on 127.0.0.1 port 0.
        var packed = await PackedRepository.GetAsync();
        var consumer = Path.Combine(packed.Root, "tests", "consumer");
        CopyConsumer(Path.Combine(packed.RepositoryRoot, "tests", "consumer"), consumer);
        var packages = Path.Combine(packed.Root, "packages-" + Guid.NewGuid().ToString("N")[..8]);
        await using var a = await EchoBackend.StartAsync("backend-a");
        await using var b = await EchoBackend.StartAsync("backend-b");
        WriteEndpoints(Path.Combine(consumer, "appsettings.json"), a.Address, b.Address);
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages };

        try
        {
            // Act
            var build = await NestedCommand.DotnetAsync(
                ["build", "-c", "Release", "-p:MeshClientVersion=" + packed.Version, .. NestedCommand.BuildIsolation],
                consumer,
                BuildTimeout,
                environment);
            build.EnsureSuccess("building tests/consumer from the local feed");
            var output = Path.Combine(consumer, "bin", "Release", "net10.0");
            var run = await NestedCommand.DotnetAsync([Path.Combine(output, "Mesh.Client.Consumer.dll")], output, RunTimeout, environment);

            log.WriteLine($"pack {packed.Pack.Elapsed.TotalSeconds:F0} s (once per run), consumer restore+build {build.Elapsed.TotalSeconds:F0} s, run {run.Elapsed.TotalSeconds:F1} s");
            log.WriteLine(run.Output);

            // Assert: it ran and saw both backends on both doors, and both backends saw it.
            run.EnsureSuccess("running tests/consumer against two backends");
            Assert.Contains("spread ok", run.Output, StringComparison.Ordinal);
            Assert.Contains($"Mesh.Client {packed.Version}+{packed.Commit}", run.Output, StringComparison.Ordinal);
            Assert.True(a.Requests > 0 && b.Requests > 0, $"backend-a answered {a.Requests}, backend-b {b.Requests}.\n{run.Describe()}");
            Assert.Empty(build.Warnings);

            // It used the package just packed, restored from the local feed into the empty packages folder.
            AssertRestoredFromFeed(consumer, packages, packed);
        }
        finally
        {
            PackedRepository.TryDelete(packages);
            PackedRepository.TryDelete(Path.Combine(packed.Root, "tests"));
        }
    }

    [Fact]
    public async Task ConsumerProto_IsTheEchoBackendsContract()
    {
        var repository = PackedRepository.FindRepositoryRoot();

        var sample = await File.ReadAllTextAsync(Path.Combine(repository, "samples", "Mesh.Samples.Echo", "echo.proto"));
        var consumer = await File.ReadAllTextAsync(Path.Combine(repository, "tests", "consumer", "echo.proto"));

        Assert.Equal(sample.ReplaceLineEndings("\n"), consumer.ReplaceLineEndings("\n"));
    }

    private static void CopyConsumer(string source, string destination)
    {
        PackedRepository.TryDelete(destination);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "bin" or "obj")
            {
                continue;
            }

            var target = Path.Combine(destination, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>
    /// Puts the backends' addresses in the copy's appsettings.json, in place of its placeholders: the whole mesh
    /// then comes from that one file, as in a user's app (a command-line override would test another source).
    /// </summary>
    private static void WriteEndpoints(string appSettings, params string[] addresses)
    {
        var json = JsonNode.Parse(File.ReadAllText(appSettings))!;
        var echo = json["Mesh"]?["Services"]?["echo"] ?? throw new InvalidOperationException($"{appSettings} has no Mesh:Services:echo");
        echo["Endpoints"] = new JsonArray([.. addresses.Select(a => JsonValue.Create(a))]);
        File.WriteAllText(appSettings, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static void AssertRestoredFromFeed(string consumer, string packages, PackedRepository packed)
    {
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json")));
        var library = assets.RootElement.GetProperty("libraries").GetProperty($"Mesh.Client/{packed.Version}");
        Assert.Equal("package", library.GetProperty("type").GetString());
        var folders = assets.RootElement.GetProperty("packageFolders").EnumerateObject().Select(p => Path.TrimEndingDirectorySeparator(p.Name)).ToList();
        Assert.Equal([packages], folders);

        // NuGet keeps the SHA-512 of the .nupkg it extracted: the one in our feed, byte for byte.
        var extracted = Path.Combine(packages, "mesh.client", packed.Version.ToLowerInvariant());
        var sha = File.ReadAllText(Path.Combine(extracted, $"mesh.client.{packed.Version.ToLowerInvariant()}.nupkg.sha512")).Trim();
        Assert.Equal(Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(packed.PackagePath("Mesh.Client")))), sha);
    }
}
