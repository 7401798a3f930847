using System.Globalization;
using System.Text;
using System.Text.Json;
using Mesh.Client.Testing.Internal;

namespace Mesh.Client.Testing;

public sealed partial class XdsTestServer
{
    /// <summary>
    /// A gRPC xDS bootstrap (the JSON of <c>GRPC_XDS_BOOTSTRAP_CONFIG</c>) naming this server: one entry in
    /// <c>xds_servers</c> with <c>server_uri</c> <see cref="ServerUri"/>, insecure channel credentials (or the given
    /// <c>tls</c> ones) and the server feature <c>xds_v3</c>, and a node with the given id, cluster <c>test-cluster</c>,
    /// an empty locality and metadata <c>{"TESTING": "Mesh.Client.Testing"}</c>. gRPC C-core, grpc-js-xds and
    /// Mesh.Client accept it.
    /// </summary>
    /// <param name="nodeId">The node id.</param>
    /// <param name="serverFeatures">More server features, e.g. <c>ignore_resource_deletion</c>.</param>
    /// <param name="useUnixSocket">Name the Unix socket (<c>unix:///path</c>) instead of the TCP port; the server must have been started with one.</param>
    /// <param name="tlsCredentials">Write <c>tls</c> channel credentials with these files instead of <c>insecure</c> ones (gRFC A65).</param>
    /// <returns>The bootstrap JSON.</returns>
    public string CreateBootstrapJson(string nodeId = "test-node", IEnumerable<string>? serverFeatures = null, bool useUnixSocket = false, XdsTestTlsCredentials? tlsCredentials = null)
    {
        if (useUnixSocket && UnixSocketPath is null)
        {
            throw new InvalidOperationException("The server was started without a Unix socket.");
        }

        ArgumentNullException.ThrowIfNull(nodeId);
        var features = new List<string> { "xds_v3" };
        foreach (var feature in serverFeatures ?? [])
        {
            if (!features.Contains(feature, StringComparer.Ordinal))
            {
                features.Add(feature);
            }
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("xds_servers");
            json.WriteStartObject();
            json.WriteString("server_uri", useUnixSocket ? "unix://" + Path.GetFullPath(UnixSocketPath!) : ServerUri);
            json.WriteStartArray("channel_creds");
            json.WriteStartObject();
            if (tlsCredentials is null)
            {
                json.WriteString("type", "insecure");
            }
            else
            {
                json.WriteString("type", "tls");
                json.WriteStartObject("config");
                WriteIfSet(json, "ca_certificate_file", tlsCredentials.CaCertificateFile);
                WriteIfSet(json, "certificate_file", tlsCredentials.CertificateFile);
                WriteIfSet(json, "private_key_file", tlsCredentials.PrivateKeyFile);
                if (tlsCredentials.RefreshInterval is { } refresh)
                {
                    json.WriteString("refresh_interval", refresh.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s");
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteStartArray("server_features");
            foreach (var feature in features)
            {
                json.WriteStringValue(feature);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteStartObject("node");
            json.WriteString("id", nodeId);
            json.WriteString("cluster", "test-cluster");

            // Optional in gRPC's bootstrap format, but grpc-js-xds rejects a node without it.
            json.WriteStartObject("locality");
            json.WriteEndObject();
            json.WriteStartObject("metadata");
            json.WriteString("TESTING", XdsControlPlane.Identifier);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
