using System.Text.Json;

namespace Mesh.Client.Xds;

/// <summary>
/// The gRPC xDS bootstrap: which control plane to talk to, who this client is, and the certificate
/// providers the control plane's TLS configuration may name. Read from <c>GRPC_XDS_BOOTSTRAP</c>,
/// <c>GRPC_XDS_BOOTSTRAP_CONFIG</c> or <c>Mesh:Xds:Bootstrap</c>, in that order.
/// </summary>
internal sealed record XdsBootstrap
{
    /// <summary>Control planes in order of preference (gRFC A71: later ones are fallbacks).</summary>
    public required IReadOnlyList<XdsServerConfig> XdsServers { get; init; }

    /// <summary>The node this client presents to the control plane.</summary>
    public required XdsNode Node { get; init; }

    /// <summary>Certificate provider instances by name (gRFC A29).</summary>
    public IReadOnlyDictionary<string, CertificateProviderConfig> CertificateProviders { get; init; } = new Dictionary<string, CertificateProviderConfig>();

    /// <summary>Template that turns a target name into a Listener resource name; <c>%s</c> by default.</summary>
    public string ClientDefaultListenerResourceNameTemplate { get; init; } = "%s";

    /// <summary>The server-side listener template, kept for completeness (a client does not use it).</summary>
    public string? ServerListenerResourceNameTemplate { get; init; }

    /// <summary>Federation authorities by name (gRFC A47).</summary>
    public IReadOnlyDictionary<string, XdsAuthority> Authorities { get; init; } = new Dictionary<string, XdsAuthority>();

    /// <summary>Where the bootstrap was read from, for messages (<c>GRPC_XDS_BOOTSTRAP=/etc/istio/proxy/grpc-bootstrap.json</c>).</summary>
    public string Origin { get; init; } = "code";
}

/// <summary>One xDS management server.</summary>
internal sealed record XdsServerConfig
{
    /// <summary>The server's address: <c>host:port</c>, <c>dns:///host:port</c>, <c>unix:///path</c> (Istio's agent), <c>unix:path</c>.</summary>
    public required string ServerUri { get; init; }

    /// <summary>The first channel credentials this library supports out of the bootstrap's list.</summary>
    public required XdsChannelCredentials ChannelCredentials { get; init; }

    /// <summary>Server features, e.g. <c>xds_v3</c>, <c>ignore_resource_deletion</c>.</summary>
    public IReadOnlyList<string> ServerFeatures { get; init; } = [];

    /// <summary>Whether the server asked clients to keep Listeners and Clusters it deletes (gRFC A53).</summary>
    public bool IgnoreResourceDeletion => ServerFeatures.Contains("ignore_resource_deletion");

    /// <inheritdoc />
    public override string ToString() => ServerUri;
}

/// <summary>How to secure the channel to an xDS server.</summary>
internal sealed record XdsChannelCredentials
{
    /// <summary>Plaintext.</summary>
    public static XdsChannelCredentials Insecure { get; } = new() { Type = "insecure" };

    /// <summary><c>insecure</c> or <c>tls</c>.</summary>
    public required string Type { get; init; }

    /// <summary><c>tls</c>: CA bundle that validates the server; the system's roots when absent.</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary><c>tls</c>: client certificate chain for mutual TLS (gRFC A65).</summary>
    public string? CertificateFile { get; init; }

    /// <summary><c>tls</c>: the client certificate's private key.</summary>
    public string? PrivateKeyFile { get; init; }

    /// <summary><c>tls</c>: how often to re-read the files.</summary>
    public TimeSpan? RefreshInterval { get; init; }
}

/// <summary>The node identity a client sends to the control plane.</summary>
internal sealed record XdsNode
{
    /// <summary>Node id (Istio: <c>sidecar~10.0.0.1~pod.namespace~namespace.svc.cluster.local</c>).</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>Node cluster.</summary>
    public string Cluster { get; init; } = string.Empty;

    /// <summary>The node's locality.</summary>
    public Model.LocalityName? Locality { get; init; }

    /// <summary>Node metadata as JSON (an object), sent as a <c>google.protobuf.Struct</c>.</summary>
    public JsonElement? Metadata { get; init; }
}

/// <summary>A certificate provider instance from the bootstrap.</summary>
internal sealed record CertificateProviderConfig
{
    /// <summary>The plugin, e.g. <c>file_watcher</c>.</summary>
    public required string PluginName { get; init; }

    /// <summary>The plugin's configuration as written.</summary>
    public JsonElement? Config { get; init; }

    /// <summary>The <c>file_watcher</c> settings, when that is the plugin.</summary>
    public FileWatcherCertificateProviderConfig? FileWatcher { get; init; }
}

/// <summary>The <c>file_watcher</c> certificate provider (gRFC A29).</summary>
internal sealed record FileWatcherCertificateProviderConfig
{
    /// <summary>PEM certificate chain.</summary>
    public string? CertificateFile { get; init; }

    /// <summary>PEM private key.</summary>
    public string? PrivateKeyFile { get; init; }

    /// <summary>PEM CA bundle for validating peers.</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>How often the files are re-read; 10 minutes by default.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>A federation authority (gRFC A47).</summary>
internal sealed record XdsAuthority
{
    /// <summary>Template for Listener names of targets in this authority; defaults to <c>xdstp://{authority}/envoy.config.listener.v3.Listener/%s</c>.</summary>
    public string? ClientListenerResourceNameTemplate { get; init; }

    /// <summary>Servers for this authority; empty means the top-level servers.</summary>
    public IReadOnlyList<XdsServerConfig> XdsServers { get; init; } = [];
}

/// <summary>The bootstrap is invalid. The message names the source and the field.</summary>
public sealed class XdsBootstrapException : Exception
{
    /// <summary>Creates the exception.</summary>
    public XdsBootstrapException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    public XdsBootstrapException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The cause.</param>
    public XdsBootstrapException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
