using System.Text.RegularExpressions;
using Mesh.Client.Tests.Interop;

namespace Mesh.Client.Tests.Documentation;

/// <summary>
/// The documentation a user navigates: every relative link of every Markdown file in the repository leads to a
/// file that exists, and a link to a heading (<c>page.md#heading</c>) to a heading that exists; the README's test
/// command is the one CI runs.
/// </summary>
public sealed partial class DocumentationTests
{
    private static readonly string Root = InteropEnvironment.RepoRoot;

    public static TheoryData<string> MarkdownFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Root, "*.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => part is "node_modules" or "bin" or "obj" or "BenchmarkDotNet.Artifacts" or "TestResults" || part.StartsWith('.')))
            .Order(StringComparer.Ordinal))
        {
            data.Add(file);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void Links_Relative_LeadToFilesAndHeadingsThatExist(string file)
    {
        var path = Path.Combine(Root, file);
        var text = File.ReadAllText(path);
        var broken = new List<string>();
        foreach (Match link in LinkPattern().Matches(StripCode(text)))
        {
            var target = link.Groups["target"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var (relative, anchor) = hash < 0 ? (target, null) : (target[..hash], target[(hash + 1)..]);
            var resolved = relative.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, relative));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{target}: {Path.GetRelativePath(Root, resolved)} does not exist");
            }
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(resolved).Contains(anchor))
            {
                broken.Add($"{target}: {Path.GetRelativePath(Root, resolved)} has no heading '#{anchor}' (it has: {string.Join(", ", Anchors(resolved))})");
            }
        }

        Assert.True(broken.Count == 0, $"{file} has broken links:\n{string.Join('\n', broken)}");
    }

    [Fact]
    public void Readme_TestCommand_IsWhatCiRuns()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var ci = File.ReadAllText(Path.Combine(Root, ".ci", "run"));
        var twoCommands = readme[readme.IndexOf("## The two commands", StringComparison.Ordinal)..];

        Assert.Contains("```sh\ndotnet run --project samples/Mesh.Demo\n```", twoCommands, StringComparison.Ordinal);
        Assert.Contains("```sh\ndotnet test Mesh.Client.sln\n```", twoCommands, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"^dotnet test Mesh\.Client\.sln( \|\| status=\$\?)?$", RegexOptions.Multiline), ci);
    }

    [Theory]
    [InlineData("configuration")]
    [InlineData("xds")]
    [InlineData("traffic-policy")]
    [InlineData("mtls")]
    [InlineData("telemetry")]
    [InlineData("testing")]
    [InlineData("performance")]
    public void Readme_LinksEveryDocsPage(string page) =>
        Assert.Contains($"(docs/{page}.md)", File.ReadAllText(Path.Combine(Root, "README.md")), StringComparison.Ordinal);

    /// <summary>The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in HeadingPattern().Matches(StripCode(File.ReadAllText(markdown))))
        {
            var slug = string.Concat(heading.Groups["title"].Value.Trim().ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')).Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++)
            {
                unique = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    /// <summary>The text without fenced code blocks, whose brackets are code, not links or headings.</summary>
    private static string StripCode(string markdown) => FencePattern().Replace(markdown, string.Empty);

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"^#{1,6} (?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencePattern();
}
