using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// Packs the repository with its documented command (into a temporary feed) and reads every package as NuGet and a
/// debugger would: metadata, files, README, icon, the exact version pin between the packages, and the symbol
/// package's SourceLink map to the canonical GitHub repository at the packed commit.
/// </summary>
[Collection(NestedDotnetCollection.Name)]
public sealed partial class PackageContentTests
{
    private const string RepositoryUrl = "https://github.com/mesh-client/Mesh.Client";

    private static readonly string[] DocsPages = ["configuration", "xds", "traffic-policy", "mtls", "telemetry", "testing", "performance"];

    public static TheoryData<string> Packages => [.. PackedRepository.PackageIds];

    public static TheoryData<string> SiblingPackages => ["Mesh.Client.AspNetCore", "Mesh.Client.Testing"];

    [Fact]
    public async Task Pack_Solution_WritesExactlyTheThreePackagesAndTheirSymbolsWithoutWarnings()
    {
        var packed = await PackedRepository.GetAsync();

        var written = Directory.GetFiles(packed.FeedDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var expected = PackedRepository.PackageIds
            .SelectMany(id => new[] { $"{id}.{packed.Version}.nupkg", $"{id}.{packed.Version}.snupkg" })
            .Order(StringComparer.Ordinal);

        Assert.Equal(expected, written);
        Assert.True(packed.Pack.Warnings.Count == 0, "dotnet pack logged warnings:\n" + string.Join('\n', packed.Pack.Warnings));
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task Package_Nuspec_HasTheMetadataAUserSees(string id)
    {
        var packed = await PackedRepository.GetAsync();
        var nuspec = new PackageFile(packed.PackagePath(id)).Nuspec;

        Assert.Equal(id, nuspec.Value("id"));
        Assert.Equal(packed.Version, nuspec.Value("version"));
        Assert.EndsWith("-preview", packed.Version, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(nuspec.Value("description")), "description");
        Assert.Equal("Apache-2.0", nuspec.Value("license"));
        Assert.Equal("expression", (string?)nuspec.Element("license")!.Attribute("type"));
        Assert.Equal("icon.png", nuspec.Value("icon"));
        Assert.Equal("README.md", nuspec.Value("readme"));
        Assert.Equal(RepositoryUrl, nuspec.Value("projectUrl"));
        var repository = nuspec.Element("repository") ?? throw new InvalidOperationException("no <repository>:\n" + nuspec);
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.Equal(RepositoryUrl, (string?)repository.Attribute("url"));
        Assert.Equal(packed.Commit, (string?)repository.Attribute("commit"));

        var releaseNotes = nuspec.Value("releaseNotes");
        Assert.StartsWith(packed.Version, releaseNotes, StringComparison.Ordinal);
        Assert.Contains(RepositoryUrl + "/blob/main/RELEASE-NOTES.md", releaseNotes, StringComparison.Ordinal);
        var notes = await File.ReadAllLinesAsync(Path.Combine(packed.RepositoryRoot, "RELEASE-NOTES.md"));
        Assert.Contains("## " + packed.Version, notes);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task Package_Files_AreTheAssemblyItsDocsReadmeAndIconOnly(string id)
    {
        var packed = await PackedRepository.GetAsync();
        var package = new PackageFile(packed.PackagePath(id));

        var expected = new[]
        {
            "[Content_Types].xml", "_rels/.rels", id + ".nuspec", "README.md", "icon.png",
            $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml",
        };
        var files = package.Entries.Where(e => !CorePropertiesEntry().IsMatch(e)).Order(StringComparer.Ordinal);
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);
        Assert.Single(package.Entries, e => CorePropertiesEntry().IsMatch(e));

        // The assembly says which version and commit it was built from.
        Assert.Equal($"{packed.Version}+{packed.Commit}", AssemblyAttributes.InformationalVersion(package.Read($"lib/net10.0/{id}.dll")));
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task Package_Readme_IsAQuickStartForThatPackage(string id)
    {
        var packed = await PackedRepository.GetAsync();
        var readme = new PackageFile(packed.PackagePath(id)).ReadText("README.md");

        Assert.StartsWith($"# {id}\n", readme.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"dotnet add package {id} --prerelease", readme, StringComparison.Ordinal);
        Assert.Contains("```csharp", readme, StringComparison.Ordinal);
        Assert.Contains("```json", readme, StringComparison.Ordinal);
        Assert.Contains("appsettings.json", readme, StringComparison.Ordinal);

        // Links into the docs go to the pages the repository has (docs/<page>.md on main).
        var links = DocsLink().Matches(readme).Select(m => m.Groups["page"].Value).Distinct().ToList();
        Assert.NotEmpty(links);
        Assert.All(links, page => Assert.Contains(page, DocsPages));
        var docs = Path.Combine(packed.RepositoryRoot, "docs");
        Assert.All(links, page => Assert.True(File.Exists(Path.Combine(docs, page + ".md")), $"README of {id} links to docs/{page}.md, which the repository does not have"));

        // Relative links would be broken on nuget.org.
        Assert.DoesNotMatch(@"\]\((?!https?://|#)", readme);
    }

    [Fact]
    public async Task Package_Icon_IsTheRepositorys128PixelPng()
    {
        var packed = await PackedRepository.GetAsync();
        var icon = await File.ReadAllBytesAsync(Path.Combine(packed.RepositoryRoot, "nuget", "icon.png"));

        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, icon[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(icon, 12, 4));
        Assert.Equal(128, BinaryPrimitives.ReadInt32BigEndian(icon.AsSpan(16)));
        Assert.Equal(128, BinaryPrimitives.ReadInt32BigEndian(icon.AsSpan(20)));
        foreach (var id in PackedRepository.PackageIds)
        {
            Assert.Equal(icon, new PackageFile(packed.PackagePath(id)).Read("icon.png"));
        }
    }

    [Theory]
    [MemberData(nameof(SiblingPackages))]
    public async Task SiblingPackage_DependsOnExactlyItsOwnMeshClientVersion(string id)
    {
        var packed = await PackedRepository.GetAsync();
        var nuspec = new PackageFile(packed.PackagePath(id)).Nuspec;

        var meshClient = Assert.Single(nuspec.Dependencies, d => d.Id == "Mesh.Client");
        Assert.Equal($"[{packed.Version}]", meshClient.Version);
        Assert.Equal("net10.0", meshClient.Group);
    }

    [Fact]
    public async Task MeshClientPackage_DependsOnPackagesOnlyWithVersions()
    {
        var packed = await PackedRepository.GetAsync();
        var nuspec = new PackageFile(packed.PackagePath("Mesh.Client")).Nuspec;

        Assert.NotEmpty(nuspec.Dependencies);
        Assert.All(nuspec.Dependencies, d => Assert.False(string.IsNullOrEmpty(d.Version), d.Id));
        Assert.DoesNotContain(nuspec.Dependencies, d => d.Id.StartsWith("Mesh.Client", StringComparison.Ordinal));
        Assert.DoesNotContain(nuspec.Dependencies, d => d.Id is "Grpc.Tools");
        Assert.DoesNotContain(nuspec.Dependencies, d => d.Id is "Microsoft.CodeAnalysis.PublicApiAnalyzers");
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task SymbolPackage_Pdb_MapsSourcesToGitHubAtTheCommit(string id)
    {
        var packed = await PackedRepository.GetAsync();
        var symbols = new PackageFile(packed.SymbolPackagePath(id));
        Assert.Single(symbols.Entries, e => e.EndsWith(".pdb", StringComparison.Ordinal));
        var pdb = new PortablePdb(symbols.Read($"lib/net10.0/{id}.pdb"));

        Assert.NotNull(pdb.SourceLinkJson);
        using var sourceLink = JsonDocument.Parse(pdb.SourceLinkJson);
        var map = sourceLink.RootElement.GetProperty("documents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["/_/*"] = $"https://raw.githubusercontent.com/mesh-client/Mesh.Client/{packed.Commit}/*" }, map);

        // Tracked sources have deterministic /_/ paths (SourceLink fetches them); generated ones are embedded.
        Assert.Contains(pdb.Documents, d => d.Path.StartsWith($"/_/src/{id}/", StringComparison.Ordinal) && !d.Embedded);
        var artifacts = Path.Combine(packed.Root, "artifacts");
        var stray = pdb.Documents.Where(d => !d.Path.StartsWith("/_/", StringComparison.Ordinal) && !(d.Embedded && d.Path.StartsWith(artifacts, StringComparison.Ordinal)));
        Assert.Empty(stray);
        Assert.DoesNotContain(pdb.Documents, d => d.Path.StartsWith(packed.RepositoryRoot, StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^package/services/metadata/core-properties/[^/]+\.psmdcp$")]
    private static partial Regex CorePropertiesEntry();

    [GeneratedRegex(@"https://github\.com/mesh-client/Mesh\.Client/blob/main/docs/(?<page>[a-z-]+)\.md")]
    private static partial Regex DocsLink();
}
