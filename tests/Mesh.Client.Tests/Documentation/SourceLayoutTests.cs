using Mesh.Client.Tests.Interop;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mesh.Client.Tests.Documentation;

/// <summary>
/// The shape rules of the library's sources that no formatter checks (CONVENTIONS: "a file you can read in one
/// sitting", "a method on the request path fits on a screen", fields before members). Each source file of the three
/// packages is parsed with Roslyn; generated code (the xDS protobuf types) is not in the tree and not read.
/// </summary>
public sealed class SourceLayoutTests
{
    /// <summary>The longest a source file may be.</summary>
    private const int MaxFileLines = 400;

    /// <summary>The longest a method on the request path may be.</summary>
    private const int MaxRequestPathMethodLines = 60;

    private static readonly string Root = InteropEnvironment.RepoRoot;

    /// <summary>The folders a request goes through: both front doors and the request core they call.</summary>
    private static readonly string[] RequestPath =
    [
        "src/Mesh.Client/Http/", "src/Mesh.Client/Grpc/", "src/Mesh.Client/Routing/", "src/Mesh.Client/Resilience/",
        "src/Mesh.Client/Balancing/", "src/Mesh.Client/Runtime/", "src/Mesh.Client/Security/Internal/Http2SchemeStream.cs",
        "src/Mesh.Client/Security/Internal/MeshTlsHttpTransport.cs", "src/Mesh.Client/Security/Internal/ClusterTlsConnector.cs",
    ];

    [Fact]
    public void EverySourceFile_IsAtMost400Lines()
    {
        var tooLong = Sources()
            .Select(f => (File: f, Lines: File.ReadAllLines(Path.Combine(Root, f)).Length))
            .Where(f => f.Lines > MaxFileLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();

        Assert.True(tooLong.Count == 0, $"Source files over {MaxFileLines} lines (split them by concern):\n{string.Join("\n", tooLong)}");
    }

    [Fact]
    public void EveryRequestPathMethod_IsAtMost60Lines()
    {
        var tooLong = new List<string>();
        foreach (var file in Sources().Where(f => RequestPath.Any(p => f.StartsWith(p, StringComparison.Ordinal))))
        {
            var root = Parse(file);
            foreach (var member in root.DescendantNodes().OfType<BaseMethodDeclarationSyntax>().Where(m => m.Body is not null || m.ExpressionBody is not null))
            {
                var span = member.GetLocation().GetLineSpan();
                var lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
                if (lines > MaxRequestPathMethodLines)
                {
                    tooLong.Add($"{file}:{span.StartLinePosition.Line + 1} {Name(member)}: {lines} lines");
                }
            }
        }

        Assert.True(tooLong.Count == 0, $"Request-path methods over {MaxRequestPathMethodLines} lines:\n{string.Join("\n", tooLong)}");
    }

    [Fact]
    public void EveryType_DeclaresItsFieldsBeforeItsOtherMembers()
    {
        var misplaced = new List<string>();
        foreach (var file in Sources())
        {
            foreach (var type in Parse(file).DescendantNodes().OfType<TypeDeclarationSyntax>())
            {
                var seenOther = false;
                foreach (var member in type.Members)
                {
                    if (member is FieldDeclarationSyntax field)
                    {
                        if (seenOther)
                        {
                            var line = field.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                            misplaced.Add($"{file}:{line} {type.Identifier.Text}.{field.Declaration.Variables[0].Identifier.Text}");
                        }
                    }
                    else if (member is not BaseTypeDeclarationSyntax and not DelegateDeclarationSyntax)
                    {
                        seenOther = true;
                    }
                }
            }
        }

        Assert.True(misplaced.Count == 0, $"Fields declared after other members (move them to the top of their type):\n{string.Join("\n", misplaced)}");
    }

    /// <summary>The hand-written C# files of the three packages, relative to the repository root.</summary>
    private static IEnumerable<string> Sources() =>
        new[] { "src/Mesh.Client", "src/Mesh.Client.Testing", "src/Mesh.Client.AspNetCore" }
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(Root, project), "*.cs", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static SyntaxNode Parse(string file) =>
        CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(Root, file)), path: file).GetRoot();

    private static string Name(BaseMethodDeclarationSyntax member) => member switch
    {
        MethodDeclarationSyntax method => method.Identifier.Text,
        ConstructorDeclarationSyntax constructor => constructor.Identifier.Text + " (constructor)",
        _ => member.Kind().ToString(),
    };
}
