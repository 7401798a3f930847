using System.Diagnostics;
using System.Text;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// Runs a nested command (dotnet, git, a built app) as a user's shell would: an environment without what the
/// test host inherited from <c>dotnet test</c> (MSBuild*, DOTNET_HOST_PATH, VSTEST*), a bound on its time (killed
/// with its children past it), and its output kept for the failure message.
/// </summary>
internal static class NestedCommand
{
    /// <summary>The dotnet host running these tests, so nested builds use the same SDK installation.</summary>
    public static string Dotnet { get; } =
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>
    /// Arguments every nested build gets: no MSBuild node left running, and no shared compiler server (a server
    /// started by the build would keep the output pipe open after the build exits).
    /// </summary>
    public static IReadOnlyList<string> BuildIsolation { get; } = ["-nodeReuse:false", "-p:UseSharedCompilation=false"];

    public static Task<CommandResult> DotnetAsync(IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(Dotnet, arguments, workingDirectory, timeout, environment);

    /// <summary>
    /// Runs <paramref name="fileName"/>. With <paramref name="forApplication"/> the environment also loses proxy,
    /// gRPC and ASP.NET Core settings, which would change what an application under test does.
    /// </summary>
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null,
        bool forApplication = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        CleanEnvironment(info.Environment, forApplication);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var commandLine = $"(cd {workingDirectory} && {string.Join(' ', new[] { fileName }.Concat(info.ArgumentList))})";
        var output = new StringBuilder();
        var gate = new Lock();
        var outputDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data, outputDone);
        process.ErrorDataReceived += (_, e) => Append(e.Data, errorDone);
        process.Exited += (_, _) => exited.TrySetResult();
        var stopwatch = Stopwatch.StartNew();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start {commandLine}: {ex.Message}", ex);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var timedOut = await Task.WhenAny(exited.Task, Task.Delay(timeout)) != exited.Task;
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        var elapsed = stopwatch.Elapsed;

        // The exit, not the end of the pipes, ends the command: a process it left behind (a build server) may hold
        // them open. The output is complete when both reach their end, or, failing that, shortly after the exit.
        await Task.WhenAny(Task.WhenAll(outputDone.Task, errorDone.Task), Task.Delay(TimeSpan.FromSeconds(5)));
        lock (gate)
        {
            return new CommandResult(commandLine, process.ExitCode, output.ToString(), elapsed, timedOut, timeout);
        }

        void Append(string? line, TaskCompletionSource done)
        {
            if (line is null)
            {
                done.TrySetResult();
                return;
            }

            lock (gate)
            {
                output.AppendLine(line);
            }
        }
    }

    private static void CleanEnvironment(IDictionary<string, string?> environment, bool forApplication)
    {
        foreach (var key in environment.Keys.ToList())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase)
                || key.Equals("NUGET_PACKAGES", StringComparison.OrdinalIgnoreCase)
                || (forApplication && (key.StartsWith("GRPC_", StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                    || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
                    || key.EndsWith("_PROXY", StringComparison.OrdinalIgnoreCase))))
            {
                environment.Remove(key);
            }
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        environment["MSBUILDDISABLENODEREUSE"] = "1";

        // Messages in English, so that warnings parse whatever the machine's language.
        environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        environment["VSLANG"] = "1033";
    }
}

/// <summary>What a nested command did.</summary>
internal sealed record CommandResult(string CommandLine, int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut, TimeSpan Timeout)
{
    /// <summary>Lines MSBuild, NuGet or the compiler logged as warnings.</summary>
    public IReadOnlyList<string> Warnings =>
        [.. Output.Split('\n').Where(l => l.Contains(": warning ", StringComparison.Ordinal)).Select(l => l.Trim()).Distinct()];

    /// <summary>Fails the test with the command and its output unless it exited 0 in time.</summary>
    public CommandResult EnsureSuccess(string what)
    {
        if (TimedOut)
        {
            throw new TimeoutException($"{what}: killed after {Timeout.TotalSeconds:F0} s.\n{Describe()}");
        }

        if (ExitCode != 0)
        {
            throw new InvalidOperationException($"{what}: exit code {ExitCode} after {Elapsed.TotalSeconds:F0} s.\n{Describe()}");
        }

        return this;
    }

    /// <summary>The command line and the end of its output (the part that says what went wrong).</summary>
    public string Describe(int lines = 120)
    {
        var all = Output.Split('\n');
        var shown = all.Length <= lines ? all : ["… (" + (all.Length - lines) + " lines before)", .. all[^lines..]];
        return $"$ {CommandLine}\n{string.Join('\n', shown)}";
    }
}
