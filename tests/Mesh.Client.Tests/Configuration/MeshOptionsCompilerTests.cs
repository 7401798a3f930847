using Mesh.Client.Configuration;
using Mesh.Client.Configuration.Internal;
using Mesh.Client.Model;
using Microsoft.Extensions.Configuration;

namespace Mesh.Client.Tests.Configuration;

public class MeshOptionsCompilerTests
{
    private static MeshCompilation Compile(string json, string section = "Mesh")
    {
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();
        var options = new MeshOptions();
        MeshConfigurationReader.Read(configuration.GetSection(section), options);
        return MeshOptionsCompiler.Compile(options, "test");
    }

    private static string Errors(string json) => string.Join("\n", Compile(json).Errors.Select(e => e.ToString()));

    [Fact]
    public void Compile_PortNotANumber_NamesPathAndValue()
    {
        var errors = Compile("""{ "Mesh": { "Services": { "catalog": { "Endpoints": [ "127.0.0.1:5001", "localhost:abc" ] } } } }""").Errors;

        var error = Assert.Single(errors);
        Assert.Equal("Mesh:Services:catalog:Endpoints:1 'localhost:abc': port is not a number", error.ToString());
    }

    [Theory]
    [InlineData("""{ "Endpoints": [ "localhost" ] }""", "Mesh:Services:svc:Endpoints:0 'localhost': missing port; expected host:port")]
    [InlineData("""{ "Endpoints": [ "localhost:70000" ] }""", "Mesh:Services:svc:Endpoints:0 'localhost:70000': port must be between 1 and 65535")]
    [InlineData("""{ "Endpoints": [ "" ] }""", "Mesh:Services:svc:Endpoints:0 '': address is empty; expected host:port")]
    [InlineData("""{ "Endpoints": [ "::1:80" ] }""", "Mesh:Services:svc:Endpoints:0 '::1:80': an IPv6 address must be in brackets, e.g. [::1]:5001")]
    [InlineData("""{ "Endpoints": [ { "Address": "a:1", "Weight": 0 } ] }""", "Mesh:Services:svc:Endpoints:0:Weight '0': weight must be 1 or more")]
    [InlineData("""{ "Endpoints": [ { "Address": "a:1", "Weight": "heavy" } ] }""", "Mesh:Services:svc:Endpoints:0:Weight 'heavy': not a whole number")]
    [InlineData("""{ "Endpoints": [ { "Address": "a:1", "Priority": -1 } ] }""", "Mesh:Services:svc:Endpoints:0:Priority '-1': priority must be 0 or more")]
    [InlineData("""{ "Endpoints": [ { "Address": "a:1", "Health": "sick" } ] }""", "Mesh:Services:svc:Endpoints:0:Health 'sick': unknown health")]
    [InlineData("""{ "Endpoints": [ "a:1", "A:1" ] }""", "Mesh:Services:svc:Endpoints:1 'A:1': duplicate endpoint; already listed at Endpoints:0")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": "fastest" }""", "Mesh:Services:svc:LoadBalancing 'fastest': unknown load-balancing policy; expected one of round_robin, least_request, random, ring_hash, maglev, pick_first")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": { "Policy": "least_requests" } }""", "Mesh:Services:svc:LoadBalancing:Policy 'least_requests': unknown load-balancing policy; expected one of round_robin, least_request, random, ring_hash, maglev, pick_first; did you mean 'least_request'?")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": "round_robbin" }""", "Mesh:Services:svc:LoadBalancing 'round_robbin': unknown load-balancing policy; expected one of round_robin, least_request, random, ring_hash, maglev, pick_first; did you mean 'round_robin'?")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": { "Policy": "least_request", "ChoiceCount": 1 } }""", "Mesh:Services:svc:LoadBalancing:ChoiceCount '1': choice count must be 2 or more")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": { "Policy": "ring_hash", "MinRingSize": 4096, "MaxRingSize": 1024 } }""", "Mesh:Services:svc:LoadBalancing:MinRingSize '4096': minimum ring size is larger than MaxRingSize (1024)")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": { "Policy": "ring_hash", "MaxRingSize": 9000000 } }""", "Mesh:Services:svc:LoadBalancing:MaxRingSize '9000000': ring size must be between 1 and 8388608")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "LoadBalancing": { "Policy": "maglev", "TableSize": 65536 } }""", "Mesh:Services:svc:LoadBalancing:TableSize '65536': table size must be a prime")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Protocol": "http3" }""", "Mesh:Services:svc:Protocol 'http3': expected one of Auto, Http1, Http2")]
    [InlineData("""{ "Endpionts": [ "a:1" ] }""", "Mesh:Services:svc:Endpionts: unknown setting 'Endpionts'; expected one of Hosts, Endpoints")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Endpionts": [ "a:1" ] }""", "; did you mean 'Endpoints'?")]
    [InlineData("""{ }""", "Mesh:Services:svc: service has neither Endpoints nor Routes")]
    [InlineData("""{ "Hosts": [ "svc:http" ], "Endpoints": [ "a:1" ] }""", "Mesh:Services:svc:Hosts:0 'svc:http': expected host or host:port")]
    [InlineData("""{ "Endpoints": [ { "Address": "a:1", "Zone": "z1" } ], "Localities": { "z2": { "Weight": 2 } } }""", "Mesh:Services:svc:Localities:z2: no endpoint of this service is in zone 'z2'")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Cluster": "nowhere" } ] }""", "Mesh:Services:svc:Routes:0:Cluster 'nowhere': no service named 'nowhere' in Mesh:Services")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "PathPrefix": "/a" } } ] }""", "Mesh:Services:svc:Routes:0: route has no destination; set Cluster, WeightedClusters or ClusterHeader")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Cluster": "svc", "WeightedClusters": { "svc": 1 } } ] }""", "Mesh:Services:svc:Routes:0: set one of Cluster, WeightedClusters and ClusterHeader")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "WeightedClusters": { "svc": 0 } } ] }""", "Mesh:Services:svc:Routes:0:WeightedClusters: the weights add up to 0")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "PathRegex": "/a(" }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match:PathRegex '/a(': invalid regular expression")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "Path": "/a", "PathPrefix": "/b" }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match: set at most one of PathPrefix, Path and PathRegex")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "Headers": { "x": { "Exact": "1", "Prefix": "2" } } }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match:Headers:x: set exactly one of Exact, Prefix, Suffix, Contains, Regex and Present")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "CaseSensitive": "maybe" }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match:CaseSensitive 'maybe': not true or false")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Timeout": "soon" }""", "Mesh:Services:svc:Timeout 'soon': not a duration")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Retry": { "RetryOn": "5xx,sometimes" } }""", "Mesh:Services:svc:Retry:RetryOn '5xx,sometimes': unknown condition 'sometimes'")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Retry": { "NumRetries": 11 } }""", "Mesh:Services:svc:Retry:NumRetries '11': must be between 0 and 10")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Retry": { "BaseInterval": "1s", "MaxInterval": "100ms" } }""", "Mesh:Services:svc:Retry:MaxInterval '00:00:00.1000000': must not be less than BaseInterval")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Retry": { "RetriableStatusCodes": [ 700 ] } }""", "Mesh:Services:svc:Retry:RetriableStatusCodes '700': must be an HTTP status between 100 and 599")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Retry": { "NumRetries": 1 }, "Hedging": { "Delay": "1s" } }""", "Mesh:Services:svc: set Retry or Hedging, not both")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Hedging": { "MaxHedgedAttempts": 0 } }""", "Mesh:Services:svc:Hedging:MaxHedgedAttempts '0': must be between 1 and 10")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Fault": { "Abort": { "HttpStatus": 700 } } }""", "Mesh:Services:svc:Fault:Abort:HttpStatus '700': must be between 200 and 599")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Fault": { "Abort": { "GrpcStatus": 17 } } }""", "Mesh:Services:svc:Fault:Abort:GrpcStatus '17': must be a gRPC status code between 0 and 16")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Fault": { "Delay": { "Percentage": 10 } } }""", "Mesh:Services:svc:Fault:Delay: set Fixed or FromHeader")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Fault": { "Delay": { "Fixed": "1s", "Percentage": 120 } } }""", "Mesh:Services:svc:Fault:Delay:Percentage '120': must be between 0 and 100")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "MaxRequests": 0 }""", "Mesh:Services:svc:MaxRequests '0': must be 1 or more")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "OutlierDetection": { "MaxEjectionPercent": 150 } }""", "Mesh:Services:svc:OutlierDetection:MaxEjectionPercent '150': must be between 0 and 100")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "OutlierDetection": { "Interval": "0s" } }""", "Mesh:Services:svc:OutlierDetection:Interval '00:00:00': must be positive")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Cluster": "svc", "ClusterHeader": "x-cluster" } ] }""", "Mesh:Services:svc:Routes:0: set one of Cluster, WeightedClusters and ClusterHeader")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "QueryParameters": { "q": { "Regex": "(" } } }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match:QueryParameters:q:Regex '(': invalid regular expression")]
    [InlineData("""{ "Endpoints": [ "a:1" ], "Routes": [ { "Match": { "Percentage": -1 }, "Cluster": "svc" } ] }""", "Mesh:Services:svc:Routes:0:Match:Percentage '-1': must be between 0 and 100")]
    public void Compile_InvalidValue_NamesPathValueAndProblem(string service, string expected)
    {
        var errors = Errors($$"""{ "Mesh": { "Services": { "svc": {{service}} } } }""");

        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_SeveralErrors_ReportsEveryOne()
    {
        var errors = Compile("""
            { "Mesh": { "Services": {
                "a": { "Endpoints": [ "x:1", "y:z" ], "LoadBalancing": "nope" },
                "b": { "Endpoints": [ { "Address": "q:2", "Weight": -3 } ] } } } }
            """).Errors.Select(e => e.Path).ToArray();

        Assert.Contains("Mesh:Services:a:Endpoints:1", errors);
        Assert.Contains("Mesh:Services:a:LoadBalancing", errors);
        Assert.Contains("Mesh:Services:b:Endpoints:0:Weight", errors);
    }

    [Fact]
    public void Compile_CustomSection_ErrorPathsStartWithSectionPath()
    {
        var errors = Compile("""{ "Platform": { "Mesh": { "Services": { "svc": { "Endpoints": [ "a:b" ] } } } } }""", "Platform:Mesh").Errors;

        Assert.Equal("Platform:Mesh:Services:svc:Endpoints:0 'a:b': port is not a number", Assert.Single(errors).ToString());
    }

    [Theory]
    [InlineData("\"RoundRobin\"", "round_robin")]
    [InlineData("\"round-robin\"", "round_robin")]
    [InlineData("{ \"Policy\": \"LeastRequest\", \"ChoiceCount\": 3 }", "least_request")]
    [InlineData("{ \"Policy\": \"RING_HASH\" }", "ring_hash")]
    [InlineData("\"PickFirst\"", "pick_first")]
    public void Compile_PolicyNameInAnotherSpelling_IsThatPolicy(string loadBalancing, string expected)
    {
        var result = Compile($$"""{ "Mesh": { "Services": { "svc": { "Endpoints": [ "a:1" ], "LoadBalancing": {{loadBalancing}} } } } }""");

        Assert.Empty(result.Errors);
        Assert.Equal(expected, result.Snapshot!.Clusters["svc"].LoadBalancing.Name);
    }

    [Fact]
    public void Compile_FullConfiguration_BuildsTheModel()
    {
        var result = Compile("""
            { "Mesh": { "Services": {
                "catalog": {
                  "Protocol": "Http2",
                  "LoadBalancing": { "Policy": "ring_hash", "HashHeader": "x-user", "MinRingSize": 2048 },
                  "Localities": { "z1": { "Weight": 3 } },
                  "Endpoints": [
                    "10.0.0.1:80",
                    { "Address": "10.0.0.2:80", "Weight": 5, "Zone": "z1", "Region": "r1", "HashKey": "two" },
                    { "Address": "[::1]:81", "Priority": 7, "Health": "DRAINING" }
                  ],
                  "Routes": [
                    { "Name": "beta", "Match": { "PathPrefix": "/v2", "Headers": { "x-beta": "true", "x-tier": { "Regex": "gold|silver" } } }, "WeightedClusters": { "catalog": 90, "catalog-v2": 10 } }
                  ]
                },
                "catalog-v2": { "Endpoints": [ "10.0.1.1:80" ] }
            } } }
            """);

        Assert.Empty(result.Errors);
        var snapshot = result.Snapshot!;
        var cluster = snapshot.Clusters["catalog"];
        Assert.Equal(UpstreamProtocol.Http2, cluster.Protocol);
        Assert.Equal(new RingHashPolicy { MinRingSize = 2048 }, cluster.LoadBalancing);

        // Priorities 0 and 7 are ranked into 0 and 1.
        Assert.Equal(2, cluster.Priorities.Count);
        var first = cluster.Priorities[0].Localities;
        Assert.Equal(2, first.Count);
        Assert.Equal(new LocalityName(), first[0].Name);
        Assert.Equal(1u, first[0].Weight);
        Assert.Equal(new LocalityName("r1", "z1"), first[1].Name);
        Assert.Equal(3u, first[1].Weight);
        Assert.Equal(new MeshEndpoint { Host = "10.0.0.2", Port = 80, Weight = 5, HashKey = "two" }, first[1].Endpoints[0]);
        var drained = cluster.Priorities[1].Localities[0].Endpoints[0];
        Assert.Equal(("::1", 81, EndpointHealth.Draining), (drained.Host, drained.Port, drained.Health));
        Assert.Equal("[::1]:81", drained.Address);

        var routes = snapshot.Services["catalog"].Routes;
        Assert.Equal(2, routes.Count);
        Assert.Equal("beta", routes[0].Name);
        Assert.Equal(new PathMatch(PathMatchKind.Prefix, "/v2"), routes[0].Match.Path);
        Assert.Equal(2, routes[0].Match.Headers.Count);
        Assert.Equal([new WeightedCluster("catalog", 90), new WeightedCluster("catalog-v2", 10)], routes[0].Clusters);
        Assert.Equal([new HashPolicy(HashPolicyKind.Header, "x-user")], routes[0].HashPolicies);

        // The service's own endpoints take what the explicit routes do not.
        Assert.Equal("default", routes[1].Name);
        Assert.Equal(RouteMatch.Any, routes[1].Match);
        Assert.Equal([new WeightedCluster("catalog")], routes[1].Clusters);
    }

    [Fact]
    public void Compile_TrafficPolicies_MapOntoTheModel()
    {
        var result = Compile("""
            { "Mesh": { "Services": {
                "catalog": {
                  "Endpoints": [ "10.0.0.1:80" ],
                  "MaxRequests": 50,
                  "Timeout": "2s",
                  "Retry": { "RetryOn": "5xx, reset, unavailable", "NumRetries": 3, "BaseInterval": "10ms", "MaxInterval": "100ms", "PerTryTimeout": "500ms", "RetriableStatusCodes": [ 409 ] },
                  "OutlierDetection": { "Interval": "1s", "BaseEjectionTime": "5s", "MaxEjectionPercent": 50, "FailurePercentage": { "Threshold": 60, "MinimumHosts": 2, "RequestVolume": 10 } },
                  "Routes": [
                    { "Name": "slow", "Match": { "PathPrefix": "/slow", "QueryParameters": { "debug": "1", "trace": { "Present": true } }, "Percentage": 12.5 },
                      "Cluster": "catalog", "Timeout": "10s", "HashCookie": "session",
                      "Hedging": { "MaxHedgedAttempts": 2, "Delay": "50ms" },
                      "Fault": { "Delay": { "Fixed": "100ms", "Percentage": 5 }, "Abort": { "HttpStatus": 503, "GrpcStatus": 14, "Percentage": 1.5 }, "MaxActiveFaults": 3 } },
                    { "Name": "by-header", "Match": { "PathPrefix": "/pick" }, "ClusterHeader": "x-cluster" }
                  ]
                } } } }
            """);

        Assert.Empty(result.Errors);
        var cluster = result.Snapshot!.Clusters["catalog"];
        Assert.Equal(50u, cluster.MaxRequests);
        Assert.Equal(new OutlierDetectionPolicy
        {
            Interval = TimeSpan.FromSeconds(1),
            BaseEjectionTime = TimeSpan.FromSeconds(5),
            MaxEjectionPercent = 50,
            FailurePercentage = new FailurePercentageEjection { Threshold = 60, MinimumHosts = 2, RequestVolume = 10 },
        }, cluster.OutlierDetection);

        var routes = result.Snapshot.Services["catalog"].Routes;
        var slow = routes[0];
        Assert.Equal(TimeSpan.FromSeconds(10), slow.Timeout);
        Assert.Null(slow.Retry);
        Assert.Equal(new HedgingPolicy { MaxHedgedAttempts = 2, Delay = TimeSpan.FromMilliseconds(50) }, slow.Hedging);
        Assert.Equal(125_000u, slow.Match.FractionPerMillion);
        Assert.Equal(
            [new QueryParameterMatch { Name = "debug", Kind = HeaderMatchKind.Exact, Value = "1" }, new QueryParameterMatch { Name = "trace", Kind = HeaderMatchKind.Present }],
            slow.Match.QueryParameters);
        Assert.Equal(new HashPolicy(HashPolicyKind.Cookie, "session"), slow.HashPolicies[0]);
        Assert.Equal(new FaultDelay { FixedDelay = TimeSpan.FromMilliseconds(100), PerMillion = 50_000 }, slow.Fault!.Delay);
        Assert.Equal(new FaultAbort { HttpStatus = 503, GrpcStatus = 14, PerMillion = 15_000 }, slow.Fault.Abort);
        Assert.Equal(3u, slow.Fault.MaxActiveFaults);

        var byHeader = routes[1];
        Assert.Equal("x-cluster", byHeader.ClusterHeader);
        Assert.Empty(byHeader.Clusters);
        Assert.Equal(TimeSpan.FromSeconds(2), byHeader.Timeout);
        var retry = byHeader.Retry!;
        Assert.Equal(RetryOn.Http5xx | RetryOn.Reset | RetryOn.Unavailable | RetryOn.RetriableStatusCodes, retry.RetryOn);
        Assert.Equal((3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500)), (retry.NumRetries, retry.BaseInterval, retry.MaxInterval, retry.PerTryTimeout));
        Assert.Equal([409], retry.RetriableStatusCodes);

        // The implicit default route takes the service's policies too.
        Assert.Equal("default", routes[2].Name);
        Assert.Equal(TimeSpan.FromSeconds(2), routes[2].Timeout);
        Assert.NotNull(routes[2].Retry);
    }

    [Theory]
    [InlineData("250ms", 0.25)]
    [InlineData("1.5s", 1.5)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("00:00:03", 3)]
    public void Durations_AcceptedForms(string text, double seconds)
    {
        Assert.True(MeshDurations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Fact]
    public void Compile_RouterServiceWithoutEndpoints_HasNoDefaultRoute()
    {
        var result = Compile("""
            { "Mesh": { "Services": {
                "shop": { "Routes": [ { "Match": { "PathPrefix": "/api" }, "Cluster": "api" } ] },
                "api": { "Endpoints": [ "10.0.0.1:80" ] } } } }
            """);

        Assert.Empty(result.Errors);
        Assert.Single(result.Snapshot!.Services["shop"].Routes);
        Assert.False(result.Snapshot.Clusters.ContainsKey("shop"));
    }

    [Fact]
    public void Compile_CodeConfiguredOptions_UseTheSameRules()
    {
        var options = new MeshOptions();
        options.Services["catalog"] = new MeshServiceOptions();
        options.Services["catalog"].Endpoints.Add(new MeshEndpointOptions { Address = "localhost:abc" });

        var error = Assert.Single(MeshOptionsCompiler.Compile(options, "1").Errors);

        Assert.Equal("Mesh:Services:catalog:Endpoints:0 'localhost:abc': port is not a number", error.ToString());
    }
}
