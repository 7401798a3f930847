using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Tests.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Tests.Configuration;

public class MeshTlsOptionsTests
{
    private const string EchoId = "spiffe://cluster.local/ns/default/sa/echo";

    private const string IstioJson = """
        {
          "Mesh": {
            "Tls": {
              "CertificateProviders": {
                "default": {
                  "CertificateFile": "/var/run/secrets/workload-spiffe-credentials/cert-chain.pem",
                  "PrivateKeyFile": "/var/run/secrets/workload-spiffe-credentials/key.pem",
                  "CaCertificateFile": "/var/run/secrets/workload-spiffe-credentials/root-cert.pem",
                  "RefreshInterval": "5m"
                },
                "public-roots": { "CaCertificateFile": "/etc/ssl/certs/ca-certificates.crt", "RefreshInterval": "00:00:02" }
              }
            },
            "Services": {
              "echo": {
                "Endpoints": [ "127.0.0.1:5001" ],
                "Tls": {
                  "CertificateProvider": "default",
                  "RootCertificateProvider": "default",
                  "RootCertificateName": "ROOTCA",
                  "SubjectAltNames": [
                    "spiffe://cluster.local/ns/default/sa/echo",
                    { "Type": "Dns", "Suffix": ".echo.svc.cluster.local", "IgnoreCase": true },
                    { "Type": "Uri", "Regex": "spiffe://cluster\\.local/ns/default/sa/echo-v[0-9]+" }
                  ],
                  "Sni": "echo.default.svc.cluster.local"
                }
              }
            }
          }
        }
        """;

    private static IConfigurationRoot Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

    private static MeshOptions Read(IConfiguration configuration)
    {
        var options = new MeshOptions();
        MeshConfigurationReader.Read(configuration.GetSection("Mesh"), options);
        return options;
    }

    private static MeshCompilation Compile(string json) => MeshOptionsCompiler.Compile(Read(Json(json)), "test");

    private static string Errors(string json) => string.Join("\n", Compile(json).Errors.Select(e => e.ToString()));

    private static MeshClusterTls ExpectedIstioTls() => new()
    {
        Identity = new CertificateProviderReference("default"),
        Roots = new CertificateProviderReference("default", "ROOTCA"),
        SubjectAltNames =
        [
            new SubjectAltNameMatch { Type = SubjectAltNameType.Any, Kind = StringMatchKind.Exact, Value = EchoId },
            new SubjectAltNameMatch { Type = SubjectAltNameType.Dns, Kind = StringMatchKind.Suffix, Value = ".echo.svc.cluster.local", IgnoreCase = true },
            new SubjectAltNameMatch { Type = SubjectAltNameType.Uri, Kind = StringMatchKind.Regex, Value = @"spiffe://cluster\.local/ns/default/sa/echo-v[0-9]+" },
        ],
        Sni = "echo.default.svc.cluster.local",
    };

