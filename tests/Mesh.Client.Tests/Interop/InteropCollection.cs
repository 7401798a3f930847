using System.Text.Json;

namespace Mesh.Client.Tests.Interop;

/// <summary>
/// The interop tests start Node.js and Python processes; they run one at a time (in parallel only with the other
/// test collections) so that two cores are not shared by several of them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InteropCollection
{
    public const string Name = "Interop";
}

/// <summary>Bootstraps for our client and the reference clients.</summary>
internal static class InteropBootstrap
{
    /// <summary>
    /// A gRPC xDS bootstrap naming one insecure xDS v3 server; the node has an empty locality, which grpc-js-xds requires.
    /// </summary>
    public static string Create(string serverUri, string nodeId) => JsonSerializer.Serialize(new
    {
        xds_servers = new[]
        {
            new { server_uri = serverUri, channel_creds = new[] { new { type = "insecure" } }, server_features = new[] { "xds_v3" } },
        },
        node = new { id = nodeId, cluster = "interop", locality = new { } },
    });
}
