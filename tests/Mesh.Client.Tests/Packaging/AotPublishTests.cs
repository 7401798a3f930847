using Mesh.Client.Tests.Interop;
using Mesh.Client.Tests.TestInfrastructure;
using Xunit.Abstractions;

namespace Mesh.Client.Tests.Packaging;

/// <summary>
/// Trimming and native AOT, proven the way a user would meet them: tests/aot/Mesh.Client.AotCheck, an application
/// using the three packages through their public entry points, is published with <c>PublishAot=true</c> (into a
/// temporary artifacts directory), must print no trim, AOT or single-file warning from our code (and none from a
/// dependency that is not listed below), and its native binary must pass every check against real Kestrel
/// backends and an in-process xDS server.
/// </summary>
/// <remarks>
/// The publish uses the Debug configuration: its unoptimised native compile takes about half as long as Release's
/// (on the shared 2-core machine: Debug 57-118 s, Release 143-166 s, for the whole publish), and both printed the same
/// warnings (none) and passed the same checks. The Release publish is in tests/aot/README.md.
/// </remarks>
[Collection(NestedDotnetCollection.Name)]
public sealed class AotPublishTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Warnings of dependencies that cannot be fixed here, by <see cref="AotWarning.Key"/>, each with why it is
    /// harmless; each one is also named in the README's "Trimming and native AOT". None today.
    /// </summary>
    private static readonly Dictionary<string, string> KnownDependencyWarnings = [];

    /// <summary>What the check application must report as passed (tests/aot/Mesh.Client.AotCheck).</summary>
    private static readonly string[] Checks =
    [
        "appsettings: HttpClient round_robin",
        "appsettings: gRPC xds:///catalog",
        "appsettings: ServiceEndpointResolver (Microsoft.Extensions.ServiceDiscovery)",
        "appsettings: mutual TLS, HttpClient",
        "appsettings: mutual TLS, gRPC",
        "appsettings: unknown gRPC target fails with the mesh's reason",
        "appsettings: OpenTelemetry spans and metrics",
        "appsettings: health check",
        "appsettings: config dump (MeshStatus JSON)",
        "appsettings: dashboard page",
        "appsettings: live reload",
        "xds: gRPC over xds:/// with a TypedStruct wrr_locality/ring_hash cluster",
        "xds: HttpClient to a *.svc.cluster.local host",
        "xds: config dump shows the control plane and the TypedStruct's policy",
        "xds: a bad TypedStruct is NACKed naming the enum value",
        "xds: CSDS (FetchClientStatus) over gRPC",
    ];

    [Fact]
    public async Task AotCheckApp_PublishedWithNativeAot_NoWarningsFromOurCodeAndEveryCheckPassesNatively()
    {
        await TestPrerequisites.EnsureDebianPackagesAsync(
            "The native AOT publish test (AotPublishTests: the native compiler links with clang or gcc)",
            MissingLinkerAsync,
            "clang", "libc6-dev", "binutils");
        var repository = InteropEnvironment.RepoRoot;
        var artifacts = Directory.CreateTempSubdirectory("mesh-aot-publish-").FullName;
        try
        {
            // Act: publish
            var project = Path.Combine(repository, "tests", "aot", "Mesh.Client.AotCheck", "Mesh.Client.AotCheck.csproj");
            var publish = await NestedCommand.DotnetAsync(
                ["publish", project, "-c", "Debug", "--artifacts-path", artifacts, "-p:TreatWarningsAsErrors=false", .. NestedCommand.BuildIsolation],
                repository,
                PublishTimeout);
            output.WriteLine(publish.Describe(lines: int.MaxValue));
            publish.EnsureSuccess("The native AOT publish of the check application");

            // Assert: warnings
            var warnings = AotWarnings.Parse(publish.Output);
            var ours = warnings.Where(w => AotWarnings.IsOurs(w, [repository, artifacts])).ToList();
            Assert.True(ours.Count == 0,
                $"Our code has {ours.Count} trim/AOT/single-file warning(s); fix each (or annotate it, saying why):\n" + string.Join('\n', ours));
            var unknown = warnings.Except(ours).Where(w => !KnownDependencyWarnings.ContainsKey(w.Key)).ToList();
            Assert.True(unknown.Count == 0,
                $"A dependency has {unknown.Count} new trim/AOT warning(s). Fix its use where we can; otherwise list it in KnownDependencyWarnings " +
                "and name the dependency and the warning in the README (Trimming and native AOT):\n" + string.Join('\n', unknown));

            // Act: run the native binary
            var binary = Directory.EnumerateFiles(Path.Combine(artifacts, "publish"), "Mesh.Client.AotCheck", SearchOption.AllDirectories).SingleOrDefault();
            Assert.True(binary is not null, $"The publish made no Mesh.Client.AotCheck binary under {artifacts}/publish.\n{publish.Describe()}");
            var run = await NestedCommand.RunAsync(binary, [], artifacts, RunTimeout, forApplication: true);
            output.WriteLine(run.Describe(lines: int.MaxValue));

            // Assert: it is native and every check passed
            run.EnsureSuccess("The native check application");
            Assert.Contains("runtime: native AOT", run.Output, StringComparison.Ordinal);
            var missing = Checks.Where(c => !run.Output.Contains("PASS " + c + ":", StringComparison.Ordinal)).ToList();
            Assert.True(missing.Count == 0, "Checks that did not report PASS: " + string.Join(", ", missing) + "\n" + run.Describe());
            Assert.DoesNotContain("\nFAIL ", "\n" + run.Output, StringComparison.Ordinal);
            Assert.Contains("AOT CHECK OK", run.Output, StringComparison.Ordinal);
            output.WriteLine(
                $"native AOT publish {publish.Elapsed.TotalSeconds:F0} s, {warnings.Count} IL warning(s); " +
                $"binary {new FileInfo(binary).Length / (1024 * 1024)} MiB ran {Checks.Length} checks in {run.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    /// <summary>
    /// What the native AOT compiler needs on Linux besides NuGet's packages, as its build targets look for it: a C
    /// compiler driver as linker (clang, else gcc), the C library's development files, and objcopy to split the
    /// symbols. zlib comes inside the runtime package since .NET 9, so zlib1g-dev is not needed.
    /// </summary>
    private static Task<string?> MissingLinkerAsync()
    {
        var missing = new List<string>();
        if (InteropEnvironment.FindOnPath("clang") is null && InteropEnvironment.FindOnPath("gcc") is null)
        {
            missing.Add("a linker ('clang' or 'gcc' on PATH)");
        }

        if (!File.Exists("/usr/include/stdio.h"))
        {
            missing.Add("the C library's development files (/usr/include/stdio.h, Debian's libc6-dev)");
        }

        if (InteropEnvironment.FindOnPath("objcopy") is null)
        {
            missing.Add("objcopy (Debian's binutils)");
        }

        return Task.FromResult(missing.Count == 0 ? null : string.Join(", ", missing));
    }
}
