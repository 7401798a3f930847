using System.Globalization;
using Mesh.Client.Tests.Interop;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// The one installer of what the tests need outside .NET (Debian packages, the interop tests' npm packages), so that
/// <c>dotnet test Mesh.Client.sln</c> sets up a fresh machine by itself.
/// </summary>
/// <remarks>
/// <para>
/// Test collections run in parallel, and so may test processes (a solution runs each test project in its own
/// process), but apt and dpkg allow one user at a time: two fixtures that both ran <c>apt-get</c> at once made the
/// loser fail at once on the dpkg lock (exit code 100). So every check-and-install here runs under one lock for the
/// whole run, held across processes (a lock file), and after waiting for it a caller checks again before
/// installing, because the holder may have installed the same thing. A dpkg or apt lock held by someone outside the
/// tests (an unattended upgrade) is waited for: apt is told to wait for it, and a run that still fails on a lock is
/// retried with backoff.
/// </para>
/// <para>
/// A prerequisite that cannot be installed (not root, no apt-get, no network) fails the test that needs it, with
/// what is missing, what was tried and the command that installs it; nothing is skipped. Such a failure is kept for
/// the rest of the run, so the tests behind it fail at once with the same message instead of trying again.
/// </para>
/// </remarks>
internal sealed class TestPrerequisites
{
    /// <summary>How long one apt-get or npm command may run.</summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);

    /// <summary>How long a caller waits for the lock (another process may be installing Chromium).</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(20);

    /// <summary>How long, in all, a command that failed on a dpkg/apt lock is retried.</summary>
    private static readonly TimeSpan LockedRetryBudget = TimeSpan.FromMinutes(10);

    private readonly CommandRunner _run;
    private readonly string _lockFile;
    private readonly bool _canInstallDebianPackages;
    private readonly Func<TimeSpan, Task> _delay;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, string> _failures = new(StringComparer.Ordinal);
    private bool _aptListsUpdated;

    /// <summary>Runs a command to completion: its exit code (null when it timed out) and its output.</summary>
    public delegate Task<(int? ExitCode, string Output)> CommandRunner(
        string fileName, IReadOnlyList<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment);

    public TestPrerequisites(CommandRunner run, string lockFile, bool canInstallDebianPackages, Func<TimeSpan, Task>? delay = null)
    {
        _run = run;
        _lockFile = lockFile;
        _canInstallDebianPackages = canInstallDebianPackages;
        _delay = delay ?? (span => Task.Delay(span));
    }

    /// <summary>The installer every test of this process uses.</summary>
    public static TestPrerequisites Shared { get; } = new(
        RunProcessAsync,
        Path.Combine(Path.GetTempPath(), "mesh-client-test-prerequisites.lock"),
        Environment.IsPrivilegedProcess && AptGet is not null);

    /// <summary>The full path of apt-get, or <see langword="null"/> where there is none.</summary>
    private static string? AptGet => InteropEnvironment.FindOnPath("apt-get");

    /// <summary>
    /// Makes sure <paramref name="probe"/> finds what <paramref name="purpose"/> needs (it returns <see langword="null"/>
    /// when all is there, else what is missing), installing Debian <paramref name="packages"/> when it does not.
    /// </summary>
    public static Task EnsureDebianPackagesAsync(string purpose, Func<Task<string?>> probe, params string[] packages) =>
        Shared.EnsureDebianAsync(purpose, packages, probe);

    /// <summary>
    /// Makes sure <paramref name="directory"/>'s node_modules holds what its package-lock.json says: <paramref name="missing"/>
    /// lists what is not there; when it lists anything, runs <c>npm ci</c> there.
    /// </summary>
    public static Task EnsureNpmPackagesAsync(string purpose, string directory, Func<IReadOnlyList<string>> missing) =>
        Shared.EnsureNpmAsync(purpose, directory, missing);

