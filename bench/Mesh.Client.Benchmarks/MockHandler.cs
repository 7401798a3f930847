using System.Net;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// The primary handler of every client under measurement: answers 200 at once, without a socket, so that
/// a benchmark measures only what happens on the client side before the network.
/// </summary>
public sealed class MockHandler : HttpMessageHandler
{
    /// <summary>Record the next requests' address and Host header; off while measuring, because reading
    /// <see cref="HttpRequestMessage.Headers"/> allocates the header collection.</summary>
    public bool Capture { get; set; }

    /// <summary>The address of the last captured request as it reached the network.</summary>
    public Uri? LastRequestUri { get; private set; }

    /// <summary>The Host header of the last captured request.</summary>
    public string? LastHost { get; private set; }

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Capture)
        {
            LastRequestUri = request.RequestUri;
            LastHost = request.Headers.Host;
        }

        // A fresh response each time, as a real handler returns one; the caller disposes it.
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request });
    }
}
