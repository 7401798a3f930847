namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>The allocation check the hot-path tests rely on fails when a step allocates, rarely or always.</summary>
public class AllocationsTests
{
    private static object? s_kept;

    [Fact]
    public void StepThatAllocatesEveryTime_Fails()
    {
        var failure = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Allocations.AssertSteadyStateAllocatesNothing(_ => s_kept = new object()));

        Assert.Contains("allocated", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StepThatAllocatesOnceEveryFewThousandSteps_Fails() =>
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Allocations.AssertSteadyStateAllocatesNothing(i => s_kept = i % 5_000 == 4_999 ? new object() : s_kept));

    [Fact]
    public void StepThatAllocatesNothing_Passes() => Allocations.AssertSteadyStateAllocatesNothing(i => s_kept = i % 2 == 0 ? s_kept : null);
}
