using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// An external process run by an interop test: started with a bounded lifetime, its stdout kept line by line
/// (tests wait for lines) and its stderr kept for failure messages, killed with its children on dispose.
/// </summary>
internal sealed class InteropProcess : IAsyncDisposable
{
    private const int DescribedLines = 60;

    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _lifetime;
    private readonly CancellationTokenRegistration _lifetimeRegistration;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _killedForLifetime;

    private InteropProcess(Process process, string commandLine, TimeSpan lifetime)
    {
        _process = process;
        CommandLine = commandLine;
        _lifetime = new CancellationTokenSource(lifetime);
        _lifetimeRegistration = _lifetime.Token.Register(() =>
        {
            _killedForLifetime = true;
            Kill();
        });
    }

    public string CommandLine { get; }

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Completes when the process has exited and its output has been read.</summary>
    public Task Exited => _exited.Task;

    public int? ExitCode => HasExited ? _process.ExitCode : null;

    /// <summary>stdout so far, one entry per line.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stdout];
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/>. The environment is the test process's, minus proxy and gRPC settings
    /// that would change what the process does, plus <paramref name="environment"/>.
    /// </summary>
    public static InteropProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan lifetime,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        InteropEnvironment.PrepareEnvironment(info.Environment);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var commandLine = string.Join(' ', new[] { fileName }.Concat(info.ArgumentList));
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new InteropProcess(process, commandLine, lifetime);
        var outputDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                outputDone.TrySetResult();
                return;
            }

            result.AddLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                errorDone.TrySetResult();
                return;
            }

            lock (result._lock)
            {
                // Keep the start and the end of a very chatty stderr.
                if (result._stderr.Length < 64 * 1024)
                {
                    result._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Exited += async (_, _) =>
        {
            await Task.WhenAll(outputDone.Task, errorDone.Task).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            result._exited.TrySetResult();
            result.Signal();
        };

        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException($"could not start {commandLine}");
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            result._lifetimeRegistration.Dispose();
            result._lifetime.Dispose();
            throw new InvalidOperationException($"could not start {commandLine}: {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Runs a command to completion within <paramref name="timeout"/>.</summary>
    public static async Task<(int? ExitCode, string Description)> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var process = Start(fileName, arguments, workingDirectory, timeout + TimeSpan.FromSeconds(5), environment);
        process.CloseInput();
        var finished = await Task.WhenAny(process.Exited, Task.Delay(timeout)) == process.Exited;
        return (finished ? process.ExitCode : null, process.Describe(finished ? null : $"did not finish within {timeout.TotalSeconds:F0} s"));
    }

    /// <summary>Writes one line to the process's stdin.</summary>
    public async Task WriteLineAsync(string line)
    {
        if (HasExited)
        {
            throw new InvalidOperationException($"cannot write to a process that has exited.\n{Describe()}");
        }

        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Closes stdin: the interop scripts exit when it closes.</summary>
    public void CloseInput()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Waits for a stdout line, at index <paramref name="from"/> or later, that matches; fails with the process's output.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, string what, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        var index = from;
        while (true)
        {
            Task changed;
            bool exited;
            lock (_lock)
            {
                for (; index < _stdout.Count; index++)
                {
                    if (predicate(_stdout[index]))
                    {
                        return _stdout[index];
                    }
                }

                changed = _changed.Task;
                exited = HasExited;
            }

            if (exited)
            {
                throw new InvalidOperationException($"Waiting for {what}: the process exited.\n{Describe()}");
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}.\n{Describe()}");
            }
        }
    }

    /// <summary>The command, its state, the end of its stdout and its stderr, for assertion messages.</summary>
    public string Describe(string? note = null)
    {
        var lines = Lines;
        var text = new StringBuilder()
            .Append("--- process: ").AppendLine(CommandLine)
            .Append("--- state: ")
            .AppendLine(HasExited
                ? string.Create(CultureInfo.InvariantCulture, $"exited with code {_process.ExitCode}{(_killedForLifetime ? " (killed: lifetime exceeded)" : string.Empty)}")
                : "running");
        if (note is not null)
        {
            text.Append("--- note: ").AppendLine(note);
        }

        text.Append(CultureInfo.InvariantCulture, $"--- stdout ({lines.Count} lines{(lines.Count > DescribedLines ? $", last {DescribedLines}" : string.Empty)}):").AppendLine();
        foreach (var line in lines.Skip(Math.Max(0, lines.Count - DescribedLines)))
        {
            text.AppendLine(line.Length > 2000 ? line[..2000] + "..." : line);
        }

        var stderr = Stderr;
        text.AppendLine("--- stderr:").Append(stderr.Length > 8000 ? "..." + stderr[^8000..] : stderr);
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        CloseInput();
        if (!HasExited)
        {
            // The scripts exit by themselves when stdin closes; give them a moment, then kill the tree.
            await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(2)));
            Kill();
            await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(5)));
        }

        await _lifetimeRegistration.DisposeAsync();
        _lifetime.Dispose();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // It exited meanwhile.
        }
    }

    private void AddLine(string line)
    {
        lock (_lock)
        {
            _stdout.Add(line);
        }

        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
