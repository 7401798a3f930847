using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Client.AspNetCore.Internal;
using Mesh.Client.Tests.Interop;
using Mesh.Client.Tests.TestInfrastructure;
using TestingTypeUrls = Mesh.Client.Testing.XdsTypeUrls;

namespace Mesh.Client.Tests.Telemetry;

/// <summary>
/// The dashboard <c>MapMeshStatus()</c> serves, over real HTTP, and drawn by a real browser: headless Chromium
/// loads the page, runs its script (which draws the data embedded in the page, then fetches the JSON again
/// every few seconds) and dumps the resulting DOM.
/// </summary>
public class DashboardTests
{
    private static readonly TimeSpan ChromiumTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MeshPage_InHeadlessChromium_ShowsServicesClustersEndpointsAndTheNack()
    {
        var chromium = await EnsureChromiumAsync();
        await using var world = await XdsWorld.StartAsync(backends: 2);
        await using var app = await MeshStatusWebApp.StartAsync(XdsMesh.AppSettings(world.Bootstrap));
        var good = world.SetService("catalog", "catalog-cluster", 0, 1);
        await MeshStatusTests.CallAsync(app.Services, "catalog");
        await world.WaitForAcksAsync(good);
        var bad = world.RejectCluster("catalog-cluster");
        await world.Server.WaitForNackAsync(TestingTypeUrls.Cluster, bad);

        var dom = await DumpDomAsync(chromium, new Uri(app.HttpAddress, "/mesh"));

        // The script ran, drew the page and refreshed it from the JSON at least once.
        Assert.Matches("<main id=\"view\"[^>]*data-rendered=\"true\"", dom);
        var refreshes = Regex.Match(dom, "data-refreshes=\"(\\d+)\"");
        Assert.True(refreshes.Success && int.Parse(refreshes.Groups[1].Value, CultureInfo.InvariantCulture) >= 1, $"the page never refreshed from the JSON:\n{dom}");
        Assert.Contains("Live: refreshed at", dom, StringComparison.Ordinal);

        // Control plane, service and route, cluster and its endpoints.
        Assert.Contains("data-connected=\"true\"", dom, StringComparison.Ordinal);
        Assert.Contains(world.Server.ServerUri, dom, StringComparison.Ordinal);
        Assert.Contains("data-service=\"catalog\"", dom, StringComparison.Ordinal);
        Assert.Contains("href=\"#cluster-catalog-cluster\"", dom, StringComparison.Ordinal);
        Assert.Contains("data-cluster=\"catalog-cluster\"", dom, StringComparison.Ordinal);
        foreach (var backend in world.Backends.Items)
        {
            var row = Row(dom, $"data-endpoint=\"{backend.Address}\"");
            Assert.Contains("HEALTHY", row, StringComparison.Ordinal);
            Assert.Contains("in use", row, StringComparison.Ordinal);
        }

        // Every resource with its status; the NACKed one highlighted with its error and the rejected version.
        foreach (var (type, name) in new[] { ("LDS", "catalog"), ("RDS", "catalog-routes"), ("EDS", "catalog-cluster") })
        {
            Assert.Contains("data-status=\"ACKED\"", Row(dom, $"data-resource=\"{type}/{name}\""), StringComparison.Ordinal);
        }

        var nack = Row(dom, "data-resource=\"CDS/catalog-cluster\"");
        Assert.Contains("class=\"nacked\"", nack, StringComparison.Ordinal);
        Assert.Contains("class=\"error nack-error\"", nack, StringComparison.Ordinal);
        Assert.Contains("STATIC", nack, StringComparison.Ordinal);
        Assert.Contains($"rejected version {bad} at", nack, StringComparison.Ordinal);
        Assert.Contains($"<td>{good[TestingTypeUrls.Cluster]}</td>", nack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeshPage_OverHttp_IsOneSelfContainedPageWithItsDataAndAStrictPolicy()
    {
        await using var backends = await Backends.StartAsync(1);
        await using var app = await MeshStatusWebApp.StartAsync(MeshJson.WithServices(MeshJson.Service("catalog", backends.EndpointsJson())), pattern: "/admin/mesh/");
        using var http = new HttpClient { BaseAddress = app.HttpAddress };

        using var page = await http.GetAsync("/admin/mesh");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(" ", page.Headers.GetValues("Content-Security-Policy"));
        var nonce = Regex.Match(policy, "script-src 'nonce-([^']+)'").Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains($"<script nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.Contains("data-config-dump=\"/admin/mesh/config_dump\"", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);

        var embedded = Regex.Match(html, "<script type=\"application/json\" id=\"initial-dump\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        using var dump = JsonDocument.Parse(embedded);
        Assert.Equal("catalog", MeshStatusTests.Service(dump.RootElement, "catalog").GetProperty("name").GetString());

        using var json = await http.GetAsync("/admin/mesh/config_dump");
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        using var fetched = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        Assert.Equal(backends[0].Address, MeshStatusTests.Cluster(fetched.RootElement, "catalog").GetProperty("endpoints")[0].GetProperty("address").GetString());
    }

    [Fact]
    public void Render_DataWithMarkup_StaysInsideItsScriptElement()
    {
        const string Hostile = "</script><script>alert(1)</script>{{NONCE}}";
        var json = JsonSerializer.SerializeToUtf8Bytes(new { message = Hostile });

        var html = MeshStatusPage.Render("/mesh\"><x", "abc", json);

        // The data element ends where the page ends it, and holds the whole message.
        var embedded = Regex.Match(html, "<script type=\"application/json\" id=\"initial-dump\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        using var parsed = JsonDocument.Parse(embedded);
        Assert.Equal(Hostile, parsed.RootElement.GetProperty("message").GetString());
        Assert.DoesNotContain("<script>alert(1)", html, StringComparison.Ordinal);
        Assert.DoesNotContain("/mesh\"><x", html, StringComparison.Ordinal);
        Assert.Contains("<script nonce=\"abc\">", html, StringComparison.Ordinal);
    }

    /// <summary>The <c>&lt;tr&gt;</c> whose attributes include <paramref name="attribute"/>.</summary>
    private static string Row(string dom, string attribute)
    {
        var match = Regex.Match(dom, $"<tr[^>]*{Regex.Escape(attribute)}[^>]*>.*?</tr>", RegexOptions.Singleline);
        Assert.True(match.Success, $"no row with {attribute} in:\n{dom}");
        return match.Value;
    }

    private static readonly Lazy<Task<string>> Chromium = new(EnsureChromiumCoreAsync);

    private static Task<string> EnsureChromiumAsync() => Chromium.Value;

    /// <summary>
    /// Finds Chromium; when it is missing and the tests run as root with apt-get (a fresh CI machine), installs it
    /// through the run's one installer; otherwise fails saying what to install.
    /// </summary>
    private static async Task<string> EnsureChromiumCoreAsync()
    {
        await TestPrerequisites.EnsureDebianPackagesAsync(
            "The dashboard test (headless Chromium draws the page)",
            () => Task.FromResult(FindChromium() is null ? "Chromium ('chromium' on PATH)" : null),
            "chromium");
        return FindChromium() ?? throw new InvalidOperationException("Chromium was installed, yet 'chromium' is not on PATH.");
    }

    private static string? FindChromium()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Loads <paramref name="page"/> in a fresh headless Chromium, lets its script run 5 s of virtual time, returns the DOM.</summary>
    private static async Task<string> DumpDomAsync(string chromium, Uri page)
    {
        var profile = Directory.CreateTempSubdirectory("mesh-chromium-");
        try
        {
            await using var process = InteropProcess.Start(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--no-proxy-server", $"--user-data-dir={profile.FullName}",
                    "--dump-dom", "--virtual-time-budget=5000", page.ToString(),
                ],
                profile.FullName,
                ChromiumTimeout + TimeSpan.FromSeconds(10));
            process.CloseInput();
            if (await Task.WhenAny(process.Exited, Task.Delay(ChromiumTimeout)) != process.Exited)
            {
                Assert.Fail($"Chromium did not finish within {ChromiumTimeout.TotalSeconds:F0} s.\n{process.Describe()}");
            }

            var dom = string.Join('\n', process.Lines);
            Assert.True(process.ExitCode == 0 && dom.Contains("</html>", StringComparison.Ordinal), $"Chromium failed.\n{process.Describe()}");
            return dom;
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A helper process may hold the profile a moment longer; it is a temp directory.
            }
        }
    }
}
