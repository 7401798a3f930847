using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mesh.Client.Tests.Interop;

namespace Mesh.Client.Tests.Packaging;

/// <summary>What a command run by <see cref="AotProcess"/> did.</summary>
internal sealed record AotProcessResult(string CommandLine, int? ExitCode, string Output, TimeSpan Elapsed, TimeSpan Timeout)
{
    /// <summary>The command, how it ended and its last lines, for a failure message.</summary>
    public string Describe(int lines = 150)
    {
        var all = Output.Split('\n');
        var tail = all.Length <= lines ? Output : $"… ({all.Length - lines} earlier lines in the test output)\n" + string.Join('\n', all[^lines..]);
        var ended = ExitCode is { } code
            ? "exit code " + code.ToString(CultureInfo.InvariantCulture)
            : $"killed: did not finish within {Timeout.TotalSeconds:F0} s";
        return $"$ {CommandLine}\n({ended}, {Elapsed.TotalSeconds:F1} s)\n{tail}";
    }
}

/// <summary>
/// Runs the nested <c>dotnet publish</c> and the binary it made: bounded in time (killed with its children after
/// the timeout), stdout and stderr kept together in order, with an environment cleaned of what the test host
/// inherited from its own build (MSBuild*, DOTNET_HOST_PATH, VSTEST*), messages in English so that warnings parse.
/// </summary>
internal static class AotProcess
{
    /// <summary>Runs the dotnet CLI that runs these tests (DOTNET_HOST_PATH), else <c>dotnet</c> from PATH.</summary>
    public static Task<AotProcessResult> RunDotnetAsync(IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : InteropEnvironment.FindOnPath("dotnet")
                ?? throw new InvalidOperationException("The native AOT publish test needs the dotnet CLI: DOTNET_HOST_PATH is not set and 'dotnet' is not on PATH.");
        return RunAsync(dotnet, arguments, workingDirectory, timeout, forApplication: false);
    }

    /// <summary>
    /// Runs <paramref name="fileName"/>. With <paramref name="forApplication"/> the environment also loses proxy,
    /// gRPC and ASP.NET Core settings, which would change what the application under test does.
    /// </summary>
    public static async Task<AotProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, bool forApplication)
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

        CleanEnvironment(info.Environment, forApplication);
        var commandLine = string.Join(' ', new[] { fileName }.Concat(info.ArgumentList));
        var output = new StringBuilder();
        var outputDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        void Append(string? line, TaskCompletionSource done)
        {
            if (line is null)
            {
                done.TrySetResult();
                return;
            }

            lock (output)
            {
                output.Append(line).Append('\n');
            }
        }

        process.OutputDataReceived += (_, e) => Append(e.Data, outputDone);
        process.ErrorDataReceived += (_, e) => Append(e.Data, errorDone);
        process.Exited += (_, _) => exited.TrySetResult();
        var started = Stopwatch.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"could not start {commandLine}: {ex.Message}", ex);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int? exitCode = null;
        if (await Task.WhenAny(exited.Task, Task.Delay(timeout)) == exited.Task)
        {
            exitCode = process.ExitCode;
        }
        else
        {
            process.Kill(entireProcessTree: true);
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        var elapsed = Stopwatch.GetElapsedTime(started);

        // A process it left behind (a build server) may hold the pipes open: the output is complete when both reach
        // their end, or, failing that, shortly after the exit.
        await Task.WhenAny(Task.WhenAll(outputDone.Task, errorDone.Task), Task.Delay(TimeSpan.FromSeconds(5)));
        lock (output)
        {
            return new AotProcessResult(commandLine, exitCode, output.ToString(), elapsed, timeout);
        }
    }

    private static void CleanEnvironment(IDictionary<string, string?> environment, bool forApplication)
    {
        foreach (var key in environment.Keys.ToList())
        {
            var remove = key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || (forApplication && (key.StartsWith("GRPC_", StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
                    || key.EndsWith("_PROXY", StringComparison.OrdinalIgnoreCase)));
            if (remove)
            {
                environment.Remove(key);
            }
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        environment["VSLANG"] = "1033";
    }
}
