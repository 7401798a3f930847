using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Mesh.Client.Model;
using Mesh.Client.Model.Internal;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.Configuration;
using LeastRequestConfig = Envoy.Extensions.LoadBalancingPolicies.LeastRequest.V3.LeastRequest;
using LoadBalancingPolicy = Mesh.Client.Model.LoadBalancingPolicy;
using MaglevConfig = Envoy.Extensions.LoadBalancingPolicies.Maglev.V3.Maglev;
using RingHashConfig = Envoy.Extensions.LoadBalancingPolicies.RingHash.V3.RingHash;
using XdsLoadBalancingPolicy = Envoy.Config.Cluster.V3.LoadBalancingPolicy;
using XdsRetryPolicy = Envoy.Config.Route.V3.RetryPolicy;

namespace Mesh.Client.Tests.Model;

/// <summary>
/// The same edge values fed to both sources, appsettings (reader and compiler) and xDS (the resource decoder),
/// must get the same verdict and, when accepted, the same model value: the rules live in <see cref="ModelRules"/>
/// and <see cref="RetryOnNames"/>, and these tests keep the two sources from drifting apart again.
/// </summary>
public class ModelRulesTests
{
    // ---- least_request choice_count (gRFC A48: below 2 is an error, above 10 is capped) ----

    [Theory]
    [InlineData(1L, null)]
    [InlineData(2L, 2)]
    [InlineData(3L, 3)]
    [InlineData(10L, 10)]
    [InlineData(11L, 10)]
    [InlineData(1000L, 10)]
    public void LeastRequestChoiceCount_BothSources_SameVerdictAndValue(long choiceCount, int? expected)
    {
        var fromAppSettings = AppSettingsPolicy($$"""{ "Policy": "least_request", "ChoiceCount": {{choiceCount}} }""");
        var fromXds = XdsPolicy(new LeastRequestConfig { ChoiceCount = (uint)choiceCount });
        var fromXdsEnum = XdsPolicy(c =>
        {
            c.LbPolicy = Cluster.Types.LbPolicy.LeastRequest;
            c.LeastRequestLbConfig = new Cluster.Types.LeastRequestLbConfig { ChoiceCount = (uint)choiceCount };
        });

        LoadBalancingPolicy? model = expected is { } count ? new LeastRequestPolicy { ChoiceCount = count } : null;
        Assert.Equal(model, fromAppSettings);
        Assert.Equal(model, fromXds);
        Assert.Equal(model, fromXdsEnum);
    }

    [Fact]
    public void LeastRequestChoiceCount_Unset_SameDefault()
    {
        Assert.Equal(new LeastRequestPolicy(), AppSettingsPolicy("""{ "Policy": "least_request" }"""));
        Assert.Equal(new LeastRequestPolicy(), XdsPolicy(new LeastRequestConfig()));
    }

    // ---- ring_hash ring sizes (1 to 8,388,608; minimum not above maximum) ----

    [Theory]
    [InlineData(0L, 4096L, false)]
    [InlineData(1L, 4096L, true)]
    [InlineData(1L, 1L, true)]
    [InlineData(4096L, 4096L, true)]
    [InlineData(4097L, 4096L, false)]
    [InlineData(1024L, 0L, false)]
    [InlineData(1024L, 8_388_608L, true)]
    [InlineData(1024L, 8_388_609L, false)]
    [InlineData(8_388_608L, 8_388_608L, true)]
    [InlineData(8_388_609L, 8_388_609L, false)]
    public void RingHashSizes_BothSources_SameVerdictAndValue(long min, long max, bool valid)
    {
        var fromAppSettings = AppSettingsPolicy($$"""{ "Policy": "ring_hash", "MinRingSize": {{min}}, "MaxRingSize": {{max}} }""");
        var fromXds = XdsPolicy(new RingHashConfig { MinimumRingSize = (ulong)min, MaximumRingSize = (ulong)max });
        var fromXdsEnum = XdsPolicy(c =>
        {
            c.LbPolicy = Cluster.Types.LbPolicy.RingHash;
            c.RingHashLbConfig = new Cluster.Types.RingHashLbConfig { MinimumRingSize = (ulong)min, MaximumRingSize = (ulong)max };
        });

        LoadBalancingPolicy? model = valid ? new RingHashPolicy { MinRingSize = min, MaxRingSize = max } : null;
        Assert.Equal(model, fromAppSettings);
        Assert.Equal(model, fromXds);
        Assert.Equal(model, fromXdsEnum);
    }

