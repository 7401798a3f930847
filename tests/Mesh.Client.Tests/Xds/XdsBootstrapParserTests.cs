using Mesh.Client.Model;
using Mesh.Client.Xds;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Tests.Xds;

public class XdsBootstrapParserTests
{
    // The shape Istio's grpc-agent writes to /etc/istio/proxy/grpc-bootstrap.json (values shortened).
    private const string IstioBootstrap = """
        {
          "xds_servers": [
            {
              "server_uri": "unix:///etc/istio/proxy/XDS",
              "channel_creds": [ { "type": "insecure" } ],
              "server_features": [ "xds_v3" ]
            }
          ],
          "node": {
            "id": "sidecar~10.244.0.7~echo-v1-6d7f.default~default.svc.cluster.local",
            "metadata": { "GENERATOR": "grpc", "INSTANCE_IPS": "10.244.0.7", "NAMESPACE": "default", "LABELS": { "app": "echo" } },
            "locality": { "region": "us-east1", "zone": "us-east1-b" },
            "UserAgentVersionType": null
          },
          "certificate_providers": {
            "default": {
              "plugin_name": "file_watcher",
              "config": {
                "certificate_file": "/var/lib/istio/data/cert-chain.pem",
                "private_key_file": "/var/lib/istio/data/key.pem",
                "ca_certificate_file": "/var/lib/istio/data/root-cert.pem",
                "refresh_interval": "900s"
              }
            }
          },
          "server_listener_resource_name_template": "xds.istio.io/grpc/lds/inbound/%s",
          "some_future_field": { "anything": [1, 2, 3] }
        }
        """;

    [Fact]
    public void Parse_IstioBootstrap_ReadsEveryField()
    {
        var bootstrap = XdsBootstrapParser.Parse(IstioBootstrap, "test");

        var server = Assert.Single(bootstrap.XdsServers);
        Assert.Equal("unix:///etc/istio/proxy/XDS", server.ServerUri);
        Assert.Equal("insecure", server.ChannelCredentials.Type);
        Assert.Equal(["xds_v3"], server.ServerFeatures);
        Assert.False(server.IgnoreResourceDeletion);
        Assert.Equal("sidecar~10.244.0.7~echo-v1-6d7f.default~default.svc.cluster.local", bootstrap.Node.Id);
        Assert.Equal(new LocalityName("us-east1", "us-east1-b"), bootstrap.Node.Locality);
        Assert.Equal("grpc", bootstrap.Node.Metadata!.Value.GetProperty("GENERATOR").GetString());
        var provider = bootstrap.CertificateProviders["default"];
        Assert.Equal("file_watcher", provider.PluginName);
        Assert.Equal("/var/lib/istio/data/cert-chain.pem", provider.FileWatcher!.CertificateFile);
        Assert.Equal("/var/lib/istio/data/key.pem", provider.FileWatcher.PrivateKeyFile);
        Assert.Equal("/var/lib/istio/data/root-cert.pem", provider.FileWatcher.CaCertificateFile);
        Assert.Equal(TimeSpan.FromSeconds(900), provider.FileWatcher.RefreshInterval);
        Assert.Equal("%s", bootstrap.ClientDefaultListenerResourceNameTemplate);
        Assert.Equal("xds.istio.io/grpc/lds/inbound/%s", bootstrap.ServerListenerResourceNameTemplate);
    }

    [Fact]
    public void Parse_TlsCredentialsAfterUnsupportedOnes_TakesTheFirstSupported()
    {
        var bootstrap = XdsBootstrapParser.Parse("""
            { "xds_servers": [ { "server_uri": "xds.example.com:443",
                "channel_creds": [ { "type": "google_default" },
                                   { "type": "tls", "config": { "ca_certificate_file": "/ca.pem", "certificate_file": "/c.pem", "private_key_file": "/k.pem", "refresh_interval": "1.5s" } } ],
                "server_features": [ "xds_v3", "ignore_resource_deletion" ] } ],
              "authorities": { "corp": { "client_listener_resource_name_template": "xdstp://corp/envoy.config.listener.v3.Listener/%s" } },
              "client_default_listener_resource_name_template": "xdstp://corp/envoy.config.listener.v3.Listener/%s" }
            """, "test");

        var server = bootstrap.XdsServers[0];
        Assert.Equal(new XdsChannelCredentials { Type = "tls", CaCertificateFile = "/ca.pem", CertificateFile = "/c.pem", PrivateKeyFile = "/k.pem", RefreshInterval = TimeSpan.FromSeconds(1.5) }, server.ChannelCredentials);
        Assert.True(server.IgnoreResourceDeletion);
        Assert.Equal("xdstp://corp/envoy.config.listener.v3.Listener/%s", bootstrap.Authorities["corp"].ClientListenerResourceNameTemplate);
    }

