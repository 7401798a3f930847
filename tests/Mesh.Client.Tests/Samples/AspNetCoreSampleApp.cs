using System.Net;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// One of the ASP.NET Core samples, run in this process as its Program.cs builds it, on real Kestrel at
/// 127.0.0.1 on a free port, with configuration keys set as a user would set them on the command line.
/// </summary>
/// <typeparam name="TEntryPoint">Any public type of the sample's assembly.</typeparam>
internal sealed class AspNetCoreSampleApp<TEntryPoint> : IAsyncDisposable
    where TEntryPoint : class
{
    private readonly WebApplicationFactory<TEntryPoint> _factory;

    private AspNetCoreSampleApp(WebApplicationFactory<TEntryPoint> factory, Uri address)
    {
        _factory = factory;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = Wait.Timeout };
    }

    /// <summary>Where the app listens, <c>http://127.0.0.1:port/</c>.</summary>
    public Uri Address { get; }

    /// <summary><c>127.0.0.1:port</c>, as a mesh endpoint is written.</summary>
    public string Endpoint => $"{Address.Host}:{Address.Port}";

    /// <summary>A plain HttpClient (no mesh) to the app.</summary>
    public HttpClient Client { get; }

    public static AspNetCoreSampleApp<TEntryPoint> Start(IReadOnlyDictionary<string, string> settings)
    {
        var root = new WebApplicationFactory<TEntryPoint>();
        var factory = root.WithWebHostBuilder(web =>
        {
            web.UseSetting("Logging:LogLevel:Default", "Warning");
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        try
        {
            factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            factory.StartServer();
            var address = factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            return new AspNetCoreSampleApp<TEntryPoint>(root, new Uri(address + "/"));
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();

        // Disposing the root factory disposes the one WithWebHostBuilder derived from it, and its server.
        await _factory.DisposeAsync();
    }
}