    [Fact]
    public void RingHashSizes_Unset_SameDefaults()
    {
        var expected = new RingHashPolicy { MinRingSize = ModelRules.DefaultMinRingSize, MaxRingSize = ModelRules.DefaultMaxRingSize };
        Assert.Equal(expected, AppSettingsPolicy("""{ "Policy": "ring_hash" }"""));
        Assert.Equal(expected, XdsPolicy(new RingHashConfig()));
        Assert.Equal(expected, new RingHashPolicy());
    }

    // ---- maglev table_size (a prime no larger than 5,000,011) ----

    [Theory]
    [InlineData(1L, false)]
    [InlineData(2L, true)]
    [InlineData(4L, false)]
    [InlineData(251L, true)]
    [InlineData(65536L, false)]
    [InlineData(65537L, true)]
    [InlineData(5_000_011L, true)]
    [InlineData(5_000_012L, false)]
    [InlineData(5_000_077L, false)] // a prime, but above the limit
    public void MaglevTableSize_BothSources_SameVerdictAndValue(long tableSize, bool valid)
    {
        var fromAppSettings = AppSettingsPolicy($$"""{ "Policy": "maglev", "TableSize": {{tableSize}} }""");
        var fromXds = XdsPolicy(new MaglevConfig { TableSize = (ulong)tableSize });
        var fromXdsEnum = XdsPolicy(c =>
        {
            c.LbPolicy = Cluster.Types.LbPolicy.Maglev;
            c.MaglevLbConfig = new Cluster.Types.MaglevLbConfig { TableSize = (ulong)tableSize };
        });

        LoadBalancingPolicy? model = valid ? new MaglevPolicy { TableSize = (int)tableSize } : null;
        Assert.Equal(model, fromAppSettings);
        Assert.Equal(model, fromXds);
        Assert.Equal(model, fromXdsEnum);
    }

    [Fact]
    public void MaglevTableSize_Unset_SameDefault()
    {
        Assert.Equal(new MaglevPolicy(), AppSettingsPolicy("""{ "Policy": "maglev" }"""));
        Assert.Equal(new MaglevPolicy(), XdsPolicy(new MaglevConfig()));
    }

    [Theory]
    [InlineData(-7L, false)]
    [InlineData(0L, false)]
    [InlineData(1L, false)]
    [InlineData(2L, true)]
    [InlineData(3L, true)]
    [InlineData(9L, false)]
    [InlineData(65537L, true)]
    [InlineData(5_000_011L, true)]
    public void IsPrime_SmallAndLargeValues(long n, bool prime) => Assert.Equal(prime, ModelRules.IsPrime(n));

    // ---- retry_on condition names (one table) ----

    public static TheoryData<string> RetryOnConditions => [.. RetryOnNames.All];

    [Theory]
    [MemberData(nameof(RetryOnConditions))]
    public void RetryOnName_BothSources_SameCondition(string name)
    {
        var fromAppSettings = AppSettingsRoute($$"""{ "Endpoints": [ "a:1" ], "Retry": { "RetryOn": "{{name}}", "NumRetries": 1 } }""")?.Retry?.RetryOn;
        var fromXds = XdsRoute(new XdsRetryPolicy { RetryOn = name, NumRetries = 1 })?.Retry?.RetryOn;

        Assert.True(RetryOnNames.TryGet(name, StringComparison.Ordinal, out var flag));
        Assert.NotEqual(RetryOn.None, flag);
        Assert.Equal(flag, fromAppSettings);
        Assert.Equal(flag, fromXds);
    }

    [Fact]
    public void RetryOnNames_CoverEveryCondition()
    {
        var all = RetryOnNames.All.Aggregate(RetryOn.None, (sum, name) => RetryOnNames.TryGet(name, StringComparison.Ordinal, out var flag) ? sum | flag : sum);

        Assert.Equal(System.Enum.GetValues<RetryOn>().Aggregate(RetryOn.None, (sum, flag) => sum | flag), all);
    }

    // ---- gRPC status of an injected abort (0 to 16) ----

    [Theory]
    [InlineData(0u, true)]
    [InlineData(14u, true)]
    [InlineData(16u, true)]
    [InlineData(17u, false)]
    public void FaultAbortGrpcStatus_BothSources_SameVerdictAndValue(uint status, bool valid)
    {
        var fromAppSettings = AppSettingsRoute($$"""{ "Endpoints": [ "a:1" ], "Fault": { "Abort": { "GrpcStatus": {{status}} } } }""")?.Fault?.Abort?.GrpcStatus;
        var fromXds = XdsFaultAbortGrpcStatus(status);

        int? expected = valid ? (int)status : null;
        Assert.Equal(expected, fromAppSettings);
        Assert.Equal(expected, fromXds);
    }

    // ---- outlier detection max_ejection_percent (at most 100) ----