    [Theory]
    [InlineData("""[]""", "(root): expected an object, found an array")]
    [InlineData("""{ }""", "xds_servers: at least one server is required")]
    [InlineData("""{ "xds_servers": {} }""", "xds_servers: expected an array, found an object")]
    [InlineData("""{ "xds_servers": [ { "channel_creds": [ { "type": "insecure" } ] } ] }""", "xds_servers[0].server_uri: required")]
    [InlineData("""{ "xds_servers": [ { "server_uri": 42, "channel_creds": [] } ] }""", "xds_servers[0].server_uri: expected a string, found a number")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1" } ] }""", "xds_servers[0].channel_creds: required")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "google_default" } ] } ] }""", "xds_servers[0].channel_creds: no supported type among [\"google_default\"]")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "config": {} } ] } ] }""", "xds_servers[0].channel_creds[0].type: required")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "tls", "config": { "certificate_file": "/c.pem" } } ] } ] }""", "xds_servers[0].channel_creds[0].config: certificate_file and private_key_file must be given together")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ], "server_features": [ 1 ] } ] }""", "xds_servers[0].server_features[0]: expected a string, found a number")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ] } ], "node": { "id": 7 } }""", "node.id: expected a string, found a number")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ] } ], "certificate_providers": { "default": { "config": {} } } }""", "certificate_providers.default.plugin_name: required")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ] } ], "certificate_providers": { "default": { "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca", "refresh_interval": "ten minutes" } } } }""", "certificate_providers.default.config.refresh_interval: \"ten minutes\" is not a duration")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ] } ], "certificate_providers": { "default": { "plugin_name": "file_watcher", "config": { } } } }""", "certificate_providers.default.config: give certificate_file and private_key_file, ca_certificate_file, or both")]
    [InlineData("""{ "xds_servers": [ { "server_uri": "a:1", "channel_creds": [ { "type": "insecure" } ] } ], "authorities": { "corp": { "client_listener_resource_name_template": "xdstp://other/x/%s" } } }""", "authorities.corp.client_listener_resource_name_template: must start with \"xdstp://corp/\"")]
    [InlineData("""{ "xds_servers": [ """, "not valid JSON")]
    public void Parse_InvalidBootstrap_NamesTheField(string json, string expected)
    {
        var ex = Assert.Throws<XdsBootstrapException>(() => XdsBootstrapParser.Parse(json, "GRPC_XDS_BOOTSTRAP=/b.json"));

        Assert.StartsWith("xDS bootstrap (GRPC_XDS_BOOTSTRAP=/b.json): ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Precedence_FileVariableThenInlineVariableThenMeshSetting()
    {
        var directory = Directory.CreateTempSubdirectory("bootstrap-").FullName;
        var file = Path.Combine(directory, "bootstrap.json");
        File.WriteAllText(file, Minimal("from-file:1"));
        var settingFile = Path.Combine(directory, "setting.json");
        File.WriteAllText(settingFile, Minimal("from-setting-file:1"));
        try
        {
            Dictionary<string, string?> env = new()
            {
                [XdsBootstrapLoader.FileVariable] = file,
                [XdsBootstrapLoader.ConfigVariable] = Minimal("from-variable:1"),
            };

            Assert.Equal("from-file:1", Load(env, Minimal("from-setting:1")));
            env.Remove(XdsBootstrapLoader.FileVariable);
            Assert.Equal("from-variable:1", Load(env, Minimal("from-setting:1")));
            env.Remove(XdsBootstrapLoader.ConfigVariable);
            Assert.Equal("from-setting:1", Load(env, Minimal("from-setting:1")));
            Assert.Equal("from-setting-file:1", Load(env, settingFile));
            Assert.Null(XdsBootstrapLoader.Load(env.GetValueOrDefault, null, "Mesh:Xds:Bootstrap"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        static string Load(Dictionary<string, string?> env, string setting) =>
            XdsBootstrapLoader.Load(env.GetValueOrDefault, setting, "Mesh:Xds:Bootstrap")!.XdsServers[0].ServerUri;
    }

    [Fact]
    public void Load_MissingFile_NamesTheVariableAndPath()
    {
        var ex = Assert.Throws<XdsBootstrapException>(() =>
            XdsBootstrapLoader.Load(name => name == XdsBootstrapLoader.FileVariable ? "/no/such/bootstrap.json" : null, null, "Mesh:Xds:Bootstrap"));

        Assert.StartsWith("xDS bootstrap (GRPC_XDS_BOOTSTRAP=/no/such/bootstrap.json): cannot read the file", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unix:///etc/istio/proxy/XDS", true, "/etc/istio/proxy/XDS")]
    [InlineData("unix:relative/sock", true, "relative/sock")]
    [InlineData("localhost:15010", false, "")]
    public void TryGetUnixSocketPath_ServerUriForms(string uri, bool isUnix, string path)
    {
        Assert.Equal(isUnix, XdsTransport.TryGetUnixSocketPath(uri, out var actual));
        Assert.Equal(path, actual);
    }

    [Theory]
    [InlineData("istiod.istio-system.svc:15010", "istiod.istio-system.svc:15010")]
    [InlineData("dns:///xds.example.com:443", "xds.example.com:443")]
    [InlineData("dns://8.8.8.8/xds.example.com:8443", "xds.example.com:8443")]
    [InlineData("xds.example.com", "xds.example.com:443")]
    [InlineData("[::1]:18000", "[::1]:18000")]
    public void HostPort_ServerUriForms(string uri, string expected) => Assert.Equal(expected, XdsTransport.HostPort(uri));

    private static string Minimal(string serverUri) =>
        $$"""{ "xds_servers": [ { "server_uri": "{{serverUri}}", "channel_creds": [ { "type": "insecure" } ] } ] }""";
}
