using System.Text.RegularExpressions;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// The repository packed once per test run by its documented command, <c>dotnet pack Mesh.Client.sln -c Release</c>,
/// with its outputs sent to a temporary directory (<c>--artifacts-path</c>, <c>PackageOutputPath</c>) so the
/// working tree's bin/, obj/ and nuget/feed/ are never written. The feed lands in <c>&lt;temp&gt;/nuget/feed</c>,
/// where tests/consumer/NuGet.config finds it when the consumer is copied to <c>&lt;temp&gt;/tests/consumer</c>.
/// </summary>
internal sealed partial class PackedRepository
{
    /// <summary>The packages the repository ships, and the only ones its pack command may write.</summary>
    public static IReadOnlyList<string> PackageIds { get; } = ["Mesh.Client", "Mesh.Client.AspNetCore", "Mesh.Client.Testing"];

    public static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);

    private static readonly Lazy<Task<PackedRepository>> Packed = new(PackAsync);

    private PackedRepository(string repositoryRoot, string root, string version, string commit, CommandResult pack)
    {
        RepositoryRoot = repositoryRoot;
        Root = root;
        Version = version;
        Commit = commit;
        Pack = pack;
    }

    /// <summary>The working tree that was packed (it holds Mesh.Client.sln).</summary>
    public string RepositoryRoot { get; }

    /// <summary>The temporary directory holding the feed (and, while packing, the build's artifacts).</summary>
    public string Root { get; }

    public string FeedDirectory => Path.Combine(Root, "nuget", "feed");

    /// <summary>The packages' version, as their nuspec says.</summary>
    public string Version { get; }

    /// <summary>The commit the working tree is at (<c>git rev-parse HEAD</c>).</summary>
    public string Commit { get; }

    public CommandResult Pack { get; }

    public string PackagePath(string id) => Path.Combine(FeedDirectory, $"{id}.{Version}.nupkg");

    public string SymbolPackagePath(string id) => Path.Combine(FeedDirectory, $"{id}.{Version}.snupkg");

    /// <summary>Packs the repository the first time it is asked for, then hands out the same result (or failure).</summary>
    public static Task<PackedRepository> GetAsync() => Packed.Value;

    /// <summary>The directory holding Mesh.Client.sln, found by walking up from the test assembly.</summary>
    public static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Mesh.Client.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} holds Mesh.Client.sln: the packaging tests run in a clone of the repository.");
    }

    /// <summary>The commit a working tree is at; fails naming what is missing when git or the .git metadata is.</summary>
    public static async Task<string> GitHeadAsync(string workingTree)
    {
        CommandResult result;
        try
        {
            result = await NestedCommand.RunAsync("git", ["rev-parse", "HEAD"], workingTree, TimeSpan.FromSeconds(30));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("The packaging tests need git on PATH (SourceLink and the nuspec's <repository commit> come from the git checkout): " + e.Message, e);
        }

        result.EnsureSuccess($"git rev-parse HEAD in {workingTree} (the packaging tests need a git checkout: SourceLink and the nuspec's commit come from it)");
        return result.Output.Trim();
    }

    private static async Task<PackedRepository> PackAsync()
    {
        var repository = FindRepositoryRoot();
        var commit = await GitHeadAsync(repository);
        var root = Directory.CreateTempSubdirectory("mesh-pack-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root); // the feed, a few MB
        var feed = Path.Combine(root, "nuget", "feed");
        var pack = await NestedCommand.DotnetAsync(
            [
                "pack", Path.Combine(repository, "Mesh.Client.sln"), "-c", "Release",
                "--artifacts-path", Path.Combine(root, "artifacts"),
                "-p:PackageOutputPath=" + feed + Path.DirectorySeparatorChar,
                .. NestedCommand.BuildIsolation,
            ],
            repository,
            PackTimeout);
        pack.EnsureSuccess("dotnet pack Mesh.Client.sln -c Release");
        TryDelete(Path.Combine(root, "artifacts")); // the build's obj/ and bin/: only the feed is used from here on
        var mainPackage = Directory.GetFiles(feed, "*.nupkg").FirstOrDefault(f => MainPackageName().IsMatch(Path.GetFileName(f)))
            ?? throw new InvalidOperationException($"dotnet pack wrote no Mesh.Client package to {feed}.\n{pack.Describe()}");
        var version = new PackageFile(mainPackage).Nuspec.Value("version");
        return new PackedRepository(repository, root, version, commit, pack);
    }

    public static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"^Mesh\.Client\.[0-9][^/]*\.nupkg$")]
    private static partial Regex MainPackageName();
}