    [Theory]
    [InlineData(0u, true)]
    [InlineData(100u, true)]
    [InlineData(101u, false)]
    public void OutlierMaxEjectionPercent_BothSources_SameVerdictAndValue(uint percent, bool valid)
    {
        var fromAppSettings = AppSettingsCluster($$"""{ "Endpoints": [ "a:1" ], "OutlierDetection": { "MaxEjectionPercent": {{percent}} } }""")?.OutlierDetection?.MaxEjectionPercent;
        var fromXds = XdsCluster(c => c.OutlierDetection = new OutlierDetection { MaxEjectionPercent = percent })?.OutlierDetection?.MaxEjectionPercent;

        uint? expected = valid ? percent : null;
        Assert.Equal(expected, fromAppSettings);
        Assert.Equal(expected, fromXds);
    }

    // ---- TLS equality (one function) ----

    [Fact]
    public void TlsEquals_SameSettingsInOtherLists_Equal()
    {
        static MeshClusterTls Tls(string san) => new()
        {
            Roots = new CertificateProviderReference("roots"),
            SubjectAltNames = [new SubjectAltNameMatch { Type = SubjectAltNameType.Dns, Kind = StringMatchKind.Exact, Value = san }],
            Sni = "echo",
        };

        Assert.True(ModelEquality.TlsEquals(Tls("a"), Tls("a")));
        Assert.False(ModelEquality.TlsEquals(Tls("a"), Tls("b")));
        Assert.False(ModelEquality.TlsEquals(Tls("a"), Tls("a") with { Sni = "other" }));
        Assert.False(ModelEquality.TlsEquals(Tls("a"), null));
        Assert.True(ModelEquality.TlsEquals(null, null));
    }

    // ---- the two sources ----

    private static MeshCompilation Compile(string service)
    {
        var json = $$"""{ "Mesh": { "Services": { "svc": {{service}} } } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();
        var options = new MeshOptions();
        MeshConfigurationReader.Read(configuration.GetSection("Mesh"), options);
        return MeshOptionsCompiler.Compile(options, "test");
    }

    private static MeshCluster? AppSettingsCluster(string service) =>
        Compile(service).Snapshot?.Clusters["svc"];

    private static LoadBalancingPolicy? AppSettingsPolicy(string loadBalancing) =>
        AppSettingsCluster($$"""{ "Endpoints": [ "a:1" ], "LoadBalancing": {{loadBalancing}} }""")?.LoadBalancing;

    private static MeshRoute? AppSettingsRoute(string service) =>
        Compile(service).Snapshot?.Services["svc"].Routes.Single();

    private static XdsClusterUpdate? XdsCluster(Action<Cluster> configure)
    {
        var cluster = new Cluster
        {
            Name = "c",
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } },
        };
        configure(cluster);
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Cluster, Any.Pack(cluster));
        Assert.True((result.Update is null) != (result.Error is null), "exactly one of update and error");
        return result.Update as XdsClusterUpdate;
    }

    private static LoadBalancingPolicy? XdsPolicy(Action<Cluster> configure) => XdsCluster(configure)?.LoadBalancing;

    private static LoadBalancingPolicy? XdsPolicy(IMessage config) => XdsPolicy(c =>
    {
        var policy = new XdsLoadBalancingPolicy();
        policy.Policies.Add(new XdsLoadBalancingPolicy.Types.Policy { TypedExtensionConfig = new TypedExtensionConfig { Name = "p", TypedConfig = Any.Pack(config) } });
        c.LoadBalancingPolicy = policy;
    });

    private static MeshRoute? XdsRoute(XdsRetryPolicy retry)
    {
        var route = new Route { Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = "c", RetryPolicy = retry } };
        var virtualHost = new VirtualHost { Name = "vh", Domains = { "svc" }, Routes = { route } };
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.RouteConfiguration, Any.Pack(new RouteConfiguration { Name = "rc", VirtualHosts = { virtualHost } }));
        return (result.Update as XdsRouteConfigUpdate)?.VirtualHosts.Single().Routes.Single();
    }

    private static int? XdsFaultAbortGrpcStatus(uint status)
    {
        var hcm = new HttpConnectionManager
        {
            Rds = new Rds { RouteConfigName = "rc", ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
            HttpFilters =
            {
                new HttpFilter { Name = "fault", TypedConfig = Any.Pack(new HTTPFault { Abort = new Envoy.Extensions.Filters.Http.Fault.V3.FaultAbort { GrpcStatus = status } }) },
                new HttpFilter { Name = "router", TypedConfig = Any.Pack(new Router()) },
            },
        };
        var listener = new Listener { Name = "svc", ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } };
        var result = XdsResourceDecoder.Decode(XdsTypeUrls.Listener, Any.Pack(listener));
        return (result.Update as XdsListenerUpdate)?.FaultFilters.Single().Policy.Abort?.GrpcStatus;
    }
}
