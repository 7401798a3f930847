using System.Text;
using Xunit.Abstractions;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// The ACK/NACK matrix: for every configuration in <see cref="AckNackCases"/>, the verdicts of gRPC C-core,
/// grpc-js-xds and Mesh.Client — each measured by running it against our XdsTestServer — must be those
/// tests/interop/README.md records. The README's "ours" column is the documented expectation: the references'
/// common verdict, or, where they disagree, the one the README's "why" says we follow.
/// </summary>
[Collection(InteropCollection.Name)]
public class AckNackMatrixTests(ITestOutputHelper output)
{
    private const string DeliberateDifference = "deliberately differs from both references:";

    [Fact]
    public async Task OurClient_EveryConfiguration_GetsTheDocumentedVerdict() =>
        await MeasureAndCompareAsync(MatrixClientKind.Ours, row => row.Ours);

    [Fact]
    public async Task GrpcJsXds_EveryConfiguration_GetsTheVerdictTheReadmeRecords() =>
        await MeasureAndCompareAsync(MatrixClientKind.GrpcJs, row => row.GrpcJs);

    [Fact]
    public async Task GrpcCCore_EveryConfiguration_GetsTheVerdictTheReadmeRecords() =>
        await MeasureAndCompareAsync(MatrixClientKind.CCore, row => row.CCore);

    [Fact]
    public void Readme_Matrix_CoversEveryCaseAndOurColumnFollowsTheReferences()
    {
        var rows = AckNackReadme.Load();
        var problems = new List<string>();
        Assert.True(AckNackCases.All.Count >= 12, "the matrix needs at least 12 configurations");
        foreach (var @case in AckNackCases.All)
        {
            if (!rows.TryGetValue(@case.Id, out var row))
            {
                problems.Add($"{@case.Id}: no row in tests/interop/README.md");
                continue;
            }

            if (row.CCore == row.GrpcJs)
            {
                // A verdict of our own needs a stated reason; anything else is a bug to fix, not to document.
                if (row.Ours != row.CCore && !row.Why.StartsWith(DeliberateDifference, StringComparison.Ordinal))
                {
                    problems.Add($"{@case.Id}: both references say {row.CCore}, the README expects {row.Ours} of us (a deliberate difference starts 'why' with \"{DeliberateDifference}\")");
                }
            }
            else
            {
                var followed = row.Ours == row.CCore ? "C-core" : row.Ours == row.GrpcJs ? "grpc-js" : null;
                if (followed is null)
                {
                    problems.Add($"{@case.Id}: the references disagree ({row.CCore} / {row.GrpcJs}); the README expects {row.Ours}, neither of them");
                }
                else if (!row.Why.StartsWith("follows " + followed, StringComparison.Ordinal))
                {
                    problems.Add($"{@case.Id}: the references disagree; the 'why' cell must start with \"follows {followed}\" and say why, found \"{row.Why}\"");
                }
            }
        }

        foreach (var id in rows.Keys.Except(AckNackCases.All.Select(c => c.Id)))
        {
            problems.Add($"{id}: README row without a case in AckNackCases");
        }

        Assert.True(problems.Count == 0, "tests/interop/README.md and AckNackCases disagree:\n" + string.Join('\n', problems));
    }

    private async Task MeasureAndCompareAsync(MatrixClientKind kind, Func<AckNackReadme.Row, string> expected)
    {
        var rows = AckNackReadme.Load();
        var measured = await AckNackMatrix.MeasureAsync(kind, AckNackCases.All, output.WriteLine);

        output.WriteLine($"{kind} measured:\n{AckNackMatrix.Format(measured)}");
        var mismatches = new StringBuilder();
        foreach (var verdict in measured)
        {
            var want = rows.TryGetValue(verdict.CaseId, out var row) ? expected(row) : "(no README row)";
            if (want != verdict.Verdict)
            {
                mismatches.AppendLine($"  {verdict.CaseId}: README says {want}, measured {verdict.Verdict} {verdict.Detail}{(row is null ? string.Empty : $"\n      why: {row.Why}")}");
            }
        }

        Assert.True(mismatches.Length == 0, $"{kind}: verdicts differ from tests/interop/README.md:\n{mismatches}\nall measured verdicts:\n{AckNackMatrix.Format(measured)}");
    }
}

/// <summary>The ACK/NACK table of tests/interop/README.md: rows <c>| `id` | config | C-core | grpc-js | ours | why |</c>.</summary>
internal static class AckNackReadme
{
    public static IReadOnlyDictionary<string, Row> Load()
    {
        var path = Path.Combine(InteropEnvironment.InteropDirectory, "README.md");
        var rows = new Dictionary<string, Row>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            if (!line.StartsWith("| `", StringComparison.Ordinal))
            {
                continue;
            }

            var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length < 6)
            {
                throw new InvalidOperationException($"{path}: a matrix row needs 6 cells: {line}");
            }

            rows.Add(cells[0].Trim('`'), new Row(Verdict(cells[2]), Verdict(cells[3]), Verdict(cells[4]), string.Join(" | ", cells[5..])));
        }

        return rows;
    }

    /// <summary>The first word of a cell, upper-cased: "ACK", "NACK", "CRASH" (notes may follow it).</summary>
    private static string Verdict(string cell)
    {
        var word = new string(cell.Replace("*", string.Empty, StringComparison.Ordinal).TrimStart().TakeWhile(char.IsLetter).ToArray());
        return word.ToUpperInvariant();
    }

    internal sealed record Row(string CCore, string GrpcJs, string Ours, string Why);
}
