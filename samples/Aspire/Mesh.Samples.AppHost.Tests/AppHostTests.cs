using System.Net.Http.Json;
using Aspire.Hosting.Testing;

namespace Mesh.Samples.AppHost.Tests;

/// <summary>
/// The AppHost runs the ASP.NET Core pair under Aspire, and the frontend's mesh spreads its calls across both
/// backend instances Aspire started (their addresses reach it as Mesh__Services__backend__Endpoints__N).
/// </summary>
public sealed class AppHostTests
{
    // Starting DCP and three projects takes about 20 s on a busy 2-core machine; the bound leaves room for more.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AppHost_Frontend_SpreadsCallsAcrossBothBackendInstances()
    {
        // Arrange: the AppHost as Program.cs builds it (ports are randomized under test, so 5100 may be in use).
        using var timeout = new CancellationTokenSource(Bound);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Mesh_Samples_AppHost>(timeout.Token);
        await using var app = await appHost.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("frontend", timeout.Token);

        // Act
        using var http = app.CreateHttpClient("frontend");
        var spread = await http.GetFromJsonAsync<Spread>("/", timeout.Token);

        // Assert: round robin over the two endpoints, exact for HttpClient.
        Assert.NotNull(spread);
        Assert.Equal("http://backend/", spread.Backend);
        Assert.Equal([new Answer("backend-1", "v1", 5), new Answer("backend-2", "v1", 5)], spread.Answers);
    }

    // The frontend's answer to GET /, as JSON.
    private sealed record Spread(string Backend, int Calls, IReadOnlyList<Answer> Answers);

    private sealed record Answer(string Instance, string Version, int Count);
}