    /// <summary>
    /// The instance behind <see cref="EnsureDebianPackagesAsync"/>. Without a <paramref name="probe"/>, the packages
    /// count as there when dpkg says they are installed.
    /// </summary>
    public async Task EnsureDebianAsync(string purpose, IReadOnlyList<string> packages, Func<Task<string?>>? probe)
    {
        var key = "apt:" + string.Join(' ', packages);
        var fix = $"sudo apt-get update && sudo apt-get install -y {string.Join(' ', packages)}   (Debian/Ubuntu)";
        probe ??= () => MissingDebianPackagesAsync(packages);

        // Fast path: present already, and nothing of this process is installing (which could be half way).
        if (_gate.CurrentCount > 0 && await probe() is null)
        {
            return;
        }

        await using var held = await AcquireAsync(purpose);
        if (_failures.TryGetValue(key, out var earlier))
        {
            throw new InvalidOperationException(earlier);
        }

        // Whoever held the lock before us may have installed it.
        if (await probe() is not { } missing)
        {
            return;
        }

        if (!_canInstallDebianPackages)
        {
            throw Remember(key, $"{purpose} need {missing}. {(AptGet is null ? "apt-get is not available" : "The tests do not run as root")}, " +
                $"so it cannot be installed for you. To fix: {fix}.");
        }

        var log = new List<string>();
        var ok = await UpdateAptListsAsync(log) && await RunAptAsync(["install", "-y", "--no-install-recommends", .. packages], log);
        if ((missing = await probe()) is not null)
        {
            throw Remember(key, $"{purpose} need {missing}; installing {string.Join(", ", packages)} with apt-get " +
                $"{(ok ? "reported success, yet it is still missing" : "failed")}. To fix: {fix}.\n{string.Join('\n', log)}");
        }
    }

    /// <summary>The instance behind <see cref="EnsureNpmPackagesAsync"/>.</summary>
    public async Task EnsureNpmAsync(string purpose, string directory, Func<IReadOnlyList<string>> missing)
    {
        var key = "npm:" + directory;
        var fix = $"install Node.js 20 or later (with npm), then run: npm ci --prefix {directory}";
        if (_gate.CurrentCount > 0 && missing().Count == 0)
        {
            return;
        }

        await using var held = await AcquireAsync(purpose);
        if (_failures.TryGetValue(key, out var earlier))
        {
            throw new InvalidOperationException(earlier);
        }

        var lacking = missing();
        if (lacking.Count == 0)
        {
            return;
        }

        var npm = InteropEnvironment.FindOnPath("npm")
            ?? throw Remember(key, $"{purpose} need {string.Join(", ", lacking)} in {directory}/node_modules, and 'npm' is not on PATH to install them. To fix: {fix}.");
        var (exitCode, output) = await _run(npm, ["ci", "--no-audit", "--no-fund"], directory, new Dictionary<string, string>());
        lacking = missing();
        if (exitCode != 0 || lacking.Count > 0)
        {
            throw Remember(key, $"'npm ci' in {directory} for {purpose} failed (exit code {Describe(exitCode)}); still missing: " +
                $"{string.Join(", ", lacking)}. To fix: {fix}.\n{output}");
        }
    }

    /// <summary>Whether apt's or dpkg's output says it failed because another process holds its lock.</summary>
    internal static bool FailedOnLock(int? exitCode, string output) =>
        exitCode == 100 &&
        (output.Contains("Could not get lock", StringComparison.Ordinal)
            || output.Contains("Unable to acquire the dpkg frontend lock", StringComparison.Ordinal)
            || output.Contains("Unable to lock directory", StringComparison.Ordinal)
            || output.Contains("is another process using it", StringComparison.Ordinal));

