// The frontend: GET / calls the backend a number of times through a typed HttpClient and says which
// backend instances answered. Where "backend" is, how calls are balanced and when they are retried is the
// mesh's business: AddMesh() reads it from the "Mesh" section of appsettings.json (or from an xDS control
// plane, when a bootstrap is set), so the code below only ever says http://backend.
using Mesh.Samples.Frontend;
using Microsoft.AspNetCore.Mvc;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddMesh();

// Backend:Address is http://backend here; in Kubernetes it is the backend Service's name.
builder.Services.AddHttpClient<BackendClient>((services, client) =>
    client.BaseAddress = new Uri(services.GetRequiredService<IConfiguration>()["Backend:Address"] ?? "http://backend"));

builder.Services.AddHealthChecks().AddMeshHealthCheck();

var app = builder.Build();

app.MapGet("/", async (BackendClient backend, int? calls, [FromHeader(Name = "x-canary")] string? canary, CancellationToken cancellationToken) =>
{
    var count = Math.Clamp(calls ?? 10, 1, 1000);
    var answers = new Dictionary<(string Instance, string Version), int>();
    for (var i = 0; i < count; i++)
    {
        // x-canary is passed on, so that a route on it (the Kubernetes sample's VirtualService) can pick v2.
        var items = await backend.GetItemsAsync(canary, cancellationToken);
        answers[(items.Instance, items.Version)] = answers.GetValueOrDefault((items.Instance, items.Version)) + 1;
    }

    return new SpreadResponse(
        backend.Address,
        count,
        [.. answers.OrderBy(a => a.Key.Instance, StringComparer.Ordinal).Select(a => new Answer(a.Key.Instance, a.Key.Version, a.Value))]);
});

app.MapHealthChecks("/healthz");

app.Run();
