using System.Net.Security;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Grpc.Internal;

/// <summary>
/// TLS for gRPC channels to mesh targets. The channel talks cleartext HTTP/2 to its subchannels (insecure
/// channel credentials), and the mesh's <see cref="SocketsHttpHandler.PlaintextStreamFilter"/> turns each new
/// connection to an endpoint of a TLS cluster into a TLS connection with that cluster's certificates,
/// before the handler writes a byte. The endpoint's address carries the cluster's settings
/// (<see cref="TlsAttribute"/>); a connection to an address without them stays cleartext.
/// </summary>
internal static class MeshGrpcTls
{
    /// <summary>The TLS settings of the cluster an address belongs to.</summary>
    public static readonly BalancerAttributesKey<ClusterTlsConnector> TlsAttribute = new("Mesh.Tls");

    // gRPC's balancer puts the address a request goes to on the request under this name.
    private static readonly HttpRequestOptionsKey<BalancerAddress> CurrentAddressKey = new("CurrentAddress");

    private static readonly Func<SocketsHttpPlaintextStreamFilterContext, CancellationToken, ValueTask<Stream>> Filter = FilterAsync;

    /// <summary>
    /// Makes the channel able to reach TLS clusters, when it can be: finds the SocketsHttpHandler under its
    /// <see cref="GrpcChannelOptions.HttpHandler"/> and installs the mesh's stream filter. Returns why not, or null.
    /// </summary>
    public static string? Prepare(GrpcChannelOptions? options)
    {
        if (options is null)
        {
            return "the channel's options are unknown";
        }

        if (options.Credentials is { } credentials && !ReferenceEquals(credentials, ChannelCredentials.Insecure))
        {
            return "the channel has credentials of its own; create it with insecure credentials (as MeshGrpc.CreateChannel and AddGrpcClient do for xds:/// targets) so that the mesh applies each cluster's TLS";
        }

        if (options.HttpClient is not null)
        {
            return "the channel was given an HttpClient, whose connections the mesh cannot secure; give it an HttpHandler or use MeshGrpc.CreateChannel";
        }

        var handler = options.HttpHandler;
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        if (handler is not SocketsHttpHandler sockets)
        {
            return options.HttpHandler is null
                ? "the channel has no HttpHandler the mesh can reach (GrpcChannel.ForAddress made its own); create it with MeshGrpc.CreateChannel or AddGrpcClient"
                : $"the channel's HttpHandler ends in {handler?.GetType().Name ?? "nothing"}, not a SocketsHttpHandler";
        }

        if (ReferenceEquals(sockets.PlaintextStreamFilter, Filter))
        {
            return null;
        }

        if (sockets.PlaintextStreamFilter is not null)
        {
            return "the channel's SocketsHttpHandler has a PlaintextStreamFilter of its own";
        }

        try
        {
            sockets.PlaintextStreamFilter = Filter;
            return null;
        }
        catch (InvalidOperationException)
        {
            return "the channel's SocketsHttpHandler had already sent requests before the mesh saw it";
        }
    }

    private static async ValueTask<Stream> FilterAsync(SocketsHttpPlaintextStreamFilterContext context, CancellationToken cancellationToken)
    {
        var request = context.InitialRequestMessage;
        if (request.RequestUri?.Scheme == Uri.UriSchemeHttps ||
            !request.Options.TryGetValue(CurrentAddressKey, out var address) ||
            !address.Attributes.TryGetValue(TlsAttribute, out var tls))
        {
            return context.PlaintextStream;
        }

        // The channel writes :scheme http (it sees cleartext); on the wire it is https.
        try
        {
            var ssl = await tls.AuthenticateAsync(context.PlaintextStream, address.EndPoint.Host, address.EndPoint.Port, SslApplicationProtocol.Http2, cancellationToken).ConfigureAwait(false);
            return new Http2SchemeStream(ssl, http2: true);
        }
        catch (Security.MeshTlsException ex)
        {
            // A connection that could not be made: gRPC reports it as UNAVAILABLE when an IOException says so.
            throw new IOException(ex.Message, ex);
        }
    }
}