    /// <summary>The packages dpkg does not report as installed, as a phrase, or <see langword="null"/> when all are.</summary>
    private async Task<string?> MissingDebianPackagesAsync(IReadOnlyList<string> packages)
    {
        var missing = new List<string>();
        foreach (var package in packages)
        {
            var (exitCode, output) = InteropEnvironment.FindOnPath("dpkg-query") is { } dpkgQuery
                ? await _run(dpkgQuery, ["-W", "-f=${db:Status-Status}", package], Path.GetTempPath(), new Dictionary<string, string>())
                : (null, string.Empty);
            if (exitCode != 0 || !output.Trim().StartsWith("installed", StringComparison.Ordinal))
            {
                missing.Add(package);
            }
        }

        return missing.Count == 0 ? null : $"the Debian package{(missing.Count == 1 ? string.Empty : "s")} {string.Join(", ", missing)}";
    }

    /// <summary><c>apt-get update</c>, once per run: a fresh machine's package lists are empty.</summary>
    private async Task<bool> UpdateAptListsAsync(List<string> log)
    {
        if (_aptListsUpdated)
        {
            return true;
        }

        _aptListsUpdated = await RunAptAsync(["update"], log);
        return _aptListsUpdated;
    }

    /// <summary>
    /// Runs apt-get, telling it to wait for the dpkg lock, and runs it again with backoff while it still fails on a
    /// lock (apt's own wait does not cover every lock, e.g. the package lists'). Appends what it did to <paramref name="log"/>.
    /// </summary>
    internal async Task<bool> RunAptAsync(IReadOnlyList<string> arguments, List<string> log)
    {
        var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] command = ["-o", "DPkg::Lock::Timeout=120", .. arguments];
        var waited = TimeSpan.Zero;
        var backoff = TimeSpan.FromSeconds(2);
        for (var attempt = 1; ; attempt++)
        {
            var (exitCode, output) = await _run(AptGet ?? "apt-get", command, Path.GetTempPath(), environment);
            log.Add($"$ apt-get {string.Join(' ', command)}   (attempt {attempt}, exit code {Describe(exitCode)})\n{output}");
            if (exitCode == 0)
            {
                return true;
            }

            if (!FailedOnLock(exitCode, output) || waited >= LockedRetryBudget)
            {
                return false;
            }

            await _delay(backoff);
            waited += backoff;
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    /// <summary>Runs <paramref name="action"/> under the installer's lock, as an installation would.</summary>
    internal async Task RunExclusiveAsync(string purpose, Func<Task> action)
    {
        await using var held = await AcquireAsync(purpose);
        await action();
    }

    private InvalidOperationException Remember(string key, string message)
    {
        _failures[key] = message;
        return new InvalidOperationException(message);
    }

    /// <summary>Takes the lock of this process, then the lock file shared with other test processes.</summary>
    private async Task<IAsyncDisposable> AcquireAsync(string purpose)
    {
        if (!await _gate.WaitAsync(LockTimeout))
        {
            throw new TimeoutException($"{purpose}: waited {LockTimeout.TotalMinutes:F0} min for another test's installation to finish.");
        }

        try
        {
            var deadline = DateTime.UtcNow + LockTimeout;
            while (true)
            {
                try
                {
                    // FileShare.None takes an exclusive advisory lock that other .NET processes opening the same file respect.
                    var file = new FileStream(_lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return new Held(this, file);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    await _delay(TimeSpan.FromMilliseconds(250));
                }
                catch (IOException ex)
                {
                    throw new TimeoutException($"{purpose}: waited {LockTimeout.TotalMinutes:F0} min for {_lockFile}, held by another test process installing prerequisites.", ex);
                }
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private static string Describe(int? exitCode) =>
        exitCode?.ToString(CultureInfo.InvariantCulture) ?? $"none: did not finish within {CommandTimeout.TotalMinutes:F0} min";

    private static async Task<(int? ExitCode, string Output)> RunProcessAsync(
        string fileName, IReadOnlyList<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment) =>
        await InteropProcess.RunAsync(fileName, arguments, workingDirectory, CommandTimeout, environment);

    private sealed class Held(TestPrerequisites owner, FileStream file) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await file.DisposeAsync();
            owner._gate.Release();
        }
    }
}
