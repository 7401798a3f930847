namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>The allocation measure the hot-path tests rely on sees a step that allocates, rarely or always.</summary>
public class AllocationsTests
{
    private static object? s_kept;

    [Fact]
    public void StepThatAllocatesEveryTime_EveryRoundAllocated()
    {
        var measured = Allocations.Measure(_ => s_kept = new object());

        Assert.Equal(3, measured.RoundsThatAllocated);
        Assert.All(measured.PerRound, bytes => Assert.True(bytes >= 10_000 * IntPtr.Size * 2, measured.ToString()));
    }

    [Fact]
    public void StepThatAllocatesOnceEveryFewThousandSteps_EveryRoundAllocated()
    {
        var measured = Allocations.Measure(i => s_kept = i % 5_000 == 4_999 ? new object() : s_kept);

        Assert.Equal(3, measured.RoundsThatAllocated);
    }

    [Fact]
    public void StepThatAllocatesNothing_AtMostOneRoundAllocated()
    {
        var measured = Allocations.Measure(i => s_kept = i % 2 == 0 ? s_kept : null);

        Assert.InRange(measured.RoundsThatAllocated, 0, 1);
    }
}
