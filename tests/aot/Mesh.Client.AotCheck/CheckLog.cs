namespace Mesh.Client.AotCheck;

/// <summary>Prints one line per check (<c>PASS name: detail</c> / <c>FAIL name: detail</c>) and the verdict.</summary>
internal sealed class CheckLog
{
    /// <summary>The last line of a run where every check passed; the test looks for it.</summary>
    public const string SuccessLine = "AOT CHECK OK";

    private int _passed;
    private int _failed;

    /// <summary>Runs one check; an exception or a false condition fails it, and the run goes on.</summary>
    public async Task RunAsync(string name, Func<Task<string>> check)
    {
        try
        {
            Pass(name, await check());
        }
        catch (Exception ex)
        {
            Fail(name, ex.ToString());
        }
    }

    /// <summary>Runs a group of checks (it logs its own); an exception that escapes it (its setup failed) fails the group.</summary>
    public async Task RunGroupAsync(string name, Func<CheckLog, Task> group)
    {
        try
        {
            await group(this);
        }
        catch (Exception ex)
        {
            Fail(name, ex.ToString());
        }
    }

    public void Pass(string name, string detail)
    {
        _passed++;
        Console.WriteLine($"PASS {name}: {detail}");
    }

    public void Fail(string name, string detail)
    {
        _failed++;
        Console.WriteLine($"FAIL {name}: {detail}");
    }

    /// <returns>The process exit code: 0 when every check passed.</returns>
    public int Finish()
    {
        Console.WriteLine($"checks: {_passed} passing, {_failed} failing");
        Console.WriteLine(_failed == 0 && _passed > 0 ? SuccessLine : "AOT CHECK FAILED");
        return _failed == 0 && _passed > 0 ? 0 : 1;
    }
}

/// <summary>A condition that must hold, with the message that says what did not.</summary>
internal static class Expect
{
    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling, or fails after <paramref name="timeout"/> saying what was awaited.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }
}
