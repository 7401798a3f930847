using System.Text.Json;
using Mesh.Client.Tests.TestInfrastructure;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// What the interop tests need outside .NET, found or installed once per test run: the repository root, Node.js
/// with the packages of <c>tests/interop/package.json</c> (installed with <c>npm ci</c> when missing), and gRPC
/// C-core for Python (Debian's <c>python3-grpcio</c>, installed with apt-get when missing and the tests run as root),
/// both through the run's one installer, <see cref="TestPrerequisites"/>.
/// Anything missing that cannot be installed fails the test with what is missing and the command that installs it;
/// nothing is skipped.
/// </summary>
internal static class InteropEnvironment
{
    /// <summary>The Python that Debian's python3-grpcio installs into.</summary>
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string> LazyRepoRoot = new(FindRepoRoot);
    private static readonly Lazy<Task<string>> LazyNode = new(EnsureNodePackagesCoreAsync);
    private static readonly Lazy<Task<string>> LazyPythonGrpc = new(EnsurePythonGrpcCoreAsync);

    /// <summary>The directory holding Mesh.Client.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot => LazyRepoRoot.Value;

    /// <summary><c>tests/interop</c>: the node package and the reference-client scripts.</summary>
    public static string InteropDirectory => Path.Combine(RepoRoot, "tests", "interop");

    /// <summary>
    /// Makes sure <c>node</c> is on PATH and <c>tests/interop/node_modules</c> holds the exact versions of
    /// package.json (running <c>npm ci</c> otherwise, once per run); returns the path of <c>node</c>.
    /// </summary>
    public static Task<string> EnsureNodePackagesAsync() => LazyNode.Value;

    /// <summary>
    /// Makes sure <c>/usr/bin/python3 -c 'import grpc'</c> works (installing python3-grpcio with apt-get when
    /// missing, if the tests run as root); returns the gRPC version.
    /// </summary>
    public static Task<string> EnsurePythonGrpcAsync() => LazyPythonGrpc.Value;

    /// <summary>
    /// The environment of every interop process: no proxies (everything is 127.0.0.1), no inherited gRPC or xDS
    /// settings, gRPC logging at ERROR, Python unbuffered.
    /// </summary>
    public static void PrepareEnvironment(IDictionary<string, string?> environment)
    {
        foreach (var key in environment.Keys.ToList())
        {
            var upper = key.ToUpperInvariant();
            if (upper is "HTTP_PROXY" or "HTTPS_PROXY" or "ALL_PROXY" or "GRPC_PROXY" or "NODE_OPTIONS"
                || upper.StartsWith("GRPC_", StringComparison.Ordinal))
            {
                environment.Remove(key);
            }
        }

        environment["NO_PROXY"] = "127.0.0.1,localhost";
        environment["no_proxy"] = "127.0.0.1,localhost";
        environment["no_grpc_proxy"] = "127.0.0.1,localhost";
        environment["GRPC_VERBOSITY"] = "ERROR";
        environment["GRPC_NODE_VERBOSITY"] = "ERROR";
        environment["PYTHONUNBUFFERED"] = "1";
        environment["PYTHONDONTWRITEBYTECODE"] = "1";
        environment["NODE_NO_WARNINGS"] = "1";
        environment["npm_config_update_notifier"] = "false";
        environment["npm_config_fund"] = "false";
        environment["npm_config_audit"] = "false";
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Mesh.Client.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} holds Mesh.Client.sln: the interop tests run from a clone of the repository.");
    }

    /// <summary>The full path of an executable on PATH, or <see langword="null"/>.</summary>
    public static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task<string> EnsureNodePackagesCoreAsync()
    {
        var node = FindOnPath("node")
            ?? throw new InvalidOperationException(
                "The interop tests need Node.js: 'node' is not on PATH. To fix: install Node.js 20 or later (with npm), then run: npm ci --prefix tests/interop.");
        await TestPrerequisites.EnsureNpmPackagesAsync("The interop tests (grpc-js-xds, the upstream Envoy protos)", InteropDirectory, MissingNodePackages);
        return node;
    }

    /// <summary>The dependencies of tests/interop/package.json that node_modules lacks at their exact versions.</summary>
    private static IReadOnlyList<string> MissingNodePackages()
    {
        using var package = JsonDocument.Parse(File.ReadAllText(Path.Combine(InteropDirectory, "package.json")));
        var missing = new List<string>();
        foreach (var dependency in package.RootElement.GetProperty("dependencies").EnumerateObject())
        {
            var installed = Path.Combine([InteropDirectory, "node_modules", .. dependency.Name.Split('/'), "package.json"]);
            var version = File.Exists(installed)
                ? JsonDocument.Parse(File.ReadAllText(installed)).RootElement.GetProperty("version").GetString()
                : null;
            if (version != dependency.Value.GetString())
            {
                missing.Add($"{dependency.Name}@{dependency.Value.GetString()}{(version is null ? string.Empty : $" (found {version})")}");
            }
        }

        return missing;
    }

    private static async Task<string> EnsurePythonGrpcCoreAsync()
    {
        // The probe keeps the version it read: the installer's last probe found it, or it threw.
        string? version = null;
        await TestPrerequisites.EnsureDebianPackagesAsync(
            "The interop tests (gRPC C-core for Python)",
            async () =>
            {
                (version, var problem) = await ProbePythonGrpcAsync();
                return version is null ? problem : null;
            },
            "python3-grpcio");
        return version!;
    }

    private static async Task<(string? Version, string Problem)> ProbePythonGrpcAsync()
    {
        if (!File.Exists(Python))
        {
            return (null, $"{Python} does not exist");
        }

        var (exitCode, description) = await InteropProcess.RunAsync(
            Python,
            ["-c", "import grpc; print('grpc ' + grpc.__version__)"],
            RepoRoot,
            TimeSpan.FromSeconds(30));
        if (exitCode == 0)
        {
            var line = description.Split('\n').FirstOrDefault(l => l.StartsWith("grpc ", StringComparison.Ordinal));
            if (line is not null)
            {
                return (line["grpc ".Length..].Trim(), string.Empty);
            }
        }

        return (null, $"'{Python} -c \"import grpc\"' failed:\n{description}");
    }
}
