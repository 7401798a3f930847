using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Samples.GrpcXds;

/// <summary>One greeter server: a Kestrel app on 127.0.0.1, on a port the system picks, serving gRPC (HTTP/2).</summary>
public sealed class GreeterServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GreeterServer(WebApplication app, GreeterInstance instance, int port)
    {
        _app = app;
        Instance = instance;
        Address = $"127.0.0.1:{port}";
    }

    /// <summary>The instance's name and version.</summary>
    public GreeterInstance Instance { get; }

    /// <summary>Where it listens, <c>127.0.0.1:port</c>: what the control plane tells clients.</summary>
    public string Address { get; }

    /// <summary>Starts a greeter server.</summary>
    /// <param name="name">The instance's name.</param>
    /// <param name="version">Its version.</param>
    /// <returns>The running server.</returns>
    public static async Task<GreeterServer> StartAsync(string name, string version)
    {
        var instance = new GreeterInstance(name, version);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(instance);

        var app = builder.Build();
        app.MapGrpcService<GreeterService>();
        await app.StartAsync();
        return new GreeterServer(app, instance, new Uri(app.Urls.First()).Port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
