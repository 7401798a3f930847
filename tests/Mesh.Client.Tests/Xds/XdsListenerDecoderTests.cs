using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Xds.Internal;
using UdpaTypedStruct = Udpa.Type.V1.TypedStruct;
using XdsTypedStruct = Xds.Type.V3.TypedStruct;

namespace Mesh.Client.Tests.Xds;

public class XdsListenerDecoderTests
{
    private static HttpFilter RouterFilter() => new() { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) };

    private static HttpFilter FaultFilter(string name = "envoy.filters.http.fault") => new()
    {
        Name = name,
        TypedConfig = Any.Pack(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 14, Percentage = new Envoy.Type.V3.FractionalPercent { Numerator = 50 } } }),
    };

    private static HttpConnectionManager RdsManager(string routeConfigName = "route-a", params HttpFilter[] filters)
    {
        var hcm = new HttpConnectionManager
        {
            Rds = new Rds { RouteConfigName = routeConfigName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
        };
        hcm.HttpFilters.Add(filters.Length == 0 ? [RouterFilter()] : filters);
        return hcm;
    }

    private static Listener ListenerOf(IMessage apiListener) =>
        new() { Name = "echo:7070", ApiListener = new ApiListener { ApiListener_ = Any.Pack(apiListener) } };

    private static XdsDecodeResult Decode(Listener listener) => XdsResourceDecoder.Decode(XdsTypeUrls.Listener, Any.Pack(listener));

    private static XdsDecodeResult Decode(HttpConnectionManager hcm) => Decode(ListenerOf(hcm));

    private static XdsListenerUpdate Valid(HttpConnectionManager hcm)
    {
        var result = Decode(hcm);
        Assert.Null(result.Error);
        return Assert.IsType<XdsListenerUpdate>(result.Update);
    }

    private static string Error(HttpConnectionManager hcm)
    {
        var result = Decode(hcm);
        Assert.Null(result.Update);
        Assert.Equal("echo:7070", result.Name);
        return Assert.IsType<string>(result.Error);
    }

    private static Any TypedStruct(string wrapper, string typeUrl, Struct? value = null) => wrapper == "xds"
        ? Any.Pack(new XdsTypedStruct { TypeUrl = typeUrl, Value = value ?? new Struct() })
        : Any.Pack(new UdpaTypedStruct { TypeUrl = typeUrl, Value = value ?? new Struct() });

    [Fact]
    public void Decode_RdsWithFaultAndRouter_ReturnsNameFiltersAndDuration()
    {
        var hcm = RdsManager("route-a", FaultFilter(), RouterFilter());
        hcm.CommonHttpProtocolOptions = new HttpProtocolOptions { MaxStreamDuration = new Duration { Seconds = 5, Nanos = 500_000_000 } };

        var update = Valid(hcm);

        Assert.Equal("route-a", update.RouteConfigName);
        Assert.Null(update.InlineRouteConfig);
        Assert.Equal(TimeSpan.FromSeconds(5.5), update.MaxStreamDuration);
        Assert.Collection(
            update.HttpFilters,
            fault =>
            {
                Assert.Equal("envoy.filters.http.fault", fault.Name);
                Assert.Equal("type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", fault.TypeUrl);
                var config = Assert.IsType<HTTPFault>(fault.Config);
                Assert.Equal(14u, config.Abort.GrpcStatus);
                Assert.Equal(50u, config.Abort.Percentage.Numerator);
            },
            router =>
            {
                Assert.Equal("envoy.filters.http.router", router.Name);
                Assert.Equal("type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", router.TypeUrl);
                Assert.Null(router.Config);
            });
    }

    [Fact]
    public void Decode_NoMaxStreamDuration_IsNull()
    {
        Assert.Null(Valid(RdsManager()).MaxStreamDuration);
    }

    [Fact]
    public void Decode_NegativeMaxStreamDuration_Error()
    {
        var hcm = RdsManager();
        hcm.CommonHttpProtocolOptions = new HttpProtocolOptions { MaxStreamDuration = new Duration { Seconds = -1 } };

        Assert.Equal("common_http_protocol_options.max_stream_duration.seconds: must be between 0 and 315576000000, found -1", Error(hcm));
    }

    [Fact]
    public void Decode_RdsConfigSourceSelf_Accepted()
    {
        var hcm = RdsManager();
        hcm.Rds.ConfigSource = new ConfigSource { Self = new SelfConfigSource() };

        Assert.Equal("route-a", Valid(hcm).RouteConfigName);
    }

    [Fact]
    public void Decode_RdsConfigSourceNeitherAdsNorSelf_Error()
    {
        var hcm = RdsManager();
        hcm.Rds.ConfigSource = new ConfigSource { ResourceApiVersion = ApiVersion.V3 };

        Assert.StartsWith("rds.config_source: must be ads or self", Error(hcm), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_RdsWithoutConfigSource_Error()
    {
        var hcm = RdsManager();
        hcm.Rds.ConfigSource = null;

        Assert.Equal("rds.config_source: field not present", Error(hcm));
    }

    [Fact]
    public void Decode_RdsWithEmptyName_Error()
    {
        Assert.Equal("rds.route_config_name: must be non-empty", Error(RdsManager(routeConfigName: "")));
    }

    [Fact]
    public void Decode_InlineRouteConfig_DecodesRoutes()
    {
        var routeConfig = new RouteConfiguration { Name = "inline" };
        var virtualHost = new VirtualHost { Name = "vh", Domains = { "*" } };
        virtualHost.Routes.Add(new Route { Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = "c1" } });
        routeConfig.VirtualHosts.Add(virtualHost);
        var hcm = RdsManager();
        hcm.RouteConfig = routeConfig;

        var update = Valid(hcm);

        Assert.Null(update.RouteConfigName);
        var inline = Assert.IsType<XdsRouteConfigUpdate>(update.InlineRouteConfig);
        Assert.Equal("inline", inline.Name);
        var route = Assert.Single(Assert.Single(inline.VirtualHosts).Routes);
        Assert.Equal([new Mesh.Client.Model.WeightedCluster("c1", 1)], route.Clusters);
    }

    [Fact]
    public void Decode_InlineRouteConfigInvalid_ErrorPathStartsAtRouteConfig()
    {
        var virtualHost = new VirtualHost { Name = "vh", Domains = { "*" } };
        virtualHost.Routes.Add(new Route { Match = new Envoy.Config.Route.V3.RouteMatch { SafeRegex = new Envoy.Type.Matcher.V3.RegexMatcher { Regex = "a(" } }, Route_ = new RouteAction { Cluster = "c1" } });
        var hcm = RdsManager();
        hcm.RouteConfig = new RouteConfiguration { VirtualHosts = { virtualHost } };

        Assert.StartsWith("route_config.virtual_hosts[0].routes[0].match.safe_regex: invalid regular expression \"a(\": ", Error(hcm), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_NeitherRdsNorRouteConfig_Error()
    {
        var hcm = RdsManager();
        hcm.ClearRouteSpecifier();

        Assert.Equal("route_specifier: neither rds nor route_config is set (scoped_routes is not supported)", Error(hcm));
    }

    [Fact]
    public void Decode_NoApiListener_Error()
    {
        var result = Decode(new Listener { Name = "echo:7070" });

        Assert.Equal("echo:7070", result.Name);
        Assert.Equal("api_listener: field not present (a client needs an API listener)", result.Error);
    }

    [Fact]
    public void Decode_ApiListenerNotAConnectionManager_Error()
    {
        var result = Decode(ListenerOf(new Router()));

        Assert.Equal(
            "api_listener.api_listener: must be an envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, found envoy.extensions.filters.http.router.v3.Router",
            result.Error);
    }

    [Fact]
    public void Decode_EmptyHttpFilters_Error()
    {
        var hcm = RdsManager();
        hcm.HttpFilters.Clear();

        Assert.Equal("http_filters: must not be empty: the last filter must be the router (envoy.extensions.filters.http.router.v3.Router)", Error(hcm));
    }

    [Fact]
    public void Decode_LastFilterNotRouter_Error()
    {
        var hcm = RdsManager("route-a", RouterFilter(), FaultFilter());

        Assert.Equal(
            "http_filters[0]: the router filter \"envoy.filters.http.router\" must be the last filter; "
            + "http_filters: the last filter must be the router (envoy.extensions.filters.http.router.v3.Router), found envoy.filters.http.fault",
            Error(hcm));
    }

    [Fact]
    public void Decode_OnlyFault_ErrorNamesTheLastFilter()
    {
        Assert.Equal(
            "http_filters: the last filter must be the router (envoy.extensions.filters.http.router.v3.Router), found envoy.filters.http.fault",
            Error(RdsManager("route-a", FaultFilter())));
    }

    [Fact]
    public void Decode_TwoRouters_ErrorOnTheFirst()
    {
        var second = RouterFilter();
        second.Name = "router-2";

        Assert.Equal("http_filters[0]: the router filter \"envoy.filters.http.router\" must be the last filter", Error(RdsManager("route-a", RouterFilter(), second)));
    }

    [Theory]
    [InlineData("xds")]
    [InlineData("udpa")]
    public void Decode_FiltersInTypedStruct_UseTheWrappedType(string wrapper)
    {
        var faultJson = JsonParser.Default.Parse<Struct>("""{ "abort": { "grpcStatus": 14, "percentage": { "numerator": 25, "denominator": "HUNDRED" } }, "maxActiveFaults": 3 }""");
        var hcm = RdsManager(
            "route-a",
            new HttpFilter { Name = "fault", TypedConfig = TypedStruct(wrapper, "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", faultJson) },
            new HttpFilter { Name = "router", TypedConfig = TypedStruct(wrapper, "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router") });

        var update = Valid(hcm);

        Assert.Equal(["fault", "router"], update.HttpFilters.Select(f => f.Name));
        var fault = Assert.IsType<HTTPFault>(update.HttpFilters[0].Config);
        Assert.Equal(14u, fault.Abort.GrpcStatus);
        Assert.Equal(25u, fault.Abort.Percentage.Numerator);
        Assert.Equal(3u, fault.MaxActiveFaults);
        Assert.Equal("type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", update.HttpFilters[1].TypeUrl);
    }

    [Fact]
    public void Decode_UnknownOptionalFilter_LeftOut()
    {
        var unknown = new HttpFilter { Name = "lua", IsOptional = true, TypedConfig = TypedStruct("xds", "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua") };

        var update = Valid(RdsManager("route-a", unknown, RouterFilter()));

        Assert.Equal(["envoy.filters.http.router"], update.HttpFilters.Select(f => f.Name));
    }

    [Fact]
    public void Decode_UnknownRequiredFilter_Error()
    {
        var unknown = new HttpFilter { Name = "lua", TypedConfig = TypedStruct("xds", "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua") };

        Assert.Equal(
            "http_filters[0].typed_config: unsupported filter type envoy.extensions.filters.http.lua.v3.Lua in filter \"lua\" (set is_optional to let clients skip it)",
            Error(RdsManager("route-a", unknown, RouterFilter())));
    }

    [Fact]
    public void Decode_OnlyOptionalUnknownFilters_ErrorAsEmpty()
    {
        var unknown = new HttpFilter { Name = "lua", IsOptional = true, TypedConfig = TypedStruct("xds", "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua") };

        Assert.StartsWith("http_filters: must not be empty", Error(RdsManager("route-a", unknown)), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DuplicateFilterNames_Error()
    {
        var fault = FaultFilter("same");
        var router = RouterFilter();
        router.Name = "same";

        Assert.Equal("http_filters[1].name: duplicate filter name \"same\"", Error(RdsManager("route-a", fault, router)));
    }

    [Fact]
    public void Decode_FilterWithoutName_Error()
    {
        var router = RouterFilter();
        router.Name = "";

        Assert.Equal("http_filters[0].name: must be non-empty", Error(RdsManager("route-a", router)));
    }

    [Fact]
    public void Decode_FilterWithoutTypedConfig_Error()
    {
        var optional = new HttpFilter { Name = "bare", IsOptional = true };

        Assert.Equal("http_filters[0].typed_config: field not present", Error(RdsManager("route-a", optional, RouterFilter())));
    }

    [Fact]
    public void Decode_FaultConfigUnreadable_Error()
    {
        var broken = new HttpFilter
        {
            Name = "fault",
            TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", Value = ByteString.CopyFrom(0xFF, 0xFF) },
        };

        Assert.StartsWith("http_filters[0].typed_config: cannot parse the envoy.extensions.filters.http.fault.v3.HTTPFault", Error(RdsManager("route-a", broken, RouterFilter())), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_FaultWithInvalidGrpcStatus_Error()
    {
        var fault = new HttpFilter { Name = "fault", TypedConfig = Any.Pack(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 17 } }) };

        Assert.Equal("http_filters[0].typed_config.abort.grpc_status: invalid gRPC status code 17", Error(RdsManager("route-a", fault, RouterFilter())));
    }

    [Fact]
    public void Decode_FaultWithNegativeDelay_Error()
    {
        var config = new HTTPFault { Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { FixedDelay = new Duration { Nanos = -5 } } };
        var fault = new HttpFilter { Name = "fault", TypedConfig = Any.Pack(config) };

        Assert.Equal(
            "http_filters[0].typed_config.delay.fixed_delay.nanos: must be between 0 and 999999999, found -5",
            Error(RdsManager("route-a", fault, RouterFilter())));
    }

    // ---- The fault filter as a policy (gRFC A33) ----

    private static HttpFilter FaultFilterOf(HTTPFault config, string name = "fault", bool disabled = false) =>
        new() { Name = name, TypedConfig = Any.Pack(config), Disabled = disabled };

    private static Mesh.Client.Model.FaultPolicy FaultPolicyOf(HTTPFault config) =>
        Assert.Single(Valid(RdsManager("route-a", FaultFilterOf(config), RouterFilter())).FaultFilters).Policy;

    private static Envoy.Type.V3.FractionalPercent Percent(uint numerator, Envoy.Type.V3.FractionalPercent.Types.DenominatorType denominator = default) =>
        new() { Numerator = numerator, Denominator = denominator };

    [Fact]
    public void Decode_FaultFilters_PoliciesInFilterOrderByInstanceName()
    {
        var update = Valid(RdsManager(
            "route-a",
            FaultFilterOf(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 14, Percentage = Percent(50) } }, "first"),
            new HttpFilter { Name = "lua", IsOptional = true, TypedConfig = TypedStruct("xds", "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua") },
            FaultFilterOf(new HTTPFault { MaxActiveFaults = 2 }, "second"),
            RouterFilter()));

        Assert.Collection(
            update.FaultFilters,
            first =>
            {
                Assert.Equal("first", first.Name);
                Assert.Equal(new Mesh.Client.Model.FaultPolicy { Abort = new Mesh.Client.Model.FaultAbort { GrpcStatus = 14, PerMillion = 500_000 } }, first.Policy);
            },
            second =>
            {
                Assert.Equal("second", second.Name);
                Assert.Equal(new Mesh.Client.Model.FaultPolicy { MaxActiveFaults = 2 }, second.Policy);
            });
    }

    [Fact]
    public void Decode_NoFaultFilter_NoFaultFilters()
    {
        Assert.Empty(Valid(RdsManager()).FaultFilters);
    }

    [Fact]
    public void Decode_FaultFixedDelay_Mapped()
    {
        var policy = FaultPolicyOf(new HTTPFault
        {
            Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay
            {
                FixedDelay = new Duration { Nanos = 300_000_000 },
                Percentage = Percent(25, Envoy.Type.V3.FractionalPercent.Types.DenominatorType.TenThousand),
            },
            MaxActiveFaults = 7,
        });

        Assert.Equal(new Mesh.Client.Model.FaultDelay { FixedDelay = TimeSpan.FromMilliseconds(300), PerMillion = 2_500 }, policy.Delay);
        Assert.Null(policy.Abort);
        Assert.Equal(7u, policy.MaxActiveFaults);
    }

    [Fact]
    public void Decode_FaultHeaderDelayAndHeaderAbort_FromHeader()
    {
        var policy = FaultPolicyOf(new HTTPFault
        {
            Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay
            {
                HeaderDelay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay.Types.HeaderDelay(),
                Percentage = Percent(10, Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Million),
            },
            Abort = new FaultAbort { HeaderAbort = new FaultAbort.Types.HeaderAbort(), Percentage = Percent(100) },
        });

        Assert.Equal(new Mesh.Client.Model.FaultDelay { FromHeader = true, PerMillion = 10 }, policy.Delay);
        Assert.Equal(new Mesh.Client.Model.FaultAbort { FromHeader = true, PerMillion = 1_000_000 }, policy.Abort);
        Assert.Null(policy.MaxActiveFaults);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(200)]
    [InlineData(700)]
    public void Decode_FaultHttpStatus_CarriedAsItIs(uint status)
    {
        var policy = FaultPolicyOf(new HTTPFault { Abort = new FaultAbort { HttpStatus = status, Percentage = Percent(1) } });

        Assert.Equal(new Mesh.Client.Model.FaultAbort { HttpStatus = (int)status, PerMillion = 10_000 }, policy.Abort);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(16u)]
    public void Decode_FaultGrpcStatusInRange_Mapped(uint status)
    {
        var policy = FaultPolicyOf(new HTTPFault { Abort = new FaultAbort { GrpcStatus = status, Percentage = Percent(100) } });

        Assert.Equal((int)status, policy.Abort?.GrpcStatus);
        Assert.Null(policy.Abort?.HttpStatus);
    }

    [Fact]
    public void Decode_FaultWithoutPercentages_NeverInjects()
    {
        var policy = FaultPolicyOf(new HTTPFault
        {
            Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { FixedDelay = new Duration { Seconds = 1 } },
            Abort = new FaultAbort { GrpcStatus = 14 },
        });

        Assert.Equal(0u, policy.Delay?.PerMillion);
        Assert.Equal(0u, policy.Abort?.PerMillion);
    }

    [Fact]
    public void Decode_FaultPercentageAboveItsDenominator_Always()
    {
        var policy = FaultPolicyOf(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 14, Percentage = Percent(250) } });

        Assert.Equal(1_000_000u, policy.Abort?.PerMillion);
    }

    [Fact]
    public void Decode_EmptyFault_InjectsNothing()
    {
        Assert.Equal(new Mesh.Client.Model.FaultPolicy(), FaultPolicyOf(new HTTPFault()));
    }

    [Fact]
    public void Decode_DisabledFaultFilter_ValidatedButInjectsNothing()
    {
        var update = Valid(RdsManager("route-a", FaultFilterOf(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 14, Percentage = Percent(100) } }, disabled: true), RouterFilter()));

        Assert.Same(XdsFaultOverrides.None, Assert.Single(update.FaultFilters).Policy);
        Assert.IsType<HTTPFault>(update.HttpFilters[0].Config);
    }

    [Fact]
    public void Decode_DisabledFaultFilterInvalid_Error()
    {
        Assert.Equal(
            "http_filters[0].typed_config.abort.grpc_status: invalid gRPC status code 40",
            Error(RdsManager("route-a", FaultFilterOf(new HTTPFault { Abort = new FaultAbort { GrpcStatus = 40 } }, disabled: true), RouterFilter())));
    }

    [Fact]
    public void Decode_DisabledRouter_Error()
    {
        var router = RouterFilter();
        router.Disabled = true;

        Assert.Equal("http_filters[0].disabled: the router filter \"envoy.filters.http.router\" cannot be disabled", Error(RdsManager("route-a", router)));
    }

    private static readonly (HTTPFault Config, string Message)[] InvalidFaultCases =
    [
        (new HTTPFault { Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { Percentage = Percent(5) } }, "delay: no delay set (expected fixed_delay or header_delay)"),
        (new HTTPFault { Abort = new FaultAbort { Percentage = Percent(5) } }, "abort: no error type set (expected http_status, grpc_status or header_abort)"),
        (new HTTPFault { Abort = new FaultAbort { GrpcStatus = 1, Percentage = Percent(5, (Envoy.Type.V3.FractionalPercent.Types.DenominatorType)7) } }, "abort.percentage.denominator: unknown denominator 7"),
        (
            new HTTPFault { Delay = new Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay { FixedDelay = new Duration { Seconds = -2 }, Percentage = Percent(5) } },
            "delay.fixed_delay.seconds: must be between 0 and 315576000000, found -2"),
    ];

    public static TheoryData<int> InvalidFaults => new(Enumerable.Range(0, InvalidFaultCases.Length));

    [Theory]
    [MemberData(nameof(InvalidFaults))]
    public void Decode_InvalidFault_Error(int index)
    {
        var (config, message) = InvalidFaultCases[index];

        Assert.Equal($"http_filters[0].typed_config.{message}", Error(RdsManager("route-a", FaultFilterOf(config), RouterFilter())));
    }

    [Fact]
    public void Decode_FaultInTypedStruct_Mapped()
    {
        var faultJson = JsonParser.Default.Parse<Struct>("""{ "delay": { "headerDelay": {}, "percentage": { "numerator": 3 } }, "abort": { "httpStatus": 503, "percentage": { "numerator": 4 } } }""");
        var update = Valid(RdsManager(
            "route-a",
            new HttpFilter { Name = "fault", TypedConfig = TypedStruct("udpa", "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", faultJson) },
            RouterFilter()));

        var policy = Assert.Single(update.FaultFilters).Policy;
        Assert.Equal(new Mesh.Client.Model.FaultDelay { FromHeader = true, PerMillion = 30_000 }, policy.Delay);
        Assert.Equal(new Mesh.Client.Model.FaultAbort { HttpStatus = 503, PerMillion = 40_000 }, policy.Abort);
    }
}
