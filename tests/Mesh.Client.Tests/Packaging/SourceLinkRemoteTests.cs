using System.Text.Json;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// SourceLink must map to the canonical repository whatever the clone's origin remote is, and say nothing while
/// doing it (a warning is a failed build here): no remote, a local path (how CI clones), the GitHub repository,
/// and a fork over ssh. Each case is a fresh clone of this repository with the working tree's build files laid
/// over it, in which MSBuild runs only SourceLink's targets for Mesh.Client with warnings as errors.
/// </summary>
[Collection(NestedDotnetCollection.Name)]
public sealed class SourceLinkRemoteTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    // What decides the SourceLink and repository metadata; copied from the working tree so uncommitted edits count.
    private static readonly string[] BuildFiles =
        ["Directory.Build.props", "Directory.Packages.props", "global.json", "nuget/Package.props", "src/Mesh.Client/Mesh.Client.csproj"];

    public static TheoryData<string, string?> Remotes => new()
    {
        { "no remote", null },
        { "a local path", "<source>" },
        { "GitHub", "https://github.com/mesh-client/Mesh.Client.git" },
        { "a fork over ssh", "git@github.com:someone/Mesh.Client.git" },
    };

    [Theory]
    [MemberData(nameof(Remotes))]
    public async Task SourceLink_OriginRemote_MapsToTheCanonicalRepositoryWithoutWarnings(string remote, string? url)
    {
        // Arrange: a clone whose origin is the given remote.
        var repository = PackedRepository.FindRepositoryRoot();
        var commit = await PackedRepository.GitHeadAsync(repository);
        var clone = Path.Combine(Directory.CreateTempSubdirectory("mesh-sourcelink-").FullName, "Mesh.Client");
        try
        {
            await GitAsync(Path.GetDirectoryName(clone)!, "clone", "--quiet", "--no-checkout", repository, clone);
            await GitAsync(clone, "checkout", "--quiet", commit);
            foreach (var buildFile in BuildFiles)
            {
                File.Copy(Path.Combine(repository, buildFile), Path.Combine(clone, buildFile), overwrite: true);
            }

            if (url is null)
            {
                await GitAsync(clone, "remote", "remove", "origin");
            }
            else if (url != "<source>")
            {
                await GitAsync(clone, "remote", "set-url", "origin", url);
            }

            var remotes = (await GitAsync(clone, "remote", "-v")).Trim();

            // Act: restore, then only what SourceLink needs (PrepareForBuild makes obj/; GenerateSourceLinkFile runs
            // InitializeSourceControlInformation and writes the map the compiler would embed).
            var build = await NestedCommand.DotnetAsync(
                [
                    "msbuild", "src/Mesh.Client/Mesh.Client.csproj", "-restore", "-t:PrepareForBuild;GenerateSourceLinkFile",
                    "-p:Configuration=Release", "-p:ContinuousIntegrationBuild=true", "-warnaserror", .. NestedCommand.BuildIsolation,
                ],
                clone,
                Timeout);

            // Assert
            build.EnsureSuccess($"SourceLink with {remote} ({(remotes.Length == 0 ? "git remote -v: none" : remotes)}), warnings as errors");
            var file = Path.Combine(clone, "src", "Mesh.Client", "obj", "Release", "net10.0", "Mesh.Client.sourcelink.json");
            Assert.True(File.Exists(file), $"no {file}.\n{build.Describe()}");
            using var sourceLink = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            var map = sourceLink.RootElement.GetProperty("documents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(new Dictionary<string, string?> { ["/_/*"] = $"https://raw.githubusercontent.com/mesh-client/Mesh.Client/{commit}/*" }, map);
        }
        finally
        {
            PackedRepository.TryDelete(Path.GetDirectoryName(clone)!);
        }
    }

    private static async Task<string> GitAsync(string workingDirectory, params string[] arguments)
    {
        var result = await NestedCommand.RunAsync("git", arguments, workingDirectory, Timeout);
        return result.EnsureSuccess("git " + string.Join(' ', arguments)).Output;
    }
}