    /// <summary>Records compare lists by reference: compare the SAN list by its items, the rest as a record.</summary>
    private static void AssertTls(MeshClusterTls expected, MeshClusterTls? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.SubjectAltNames, actual.SubjectAltNames);
        Assert.Equal(expected, actual with { SubjectAltNames = expected.SubjectAltNames });
    }

    [Fact]
    public void Read_Json_BindsProvidersAndBothSubjectAltNameForms()
    {
        var options = Read(Json(IstioJson));

        var provider = options.Tls.CertificateProviders["default"];
        Assert.Equal("/var/run/secrets/workload-spiffe-credentials/cert-chain.pem", provider.CertificateFile);
        Assert.Equal("/var/run/secrets/workload-spiffe-credentials/key.pem", provider.PrivateKeyFile);
        Assert.Equal("/var/run/secrets/workload-spiffe-credentials/root-cert.pem", provider.CaCertificateFile);
        Assert.Equal(TimeSpan.FromMinutes(5), provider.RefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Tls.CertificateProviders["public-roots"].RefreshInterval);
        Assert.Null(options.Tls.CertificateProviders["public-roots"].CertificateFile);

        var tls = options.Services["echo"].Tls;
        Assert.NotNull(tls);
        Assert.Equal("default", tls.CertificateProvider);
        Assert.Null(tls.CertificateName);
        Assert.Equal("default", tls.RootCertificateProvider);
        Assert.Equal("ROOTCA", tls.RootCertificateName);
        Assert.False(tls.UseSystemRoots);
        Assert.Equal("echo.default.svc.cluster.local", tls.Sni);
        Assert.Collection(
            tls.SubjectAltNames,
            shorthand =>
            {
                Assert.Equal(SubjectAltNameType.Any, shorthand.Type);
                Assert.Equal(EchoId, shorthand.Exact);
                Assert.False(shorthand.IgnoreCase);
            },
            dns =>
            {
                Assert.Equal(SubjectAltNameType.Dns, dns.Type);
                Assert.Equal(".echo.svc.cluster.local", dns.Suffix);
                Assert.Null(dns.Exact);
                Assert.True(dns.IgnoreCase);
            },
            uri =>
            {
                Assert.Equal(SubjectAltNameType.Uri, uri.Type);
                Assert.Equal(@"spiffe://cluster\.local/ns/default/sa/echo-v[0-9]+", uri.Regex);
            });
        Assert.Empty(options.BindingErrors);
    }

    [Fact]
    public void Read_InMemoryConfiguration_BindsLikeJson()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Tls:CertificateProviders:default:CertificateFile"] = "/certs/cert-chain.pem",
            ["Mesh:Tls:CertificateProviders:default:PrivateKeyFile"] = "/certs/key.pem",
            ["Mesh:Tls:CertificateProviders:default:CaCertificateFile"] = "/certs/root-cert.pem",
            ["Mesh:Tls:CertificateProviders:default:RefreshInterval"] = "250ms",
            ["Mesh:Services:echo:Endpoints:0"] = "127.0.0.1:5001",
            ["Mesh:Services:echo:Tls:CertificateProvider"] = "default",
            ["Mesh:Services:echo:Tls:RootCertificateProvider"] = "default",
            ["Mesh:Services:echo:Tls:SubjectAltNames:0"] = EchoId,
            ["Mesh:Services:echo:Tls:SubjectAltNames:1:Type"] = "IpAddress",
            ["Mesh:Services:echo:Tls:SubjectAltNames:1:Prefix"] = "10.0.",
            ["Mesh:Services:web:Endpoints:0"] = "example.com:443",
            ["Mesh:Services:web:Tls:UseSystemRoots"] = "true",
        }).Build();

        var options = Read(configuration);
        var compilation = MeshOptionsCompiler.Compile(options, "test");

        Assert.Empty(compilation.Errors);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.Tls.CertificateProviders["default"].RefreshInterval);
        AssertTls(
            new MeshClusterTls
            {
                Identity = new CertificateProviderReference("default"),
                Roots = new CertificateProviderReference("default"),
                SubjectAltNames =
                [
                    new SubjectAltNameMatch { Kind = StringMatchKind.Exact, Value = EchoId },
                    new SubjectAltNameMatch { Type = SubjectAltNameType.IpAddress, Kind = StringMatchKind.Prefix, Value = "10.0." },
                ],
            },
            compilation.Snapshot!.Clusters["echo"].Tls);
        AssertTls(new MeshClusterTls { UseSystemRoots = true }, compilation.Snapshot.Clusters["web"].Tls);
    }

    [Fact]
    public void Compile_ServiceTls_GivesTheClusterItsMeshClusterTls()
    {
        var compilation = Compile(IstioJson);

        Assert.Empty(compilation.Errors);
        AssertTls(ExpectedIstioTls(), compilation.Snapshot!.Clusters["echo"].Tls);
    }

    [Fact]
    public void Compile_Providers_BecomeFileWatcherSettingsWithDefaultRefresh()
    {
        var compilation = Compile("""
            { "Mesh": { "Tls": { "CertificateProviders": {
                "default": { "CertificateFile": "c.pem", "PrivateKeyFile": "k.pem", "CaCertificateFile": "ca.pem" },
                "ca-only": { "CaCertificateFile": "other-ca.pem", "RefreshInterval": "30s" } } } } }
            """);

        Assert.Empty(compilation.Errors);
        Assert.Equal(2, compilation.CertificateProviders.Count);
        Assert.Equal(new FileWatcherSettings("c.pem", "k.pem", "ca.pem", TimeSpan.FromMinutes(10)), compilation.CertificateProviders["default"]);
        Assert.Equal(new FileWatcherSettings(null, null, "other-ca.pem", TimeSpan.FromSeconds(30)), compilation.CertificateProviders["ca-only"]);
    }

    [Fact]
    public void Compile_ProviderFilesDoNotExist_IsValid()
    {
        // Istio's agent writes the files after the application starts; calls fail closed until then.
        var missing = Path.Combine(Path.GetTempPath(), "mesh-no-such-dir-" + Guid.NewGuid().ToString("N"));
        var compilation = Compile($$"""
            { "Mesh": { "Tls": { "CertificateProviders": { "default": {
                "CertificateFile": "{{Escape(Path.Combine(missing, "cert-chain.pem"))}}",
                "PrivateKeyFile": "{{Escape(Path.Combine(missing, "key.pem"))}}",
                "CaCertificateFile": "{{Escape(Path.Combine(missing, "root-cert.pem"))}}" } } },
              "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ], "Tls": { "CertificateProvider": "default", "RootCertificateProvider": "default" } } } } }
            """);

        Assert.Empty(compilation.Errors);
        Assert.NotNull(compilation.Snapshot!.Clusters["echo"].Tls);
    }

    [Fact]
    public void Compile_WeightedClusters_EachTargetKeepsItsOwnTls()
    {
        var compilation = Compile("""
            { "Mesh": {
                "Tls": { "CertificateProviders": { "default": { "CertificateFile": "c.pem", "PrivateKeyFile": "k.pem", "CaCertificateFile": "ca.pem" } } },
                "Services": {
                  "echo": {
                    "Endpoints": [ "127.0.0.1:5001" ],
                    "Tls": { "CertificateProvider": "default", "RootCertificateProvider": "default", "SubjectAltNames": [ "spiffe://cluster.local/ns/default/sa/echo" ] },
                    "Routes": [ { "WeightedClusters": { "echo": 90, "echo-v2": 5, "legacy": 5 } } ]
                  },
                  "echo-v2": {
                    "Endpoints": [ "127.0.0.1:5002" ],
                    "Tls": { "CertificateProvider": "default", "RootCertificateProvider": "default", "SubjectAltNames": [ "spiffe://cluster.local/ns/default/sa/echo-v2" ] }
                  },
                  "legacy": { "Endpoints": [ "127.0.0.1:5003" ] }
                } } }
            """);

        Assert.Empty(compilation.Errors);
        var clusters = compilation.Snapshot!.Clusters;
        Assert.Equal(EchoId, Assert.Single(clusters["echo"].Tls!.SubjectAltNames).Value);
        Assert.Equal("spiffe://cluster.local/ns/default/sa/echo-v2", Assert.Single(clusters["echo-v2"].Tls!.SubjectAltNames).Value);
        Assert.Null(clusters["legacy"].Tls);
        var route = compilation.Snapshot.Services["echo"].Routes[0];
        Assert.Equal(["echo", "echo-v2", "legacy"], route.Clusters.Select(c => c.Cluster).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compile_NoTls_ClusterIsPlaintext()
    {
        var compilation = Compile("""{ "Mesh": { "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ] } } } }""");

        Assert.Null(compilation.Snapshot!.Clusters["echo"].Tls);
        Assert.Empty(compilation.CertificateProviders);
    }

    private const string Providers = """
        "Tls": { "CertificateProviders": {
          "default": { "CertificateFile": "c.pem", "PrivateKeyFile": "k.pem", "CaCertificateFile": "ca.pem" },
          "roots-only": { "CaCertificateFile": "ca.pem" },
          "identity-only": { "CertificateFile": "c.pem", "PrivateKeyFile": "k.pem" } } }
        """;

    [Theory]
    [InlineData("""{ "CertificateProvider": "defualt", "RootCertificateProvider": "default" }""",
        "Mesh:Services:echo:Tls:CertificateProvider 'defualt': no certificate provider of this name in Mesh:Tls:CertificateProviders (known: default, identity-only, roots-only)")]
    [InlineData("""{ "RootCertificateProvider": "Default" }""",
        "Mesh:Services:echo:Tls:RootCertificateProvider 'Default': no certificate provider of this name in Mesh:Tls:CertificateProviders (known: default, identity-only, roots-only)")]
    [InlineData("""{ "CertificateProvider": "roots-only", "RootCertificateProvider": "default" }""",
        "Mesh:Services:echo:Tls:CertificateProvider 'roots-only': certificate provider 'roots-only' has no CertificateFile to present")]
    [InlineData("""{ "RootCertificateProvider": "identity-only" }""",
        "Mesh:Services:echo:Tls:RootCertificateProvider 'identity-only': certificate provider 'identity-only' has no CaCertificateFile to verify servers with")]
    [InlineData("""{ "CertificateProvider": "default" }""",
        "Mesh:Services:echo:Tls: set RootCertificateProvider or UseSystemRoots: TLS must verify the server")]
    [InlineData("""{ "RootCertificateProvider": "default", "UseSystemRoots": true }""",
        "Mesh:Services:echo:Tls:UseSystemRoots 'true': set RootCertificateProvider or UseSystemRoots, not both")]
    [InlineData("""{ "UseSystemRoots": "yes" }""",
        "Mesh:Services:echo:Tls:UseSystemRoots 'yes': not true or false")]
    [InlineData("""{ "UseSystemRoots": true, "CertificateName": "default" }""",
        "Mesh:Services:echo:Tls:CertificateName 'default': CertificateName needs CertificateProvider")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ { "Type": "Uri", "Regex": "spiffe://(" } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0:Regex 'spiffe://(': invalid regular expression")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ { "Type": "Url", "Exact": "spiffe://a/b" } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0:Type 'Url': expected one of Any, Email, Dns, Uri, IpAddress")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ "a.example", { "Type": "Dns" } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:1: set exactly one of Exact, Prefix, Suffix, Contains and Regex; none is set")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ { "Exact": "a.example", "Prefix": "a." } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0: set exactly one of Exact, Prefix, Suffix, Contains and Regex; found Exact and Prefix")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ { "Type": "Dns", "Exakt": "a.example" } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0:Exakt 'a.example': unknown setting 'Exakt'; expected one of Type, Exact, Prefix, Suffix, Contains, Regex, IgnoreCase")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ "" ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0 '': subject alternative name is empty")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": [ { "Regex": "a.*", "IgnoreCase": true } ] }""",
        "Mesh:Services:echo:Tls:SubjectAltNames:0:IgnoreCase 'true': IgnoreCase does not apply to Regex; write (?i) in the pattern")]
    [InlineData("""{ "UseSystemRoots": true, "SubjectAltNames": "spiffe://cluster.local/ns/default/sa/echo" }""",
        "Mesh:Services:echo:Tls:SubjectAltNames 'spiffe://cluster.local/ns/default/sa/echo': expected a list")]
    [InlineData("""{ "UseSystemRoots": true, "Sni": "echo default" }""",
        "Mesh:Services:echo:Tls:Sni 'echo default': expected a host name")]
    [InlineData("""{ "UseSystemRoots": true, "RootCertificate": "default" }""",
        "Mesh:Services:echo:Tls:RootCertificate 'default': unknown setting 'RootCertificate'; expected one of CertificateProvider, CertificateName, RootCertificateProvider")]
    public void Compile_InvalidServiceTls_NamesPathValueAndProblem(string tls, string expected)
    {
        var errors = Errors($$"""{ "Mesh": { {{Providers}}, "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ], "Tls": {{tls}} } } } }""");

        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "CertificateFile": "/certs/cert-chain.pem", "CaCertificateFile": "/certs/root-cert.pem" }""",
        "Mesh:Tls:CertificateProviders:p:CertificateFile '/certs/cert-chain.pem': PrivateKeyFile is not set; a certificate needs its private key (set both or neither)")]
    [InlineData("""{ "PrivateKeyFile": "/certs/key.pem" }""",
        "Mesh:Tls:CertificateProviders:p:PrivateKeyFile '/certs/key.pem': CertificateFile is not set; a private key needs its certificate (set both or neither)")]
    [InlineData("""{ "RefreshInterval": "1m" }""",
        "Mesh:Tls:CertificateProviders:p: certificate provider has neither CertificateFile (with PrivateKeyFile) nor CaCertificateFile")]
    [InlineData("""{ "CaCertificateFile": "/certs/root-cert.pem", "RefreshInterval": "0s" }""",
        "Mesh:Tls:CertificateProviders:p:RefreshInterval '00:00:00': must be positive")]
    [InlineData("""{ "CaCertificateFile": "/certs/root-cert.pem", "RefreshInterval": "-5s" }""",
        "Mesh:Tls:CertificateProviders:p:RefreshInterval '-5s': not a duration")]
    [InlineData("""{ "CaCertificateFile": "/certs/root-cert.pem", "RefreshInterval": "often" }""",
        "Mesh:Tls:CertificateProviders:p:RefreshInterval 'often': not a duration")]
    [InlineData("""{ "CaCertificateFile": "  " }""",
        "Mesh:Tls:CertificateProviders:p:CaCertificateFile '  ': file path is empty")]
    [InlineData("""{ "CaCertificateFile": "/certs/root-cert.pem", "CertificateChain": "/certs/cert-chain.pem" }""",
        "Mesh:Tls:CertificateProviders:p:CertificateChain '/certs/cert-chain.pem': unknown setting 'CertificateChain'; expected one of CertificateFile, PrivateKeyFile, CaCertificateFile, RefreshInterval")]
    public void Compile_InvalidProvider_NamesPathValueAndProblem(string provider, string expected)
    {
        var errors = Errors($$"""{ "Mesh": { "Tls": { "CertificateProviders": { "p": {{provider}} } } } }""");

        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_ProviderReferencedWithNoneConfigured_SaysNoneAreConfigured()
    {
        var errors = Errors("""{ "Mesh": { "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ], "Tls": { "RootCertificateProvider": "default" } } } } }""");

        Assert.Equal("Mesh:Services:echo:Tls:RootCertificateProvider 'default': no certificate provider of this name in Mesh:Tls:CertificateProviders (none are configured)", errors);
    }

    [Fact]
    public void Compile_TlsOnServiceWithoutEndpoints_SaysWhereTlsBelongs()
    {
        var errors = Errors("""
            { "Mesh": { "Services": {
                "front": { "Tls": { "UseSystemRoots": true }, "Routes": [ { "Cluster": "echo" } ] },
                "echo": { "Endpoints": [ "127.0.0.1:5001" ] } } } }
            """);

        Assert.Equal("Mesh:Services:front:Tls: Tls applies to the service's own Endpoints and it has none; set Tls on the services its routes go to", errors);
    }

    [Fact]
    public void Compile_UnknownRootKey_ListsTls()
    {
        var errors = Errors("""{ "Mesh": { "Tsl": { "CertificateProviders": { } }, "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ] } } } }""");

        Assert.Contains("unknown setting 'Tsl'; expected one of Services, Xds, Tls", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMesh_CodeConfiguredUndefinedSanType_FailsValidationWithPath()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(o =>
        {
            var echo = new MeshServiceOptions { Tls = new MeshServiceTlsOptions { UseSystemRoots = true } };
            echo.Endpoints.Add(new MeshEndpointOptions { Address = "127.0.0.1:5001" });
            echo.Tls.SubjectAltNames.Add(new MeshSubjectAltNameOptions { Type = (SubjectAltNameType)42, Exact = "a.example" });
            o.Services["echo"] = echo;
        });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<MeshRuntime>());

        Assert.Contains("Mesh:Services:echo:Tls:SubjectAltNames:0:Type '42': unknown subject alternative name type; expected one of Any, Email, Dns, Uri, IpAddress", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMesh_ProvidersInConfiguration_AreRegisteredInTheRuntimeStore()
    {
        using var files = new PemFiles();
        var missing = Path.Combine(files.Directory, "not-yet");
        var configuration = Json($$"""
            { "Mesh": {
                "Tls": { "CertificateProviders": {
                  "default": { "CertificateFile": "{{Escape(files.ChainFile)}}", "PrivateKeyFile": "{{Escape(files.KeyFile)}}", "CaCertificateFile": "{{Escape(files.RootFile)}}", "RefreshInterval": "5m" },
                  "later": { "CaCertificateFile": "{{Escape(Path.Combine(missing, "root-cert.pem"))}}" } } },
                "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ],
                  "Tls": { "CertificateProvider": "default", "RootCertificateProvider": "default", "SubjectAltNames": [ "spiffe://cluster.local/ns/default/sa/echo" ] } } } } }
            """);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(configuration.GetSection("Mesh"));
        using var provider = services.BuildServiceProvider();

        var runtime = provider.GetRequiredService<MeshRuntime>();

        Assert.Equal(["default", "later"], runtime.Certificates.Names);
        Assert.True(runtime.Certificates.TryGet("default", out var store));
        Assert.Equal(new FileWatcherSettings(files.ChainFile, files.KeyFile, files.RootFile, TimeSpan.FromMinutes(5)), store.Settings);
        Assert.NotNull(store.GetIdentity(out var identityError));
        Assert.Null(identityError);
        Assert.NotNull(store.GetRoots(out _));
        Assert.True(runtime.Certificates.TryGet("later", out var later));
        Assert.Null(later.GetRoots(out var rootsError));
        Assert.NotNull(rootsError);
        var cluster = runtime.Current.Clusters["echo"];
        Assert.Equal(new CertificateProviderReference("default"), cluster.Config.Tls!.Identity);
        Assert.NotNull(cluster.Tls);
    }

    [Fact]
    public void AddMesh_CodeConfiguredProvider_IsRegistered()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMesh(o =>
        {
            o.Tls.CertificateProviders["default"] = new MeshCertificateProviderOptions { CaCertificateFile = "/certs/root-cert.pem" };
            var echo = new MeshServiceOptions { Tls = new MeshServiceTlsOptions { RootCertificateProvider = "default" } };
            echo.Endpoints.Add(new MeshEndpointOptions { Address = "127.0.0.1:5001" });
            o.Services["echo"] = echo;
        });
        using var provider = services.BuildServiceProvider();

        var runtime = provider.GetRequiredService<MeshRuntime>();

        Assert.True(runtime.Certificates.TryGet("default", out var registered));
        Assert.Equal(new FileWatcherSettings(null, null, "/certs/root-cert.pem", FileWatcherSettings.DefaultRefreshInterval), registered.Settings);
    }

    [Fact]
    public async Task Reload_ChangedProviderSettings_ReplacesTheProvider()
    {
        static string Config(string refresh) => $$"""
            { "Mesh": {
                "Tls": { "CertificateProviders": { "default": { "CaCertificateFile": "/certs/root-cert.pem", "RefreshInterval": "{{refresh}}" } } },
                "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ], "Tls": { "RootCertificateProvider": "default" } } } } }
            """;
        await using var host = await MeshHost.StartAsync(Config("5m"));
        var runtime = host.Services.GetRequiredService<MeshRuntime>();
        Assert.True(runtime.Certificates.TryGet("default", out var before));
        Assert.Equal(TimeSpan.FromMinutes(5), before.Settings.RefreshInterval);

        await host.WriteConfigAsync(Config("1m"));

        await Wait.UntilAsync(
            () => runtime.Certificates.TryGet("default", out var now) && now.Settings.RefreshInterval == TimeSpan.FromMinutes(1),
            "the reloaded provider settings to replace the provider");
        Assert.True(runtime.Certificates.TryGet("default", out var after));
        Assert.NotSame(before, after);
    }

    [Fact]
    public async Task StartAsync_UnknownProvider_StopsTheHostWithPathAndValue()
    {
        await using var host = await MeshHost.StartAsync(
            """{ "Mesh": { "Services": { "echo": { "Endpoints": [ "127.0.0.1:5001" ], "Tls": { "CertificateProvider": "default", "UseSystemRoots": true } } } } }""",
            start: false);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.Host.StartAsync());

        Assert.Contains("Mesh:Services:echo:Tls:CertificateProvider 'default': no certificate provider of this name in Mesh:Tls:CertificateProviders (none are configured)", ex.Message, StringComparison.Ordinal);
    }

    private static string Escape(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal);

    /// <summary>A CA and a workload certificate made at run time, written as Istio's agent writes them.</summary>
    private sealed class PemFiles : IDisposable
    {
        public PemFiles()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("mesh-tls-options-").FullName;
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=Mesh Test CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = DateTimeOffset.UtcNow;
            using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var leafRequest = new CertificateRequest("CN=client", leafKey, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri("spiffe://cluster.local/ns/default/sa/client"));
            leafRequest.CertificateExtensions.Add(san.Build());
            leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            using var leaf = leafRequest.Create(ca, now.AddMinutes(-5), now.AddHours(12), [1, 2, 3, 4]);

            ChainFile = Path.Combine(Directory, "cert-chain.pem");
            KeyFile = Path.Combine(Directory, "key.pem");
            RootFile = Path.Combine(Directory, "root-cert.pem");
            File.WriteAllText(ChainFile, leaf.ExportCertificatePem());
            File.WriteAllText(KeyFile, leafKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(RootFile, ca.ExportCertificatePem());
        }

        public string Directory { get; }

        public string ChainFile { get; }

        public string KeyFile { get; }

        public string RootFile { get; }

        public void Dispose()
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
