// The backend: a minimal API that says which instance answered. Run two of them (see README.md) and the
// frontend's mesh client spreads its calls across both.
using Mesh.Samples.Backend;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHealthChecks();

var app = builder.Build();

string[] items = ["apples", "pears", "plums"];

// Backend:Instance names this instance (default: machine name and port); Backend:Version is its version
// ("v1" unless told), which a canary or a Kubernetes subset tells apart.
app.MapGet("/api/items", (HttpContext context, IConfiguration configuration) => new ItemsResponse(
    configuration["Backend:Instance"] ?? $"{Environment.MachineName}:{context.Connection.LocalPort}",
    configuration["Backend:Version"] ?? "v1",
    items));

app.MapHealthChecks("/healthz");

app.Run();
