namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>Waits for conditions with a bound, instead of sleeping and hoping.</summary>
public static class Wait
{
    /// <summary>How long any single wait in the tests may take before it fails.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(15);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <see cref="Timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {(timeout ?? Timeout).TotalSeconds:F0} s waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Polls an async condition until it holds.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {(timeout ?? Timeout).TotalSeconds:F0} s waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Bounds a task by <see cref="Timeout"/>.</summary>
    public static async Task<T> DefaultTimeout<T>(this Task<T> task, string what)
    {
        var completed = await Task.WhenAny(task, Task.Delay(Timeout));
        if (completed != task)
        {
            throw new TimeoutException($"Timed out after {Timeout.TotalSeconds:F0} s waiting for: {what}");
        }

        return await task;
    }
}
