using System.Text.RegularExpressions;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// One trim, AOT or single-file warning (<c>ILxxxx</c>) a build or publish printed: from the compiler's analyzers
/// (<c>File.cs(3,5): warning IL2026: …</c>) or from ILLink / the native AOT compiler
/// (<c>File.cs(3): Trim analysis warning IL2026: Type.Member(): …</c>, <c>ILC : AOT analysis warning IL3050: …</c>).
/// </summary>
/// <param name="Code">The warning code, e.g. <c>IL2026</c>.</param>
/// <param name="Origin">The source file without its line, or the tool (<c>ILC</c>, <c>ILLink</c>) when it names none.</param>
/// <param name="Member">The member the warning is in, when the tool names it (ILLink and ILC do, the analyzers do not).</param>
/// <param name="Message">What the tool says.</param>
internal sealed record AotWarning(string Code, string Origin, string? Member, string Message)
{
    /// <summary>How a known warning is listed: the code and the member (or the file when no member is named).</summary>
    public string Key => $"{Code} {Member ?? Origin}";

    public override string ToString() => $"{Code} {(Member is null ? string.Empty : Member + " ")}({Origin}): {Message}";
}

/// <summary>Finds the <see cref="AotWarning"/>s in a build's output and tells ours from our dependencies'.</summary>
internal static partial class AotWarnings
{
    /// <summary>
    /// Namespaces and type names of our assemblies, for warnings that name a member but no file: Mesh.Client's
    /// own code, its generated xDS protos, and the <c>Mesh…Extensions</c> classes it puts in Microsoft's and
    /// OpenTelemetry's namespaces (AddMesh, MapMeshStatus, AddMeshInstrumentation).
    /// </summary>
    [GeneratedRegex(@"^(?:Mesh|Envoy|Xds|Udpa)\.|\.Mesh\w*Extensions\.")]
    private static partial Regex OurMember();

    [GeneratedRegex(@"^\s*(?<origin>.*?)\s*:\s*(?<analysis>(?:Trim|AOT|Single-file) analysis )?warning (?<code>IL\d{4})\s*:\s*(?<text>.*?)(?:\s+\[[^\]]*\])?\s*$")]
    private static partial Regex WarningLine();

    [GeneratedRegex(@"\(\d+(?:,\d+)*\)$")]
    private static partial Regex LinePosition();

    /// <summary>Every distinct IL warning in <paramref name="output"/> (MSBuild repeats warnings in its summary).</summary>
    public static IReadOnlyList<AotWarning> Parse(string output)
    {
        var warnings = new List<AotWarning>();
        foreach (var line in output.Split('\n'))
        {
            var match = WarningLine().Match(line.TrimEnd('\r'));
            if (!match.Success)
            {
                continue;
            }

            var origin = LinePosition().Replace(match.Groups["origin"].Value, string.Empty);
            var text = match.Groups["text"].Value;
            string? member = null;
            var separator = text.IndexOf(": ", StringComparison.Ordinal);
            if (match.Groups["analysis"].Success && separator > 0)
            {
                (member, text) = (text[..separator], text[(separator + 2)..]);
            }

            var warning = new AotWarning(match.Groups["code"].Value, origin, member, text);
            if (!warnings.Contains(warning))
            {
                warnings.Add(warning);
            }
        }

        return warnings;
    }

    /// <summary>
    /// Whether the warning is in our code: its file lies in one of <paramref name="ourDirectories"/> (the repository,
    /// and the build's artifacts, where generated code is), or, when it names no file, its member is ours.
    /// </summary>
    public static bool IsOurs(AotWarning warning, IReadOnlyList<string> ourDirectories)
    {
        if (Path.IsPathFullyQualified(warning.Origin))
        {
            var file = Path.GetFullPath(warning.Origin);
            return ourDirectories.Any(d => file.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        }

        return warning.Member is { } member && OurMember().IsMatch(member);
    }
}
