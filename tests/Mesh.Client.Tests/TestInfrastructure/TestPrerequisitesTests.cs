using System.Collections.Concurrent;
using Mesh.Client.Tests.Interop;

namespace Mesh.Client.Tests.TestInfrastructure;

/// <summary>
/// The tests' one installer: installations never overlap (in one process or across processes), a lock held by
/// someone else is waited for, and failures say what to run. The scripted runner stands in for apt-get where a test
/// would otherwise install real packages; the lock tests hold apt's real locks and run the real apt-get.
/// </summary>
public class TestPrerequisitesTests
{
    private const string LockedFrontend =
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n" +
        "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?";

    [Fact]
    public async Task EnsureDebian_TwoCallersAtOnce_InstallOneAfterTheOtherAndUpdateOnce()
    {
        // Arrange
        var apt = new ScriptedApt();
        var installer = apt.Installer(NewLockFile());

        // Act
        await Task.WhenAll(
            installer.EnsureDebianAsync("the interop tests", ["python3-grpcio"], probe: null),
            installer.EnsureDebianAsync("the dashboard test", ["chromium"], probe: null));

        // Assert
        Assert.Equal(1, apt.MaxConcurrentAptRuns);
        Assert.Equal(1, apt.Commands.Count(c => c.EndsWith(" update", StringComparison.Ordinal)));
        Assert.Contains("python3-grpcio", apt.Installed);
        Assert.Contains("chromium", apt.Installed);
    }

