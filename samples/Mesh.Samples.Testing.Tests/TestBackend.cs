using System.Globalization;
using System.Net;
using Grpc.Core;
using Mesh.Samples.Testing.Tests.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Samples.Testing.Tests;

/// <summary>
/// A stand-in for one backend instance: real Kestrel on <c>127.0.0.1</c> and a free port. It answers
/// <c>GET /api/items</c> with its instance name and version, as the sample backend does, and the gRPC method
/// <c>Items/GetItems</c> with the same. It counts what it serves and can be told to fail.
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private WebApplication? _app;
    private int _requests;
    private volatile bool _failing;

    private TestBackend(string instance, string version)
    {
        Instance = instance;
        Version = version;
    }

    /// <summary>The instance name it answers with, e.g. <c>backend-v1-a</c>.</summary>
    public string Instance { get; }

    /// <summary>The version it answers with, e.g. <c>v1</c>.</summary>
    public string Version { get; }

    /// <summary>The port Kestrel chose.</summary>
    public int Port { get; private set; }

    /// <summary><c>127.0.0.1:port</c>, the form an endpoint takes in xDS and in <c>Mesh:Services:…:Endpoints</c>.</summary>
    public string Address => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Requests and calls that reached this instance, failed ones included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>While set, every request is answered with 503 and every call with UNAVAILABLE.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>Starts an instance.</summary>
    /// <param name="instance">The name it answers with.</param>
    /// <param name="version">The version it answers with.</param>
    /// <param name="http2">
    /// Serve cleartext HTTP/2 only, as gRPC needs; HTTP/1.1 otherwise. (Kestrel does not offer both on one
    /// port without TLS.)
    /// </param>
    /// <returns>The running instance.</returns>
    public static async Task<TestBackend> StartAsync(string instance, string version = "v1", bool http2 = false)
    {
        var backend = new TestBackend(instance, version);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = http2 ? HttpProtocols.Http2 : HttpProtocols.Http1));
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(backend);
        var app = builder.Build();
        app.MapGet("/api/items", () => backend.Serve()
            ? Results.Json(new BackendAnswer(backend.Instance, backend.Version))
            : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        app.MapGrpcService<ItemsService>();
        await app.StartAsync();

        backend._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.Port = new Uri(address).Port;
        return backend;
    }

    /// <summary>Stops the instance and releases its port.</summary>
    /// <returns>A task that completes when Kestrel has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Instance} ({Version}) at {Address}";

    /// <summary>Counts a request; whether to answer it (false while <see cref="Failing"/>).</summary>
    private bool Serve()
    {
        Interlocked.Increment(ref _requests);
        return !Failing;
    }

    /// <summary>The gRPC side of the backend.</summary>
    private sealed class ItemsService(TestBackend backend) : Items.ItemsBase
    {
        public override Task<ItemsReply> GetItems(ItemsRequest request, ServerCallContext context) => backend.Serve()
            ? Task.FromResult(new ItemsReply { Instance = backend.Instance, Version = backend.Version })
            : throw new RpcException(new Status(StatusCode.Unavailable, $"{backend.Instance} is failing"));
    }
}

/// <summary>What a backend answers: which instance, which version.</summary>
/// <param name="Instance">The instance name.</param>
/// <param name="Version">The version.</param>
public sealed record BackendAnswer(string Instance, string Version);
