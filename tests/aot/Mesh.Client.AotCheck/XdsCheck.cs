using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Client.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Client.AotCheck;

/// <summary>
/// The mesh from an xDS control plane: the bootstrap path, an ADS stream over TLS to Mesh.Client.Testing's
/// in-process server, a Cluster whose load-balancing policy comes in a TypedStruct (the protobuf JSON path), a NACK
/// whose message names a proto enum value, HttpClient and gRPC calls, the config dump and CSDS.
/// </summary>
internal static class XdsCheck
{
    private const string Service = "catalog.aot.svc.cluster.local";
    private const string ClusterName = "catalog-cluster";

    public static async Task RunAsync(CheckLog log)
    {
        var directory = Directory.CreateTempSubdirectory("mesh-aot-check-xds-").FullName;
        try
        {
            await RunAsync(log, directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task RunAsync(CheckLog log, string directory)
    {
        using var ca = new TestCertificateAuthority("Mesh AOT check xDS CA");
        using var serverCertificate = ca.Issue(null, ["localhost"], ipAddresses: [IPAddress.Loopback]);
        var caFile = Path.Combine(directory, "xds-ca.pem");
        File.WriteAllText(caFile, ca.CertificatePem);

        await using var x = await Backend.StartAsync("backend-x");
        await using var y = await Backend.StartAsync("backend-y");
        await using var plane = await XdsTestServer.StartAsync(tls: new XdsTestServerTls { ServerCertificate = serverCertificate });
        var versions = plane.Update(set => set
            .Set(XdsResources.Listener(Service, "catalog-routes"))
            .Set(XdsResources.RouteConfiguration("catalog-routes", "*", ClusterName))
            .Set(RingHashCluster("XX_HASH"))
            .Set(XdsResources.ClusterLoadAssignment(ClusterName, x.Address, y.Address)));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = directory, Args = [] });
        builder.Logging.ClearProviders();
        builder.Configuration["Mesh:Xds:Bootstrap"] = plane.CreateBootstrapJson("aot-check", tlsCredentials: new XdsTestTlsCredentials(caFile));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddMesh();
        builder.Services.AddMeshClientStatus();
        builder.Services.AddHttpClient("catalog", h => h.BaseAddress = new Uri("http://" + Service));
        builder.Services.AddGrpcClient<Probe.ProbeClient>(o => o.Address = new Uri("xds:///" + Service));
        await using var app = builder.Build();
        app.MapMeshStatus("/mesh");
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        using var admin = new HttpClient { BaseAddress = new Uri(addresses[0]) };

        await log.RunAsync("xds: gRPC over xds:/// with a TypedStruct wrr_locality/ring_hash cluster", async () =>
        {
            var client = app.Services.GetRequiredService<Probe.ProbeClient>();
            var answers = new HashSet<string>();
            await Expect.EventuallyAsync(async () =>
            {
                answers.Add((await client.WhoAsync(new WhoRequest { Name = "aot" })).Backend);
                return answers.Count == 2;
            }, "gRPC calls on both backends");
            await plane.WaitForAckAsync(XdsTypeUrls.Cluster, versions[XdsTypeUrls.Cluster]);
            return "answered by " + string.Join(", ", answers.Order()) + "; Cluster ACKed";
        });

        await log.RunAsync("xds: HttpClient to a *.svc.cluster.local host", async () =>
        {
            var client = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("catalog");
            var answers = new HashSet<string>();
            await Expect.EventuallyAsync(async () =>
            {
                answers.Add((await client.GetStringAsync("/whoami")).Split(' ')[0]);
                return answers.Count == 2;
            }, "HttpClient requests on both backends");
            return "answered by " + string.Join(", ", answers.Order());
        });

        await log.RunAsync("xds: config dump shows the control plane and the TypedStruct's policy", async () =>
        {
            using var dump = JsonDocument.Parse(await admin.GetByteArrayAsync("/mesh/config_dump"));
            var root = dump.RootElement;
            var controlPlane = root.GetProperty("control_plane");
            Expect.That(controlPlane.GetProperty("connected").GetBoolean(), "control_plane.connected is false: " + controlPlane);

            // The version comes from the assembly's attributes, which trimming must keep.
            var userAgent = controlPlane.GetProperty("node").GetProperty("user_agent").GetString() ?? string.Empty;
            Expect.That(userAgent.StartsWith("Mesh.Client ", StringComparison.Ordinal) && userAgent.Length > "Mesh.Client ".Length && char.IsAsciiDigit(userAgent["Mesh.Client ".Length]),
                $"control_plane.node.user_agent is '{userAgent}', expected 'Mesh.Client <version>'");
            var cluster = root.GetProperty("clusters").EnumerateArray().Single(e => e.GetProperty("name").GetString() == ClusterName);
            Expect.That(cluster.GetProperty("lb_policy").GetString() == "ring_hash", "the cluster's lb_policy: " + cluster.GetProperty("lb_policy"));
            var statuses = root.GetProperty("xds_resources").EnumerateArray().Select(r => $"{r.GetProperty("type").GetString()} {r.GetProperty("status").GetString()}").ToList();
            Expect.That(statuses.Count == 4 && statuses.All(s => s.EndsWith(" ACKED", StringComparison.Ordinal)), "xds_resources: " + string.Join(", ", statuses));
            return $"connected as {userAgent}; {ClusterName} lb_policy ring_hash; {string.Join(", ", statuses)}";
        });

        await log.RunAsync("xds: a bad TypedStruct is NACKed naming the enum value", async () =>
        {
            var version = plane.SetResource(RingHashCluster("MURMUR_HASH_2"));
            var nack = await plane.WaitForNackAsync(XdsTypeUrls.Cluster, version);
            Expect.That(nack.ErrorMessage?.Contains("found MURMUR_HASH_2", StringComparison.Ordinal) == true, "the NACK says: " + nack.ErrorMessage);

            // The last good cluster stays in force.
            var reply = await app.Services.GetRequiredService<Probe.ProbeClient>().WhoAsync(new WhoRequest { Name = "after-nack" });
            return $"NACK: {nack.ErrorMessage}; calls still answered ({reply.Backend})";
        });

        await log.RunAsync("xds: CSDS (FetchClientStatus) over gRPC", async () =>
        {
            using var channel = GrpcChannel.ForAddress(addresses[1]);
            var fetch = new Method<byte[], byte[]>(
                MethodType.Unary, "envoy.service.status.v3.ClientStatusDiscoveryService", "FetchClientStatus", Bytes, Bytes);
            var response = await channel.CreateCallInvoker().AsyncUnaryCall(fetch, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), []);
            var text = Encoding.UTF8.GetString(response);
            Expect.That(text.Contains(ClusterName, StringComparison.Ordinal) && text.Contains("aot-check", StringComparison.Ordinal), "the ClientStatusResponse names neither the cluster nor the node");
            return $"{response.Length} bytes naming node aot-check and {ClusterName}";
        });

        await app.StopAsync();
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    /// <summary>
    /// <see cref="XdsResources.Cluster"/> with a <c>load_balancing_policy</c> of wrr_locality around ring_hash, given as
    /// an <c>xds.type.v3.TypedStruct</c>: a JSON-like value that the client reads through protobuf's JSON parser, with
    /// the child policy in an <c>Any</c> (<c>@type</c>) that the parser's type registry resolves, and an enum, a
    /// wrapper and repeated fields inside. The Envoy types are internal to Mesh.Client, so the outer fields are
    /// appended to the Cluster's encoding by number.
    /// </summary>
    private static Any RingHashCluster(string hashFunction)
    {
        var cluster = XdsResources.Cluster(ClusterName, http2: true);
        var ringHash = new Struct
        {
            Fields =
            {
                ["@type"] = Value.ForString("type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash"),
                ["minimumRingSize"] = Value.ForString("64"),
                ["hashFunction"] = Value.ForString(hashFunction),
            },
        };
        var child = new Struct { Fields = { ["name"] = Value.ForString("ring_hash"), ["typedConfig"] = Value.ForStruct(ringHash) } };
        var policies = new Struct { Fields = { ["policies"] = Value.ForList(Value.ForStruct(new Struct { Fields = { ["typedExtensionConfig"] = Value.ForStruct(child) } })) } };
        var wrrLocality = new Struct { Fields = { ["endpointPickingPolicy"] = Value.ForStruct(policies) } };
        var typedStruct = Concat(
            Field(1, "type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality"),
            Field(2, wrrLocality.ToByteString()));
        var typedConfig = new Any { TypeUrl = "type.googleapis.com/xds.type.v3.TypedStruct", Value = typedStruct };
        var extension = Concat(Field(1, "envoy.load_balancing_policies.wrr_locality"), Field(2, typedConfig.ToByteString()));

        // Cluster.load_balancing_policy = 41 { policies = 1 { typed_extension_config = 4 { name = 1, typed_config = 2 } } }
        var policy = Field(41, Field(1, Field(4, extension)));
        return new Any { TypeUrl = cluster.TypeUrl, Value = Concat(cluster.Value, policy) };
    }

    private static ByteString Field(int number, string value) => Field(number, ByteString.CopyFromUtf8(value));

    private static ByteString Field(int number, ByteString value)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(number, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(value);
        output.Flush();
        return ByteString.CopyFrom(buffer.ToArray());
    }

    private static ByteString Concat(params ByteString[] parts) => ByteString.CopyFrom(parts.SelectMany(p => p.ToByteArray()).ToArray());
}