    [Fact]
    public async Task EnsureDebian_SecondCallerForTheSamePackage_FindsItInstalledAndRunsNoApt()
    {
        var apt = new ScriptedApt();
        var installer = apt.Installer(NewLockFile());

        await Task.WhenAll(
            installer.EnsureDebianAsync("the interop tests", ["python3-grpcio"], probe: null),
            installer.EnsureDebianAsync("the interop tests", ["python3-grpcio"], probe: null));

        Assert.Equal(1, apt.Commands.Count(c => c.Contains(" install ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task EnsureDebian_TwoInstallersSharingALockFile_NeverOverlap()
    {
        // Two instances with one lock file are what two test processes are.
        var apt = new ScriptedApt();
        var lockFile = NewLockFile();

        await Task.WhenAll(
            apt.Installer(lockFile).EnsureDebianAsync("process one", ["python3-grpcio"], probe: null),
            apt.Installer(lockFile).EnsureDebianAsync("process two", ["chromium"], probe: null));

        Assert.Equal(1, apt.MaxConcurrentAptRuns);
        Assert.Contains("python3-grpcio", apt.Installed);
        Assert.Contains("chromium", apt.Installed);
    }

    [Fact]
    public async Task EnsureDebian_DpkgLockHeldByAnotherProcess_RetriesWithBackoffUntilItIsFree()
    {
        var apt = new ScriptedApt { LockedRuns = 3 };
        var delays = new List<TimeSpan>();
        var installer = apt.Installer(NewLockFile(), delays);

        await installer.EnsureDebianAsync("the dashboard test", ["chromium"], probe: null);

        Assert.Contains("chromium", apt.Installed);
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)], delays);
        Assert.All(apt.Commands.Where(c => c.StartsWith("apt-get", StringComparison.Ordinal)), c => Assert.Contains("DPkg::Lock::Timeout=", c, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnsureDebian_InstallFails_SaysWhatToRunAndFailsLaterCallersAtOnce()
    {
        var apt = new ScriptedApt { InstallFailure = "E: Unable to locate package chromium" };
        var installer = apt.Installer(NewLockFile());

        var first = await Assert.ThrowsAsync<InvalidOperationException>(() => installer.EnsureDebianAsync("the dashboard test", ["chromium"], probe: null));
        var runs = apt.Commands.Count;
        var second = await Assert.ThrowsAsync<InvalidOperationException>(() => installer.EnsureDebianAsync("the dashboard test", ["chromium"], probe: null));

        Assert.Contains("the dashboard test need the Debian package chromium", first.Message, StringComparison.Ordinal);
        Assert.Contains("To fix: sudo apt-get update && sudo apt-get install -y chromium", first.Message, StringComparison.Ordinal);
        Assert.Contains("Unable to locate package chromium", first.Message, StringComparison.Ordinal);
        Assert.Equal(first.Message, second.Message);
        Assert.DoesNotContain(apt.Commands.Skip(runs), c => c.StartsWith("apt-get", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnsureDebian_NotAllowedToInstall_FailsNamingThePackageAndTheCommand()
    {
        var apt = new ScriptedApt();
        var installer = new TestPrerequisites(apt.RunAsync, NewLockFile(), canInstallDebianPackages: false);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => installer.EnsureDebianAsync("the interop tests", ["python3-grpcio"], probe: null));

        Assert.Contains("python3-grpcio", failure.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be installed for you. To fix: sudo apt-get update && sudo apt-get install -y python3-grpcio", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(apt.Commands, c => c.StartsWith("apt-get", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnsureDebian_ProbeFindsItAlready_RunsNothing()
    {
        var apt = new ScriptedApt();
        var installer = apt.Installer(NewLockFile());

        await installer.EnsureDebianAsync("the dashboard test", ["chromium"], () => Task.FromResult<string?>(null));

        Assert.Empty(apt.Commands);
    }

    [Theory]
    [InlineData(100, LockedFrontend, true)]
    [InlineData(100, "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/", true)]
    [InlineData(100, "E: Unable to locate package chromium", false)]
    [InlineData(1, LockedFrontend, false)]
    public void FailedOnLock_ReadsAptsOutput(int exitCode, string output, bool expected) =>
        Assert.Equal(expected, TestPrerequisites.FailedOnLock(exitCode, output));

    [Fact]
    public async Task RunApt_RealAptArchivesLockHeld_IsRetriedUntilTheHolderLetsGo()
    {
        // apt's own DPkg::Lock::Timeout does not cover its other locks (the package lists', the archives'):
        // a real apt-get run against a real held lock fails at once and is retried.
        await WithRealAptAsync(async installer =>
        {
            var log = new List<string>();
            await using var holder = await HoldLockAsync("/var/cache/apt/archives/lock", TimeSpan.FromSeconds(3));

            var ok = await installer.RunAptAsync(["clean"], log);

            Assert.True(ok, string.Join('\n', log));
            Assert.True(holder.Process.HasExited, "apt-get succeeded while the lock was still held");
            Assert.True(log.Count >= 2, $"expected a failed attempt on the lock, then success:\n{string.Join('\n', log)}");
            Assert.Contains("Unable to lock directory /var/cache/apt/archives/", log[0], StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task RunApt_RealDpkgFrontendLockHeld_WaitsForIt()
    {
        await WithRealAptAsync(async installer =>
        {
            var log = new List<string>();
            await using var holder = await HoldLockAsync("/var/lib/dpkg/lock-frontend", TimeSpan.FromSeconds(3));

            // Installing nothing still takes dpkg's frontend lock, as every install does.
            var ok = await installer.RunAptAsync(["install", "-y"], log);

            Assert.True(ok, string.Join('\n', log));
            Assert.True(holder.Process.HasExited, "apt-get succeeded while the lock was still held");
        });
    }

    private static string NewLockFile() => Path.Combine(Path.GetTempPath(), $"mesh-prerequisites-test-{Guid.NewGuid():N}.lock");

    /// <summary>Runs <paramref name="test"/> with an installer that runs the real apt-get, under the run's installer lock.</summary>
    private static async Task WithRealAptAsync(Func<TestPrerequisites, Task> test)
    {
        Assert.True(
            Environment.IsPrivilegedProcess && InteropEnvironment.FindOnPath("apt-get") is not null && File.Exists(InteropEnvironment.Python),
            $"These tests hold apt's real locks and run the real apt-get: they need root, apt-get and {InteropEnvironment.Python} (Debian), which this machine lacks.");

        // Under the shared lock, so that no real installation of this run meets the lock these tests hold.
        await TestPrerequisites.Shared.RunExclusiveAsync("the installer's lock tests", () => test(TestPrerequisites.Shared));
    }

    /// <summary>Holds <paramref name="path"/> with an fcntl lock, as apt and dpkg lock it, from another process.</summary>
    private static async Task<LockHolder> HoldLockAsync(string path, TimeSpan hold)
    {
        var script = $"import fcntl, sys, time\nf = open('{path}', 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep({hold.TotalSeconds})\n";
        var process = InteropProcess.Start(InteropEnvironment.Python, ["-c", script], Path.GetTempPath(), hold + TimeSpan.FromSeconds(30));
        await process.WaitForLineAsync(line => line == "held", $"{path} to be locked", TimeSpan.FromSeconds(15));
        return new LockHolder(process);
    }

    private sealed class LockHolder(InteropProcess process) : IAsyncDisposable
    {
        public InteropProcess Process { get; } = process;

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>apt-get and dpkg-query as scripts: what is installed, what ran, and how many apt runs overlapped.</summary>
    private sealed class ScriptedApt
    {
        private int _running;
        private int _maxRunning;

        public ConcurrentBag<string> Installed { get; } = [];

        public ConcurrentQueue<string> Commands { get; } = new();

        /// <summary>How many apt-get runs fail on the dpkg lock before one gets it.</summary>
        public int LockedRuns { get; set; }

        /// <summary>When set, every install fails with this output (exit code 100).</summary>
        public string? InstallFailure { get; set; }

        public int MaxConcurrentAptRuns => _maxRunning;

        public TestPrerequisites Installer(string lockFile, List<TimeSpan>? delays = null) => new(
            RunAsync,
            lockFile,
            canInstallDebianPackages: true,
            async span =>
            {
                delays?.Add(span);
                await Task.Yield();
            });

        public async Task<(int? ExitCode, string Output)> RunAsync(
            string fileName, IReadOnlyList<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment)
        {
            var name = Path.GetFileName(fileName);
            Commands.Enqueue($"{name} {string.Join(' ', arguments)}");
            if (name == "dpkg-query")
            {
                return Installed.Contains(arguments[^1]) ? (0, "installed") : (1, $"dpkg-query: no packages found matching {arguments[^1]}");
            }

            Assert.Equal("noninteractive", environment["DEBIAN_FRONTEND"]);
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _maxRunning, running);
            try
            {
                // Long enough for an overlapping caller to show up, if the installer let one through.
                await Task.Delay(50);
                if (LockedRuns > 0)
                {
                    LockedRuns--;
                    return (100, LockedFrontend);
                }

                if (arguments.Contains("install"))
                {
                    if (InstallFailure is not null)
                    {
                        return (100, InstallFailure);
                    }

                    foreach (var package in arguments.SkipWhile(a => a != "--no-install-recommends").Skip(1))
                    {
                        Installed.Add(package);
                    }
                }

                return (0, "done");
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
            {
                if (Interlocked.CompareExchange(ref target, value, current) == current)
                {
                    return;
                }
            }
        }
    }
}
