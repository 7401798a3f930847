using System.Globalization;
using Mesh.Client.Testing;
using Mesh.Client.Tests.TestInfrastructure;
using Mesh.Samples.Echo;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using YamlDotNet.RepresentationModel;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// Feeds the names derived from samples/kubernetes through the real client: an in-process control plane serves
/// what istiod would for the manifests (Listener <c>host:port</c>, route table <c>outbound|8080||host</c>, the
/// VirtualService's routes over the DestinationRule's subset clusters), and a host configured like the frontend
/// (<c>AddMesh()</c>, a bootstrap, no <c>Mesh:Xds:HttpHosts</c>) calls the frontend's <c>Backend__Address</c>.
/// Plaintext: the ISTIO_MUTUAL part is covered by the mTLS tests, not here.
/// </summary>
public sealed class KubernetesManifestMeshTests
{
    [Fact]
    public async Task MeshClient_BackendAddressOfTheFrontend_AsksForTheDerivedNamesAndFollowsTheVirtualService()
    {
        // Arrange: the names, from the manifests.
        var manifests = KubernetesManifests.Load();
        var frontend = manifests.Single("Deployment", KubernetesManifestTests.Namespace, "frontend", "the frontend");
        var address = new Uri(frontend.ContainerEnv("Backend__Address")!);
        var host = address.Host;
        var port = address.Port;
        var listener = $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
        var routeConfiguration = KubernetesNames.IstioRouteConfiguration(port, host);
        var virtualService = Assert.Single(manifests.OfKind("VirtualService"));
        var routes = virtualService.Items("spec", "http").Select((route, i) => ToXdsRoute(virtualService, route, i, port)).ToArray();
        var subsets = Assert.Single(manifests.OfKind("DestinationRule")).Items("spec", "subsets").Select(s => KubernetesObject.Scalar(s, "name")!).ToArray();

        // One local backend per subset, HTTP/1.1 as the Service's "http" port speaks.
        await using var server = await XdsTestServer.StartAsync();
        var backends = new Dictionary<string, EchoBackend>(StringComparer.Ordinal);
        try
        {
            foreach (var subset in subsets)
            {
                backends[subset] = await EchoBackend.StartAsync("backend-" + subset, protocols: HttpProtocols.Http1);
            }

            server.Update(set =>
            {
                set.Set(XdsResources.Listener(listener, routeConfiguration))
                    .Set(XdsResources.RouteConfiguration(routeConfiguration, listener, routes));
                foreach (var (subset, backend) in backends)
                {
                    var cluster = KubernetesNames.IstioCluster(port, subset, host);
                    set.Set(XdsResources.Cluster(cluster)).Set(XdsResources.ClusterLoadAssignment(cluster, backend.Address));
                }
            });

            // The frontend's configuration: only the bootstrap, as the grpc-agent template provides it.
            await using var client = await MeshHost.StartAsync(XdsMesh.AppSettings(server.CreateBootstrapJson("frontend")));
            var http = client.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

            // Act
            var canary = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/whoami"));
                request.Headers.Add("x-canary", "true");
                using var response = await http.SendAsync(request).DefaultTimeout("a canary request");
                canary.Add(await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync());
            }

            var plain = new List<string>();
            for (var i = 0; i < 200; i++)
            {
                plain.Add(await http.GetStringAsync(new Uri(address, "/whoami")).DefaultTimeout("a request"));
            }

            // Assert: the client asked for exactly the names the manifests give...
            var requests = server.Clients.SelectMany(c => c.Requests).ToArray();
            Assert.Equal([listener], requests.Where(r => r.TypeUrl == XdsTypeUrls.Listener).SelectMany(r => r.ResourceNames).Distinct());
            Assert.Contains(requests, r => r.TypeUrl == XdsTypeUrls.RouteConfiguration && r.ResourceNames.Contains(routeConfiguration));
            foreach (var subset in subsets)
            {
                Assert.Contains(requests, r => r.TypeUrl == XdsTypeUrls.Cluster && r.ResourceNames.Contains(KubernetesNames.IstioCluster(port, subset, host)));
            }

            // ...kept the authority for the backend's sidecar (the Host header names the Service)...
            Assert.All(canary, body => Assert.Equal($"backend-v2 {listener}", body));

            // ...and split the rest 90/10: v2 takes none of 200 with probability 0.9^200 = 7e-10, and as many as v1
            // (100 or more, 24 standard deviations above its mean of 20) practically never.
            var toV2 = plain.Count(b => b.StartsWith("backend-v2 ", StringComparison.Ordinal));
            var toV1 = plain.Count(b => b.StartsWith("backend-v1 ", StringComparison.Ordinal));
            Assert.Equal(plain.Count, toV1 + toV2);
            Assert.InRange(toV2, 1, toV1 - 1);
        }
        finally
        {
            foreach (var backend in backends.Values)
            {
                await backend.DisposeAsync();
            }
        }
    }

    /// <summary>One VirtualService <c>http</c> route as istiod writes it for a proxyless client (exact header matches only).</summary>
    private static XdsRoute ToXdsRoute(KubernetesObject virtualService, YamlMappingNode route, int index, int servicePort)
    {
        var field = $"spec.http[{index}]";
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var matches = KubernetesObject.Items(route, "match");
        virtualService.Expect(matches.Count <= 1, field + ".match", "at most one match (this translation handles one)", matches.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var match in matches)
        {
            if (KubernetesObject.Find(match, "headers") is YamlMappingNode headerMatches)
            {
                foreach (var (name, condition) in headerMatches.Children)
                {
                    var exact = KubernetesObject.Scalar(condition, "exact");
                    virtualService.Expect(exact is not null, $"{field}.match[0].headers.{name}", "an exact match (this translation handles only those)", null);
                    headers[((YamlScalarNode)name).Value!] = exact!;
                }
            }
        }

        var destinations = KubernetesObject.Items(route, "route").Select(d =>
        {
            var host = KubernetesNames.ResolveIstioHost(KubernetesObject.Scalar(d, "destination", "host")!, virtualService.Namespace);
            var port = int.Parse(KubernetesObject.Scalar(d, "destination", "port", "number") ?? servicePort.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            var cluster = KubernetesNames.IstioCluster(port, KubernetesObject.Scalar(d, "destination", "subset") ?? string.Empty, host);
            return (Cluster: cluster, Weight: uint.Parse(KubernetesObject.Scalar(d, "weight") ?? "100", CultureInfo.InvariantCulture));
        }).ToArray();

        var retryOn = KubernetesObject.Scalar(route, "retries", "retryOn");
        var attempts = KubernetesObject.Scalar(route, "retries", "attempts");
        return new XdsRoute
        {
            Name = KubernetesObject.Scalar(route, "name"),
            Headers = headers,
            Cluster = destinations.Length == 1 ? destinations[0].Cluster : null,
            WeightedClusters = destinations.Length > 1 ? destinations : [],
            Retry = retryOn is null ? null : new XdsRetryPolicy(retryOn, uint.Parse(attempts ?? "2", CultureInfo.InvariantCulture)),
        };
    }
}
