using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Client.Configuration;
using YamlDotNet.RepresentationModel;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// Parses every YAML file of samples/kubernetes and checks that the names in them are the ones the frontend's mesh
/// client will ask istiod for, and that the objects refer to each other consistently. Nothing is applied: there
/// is no cluster here. <see cref="KubernetesManifestMeshTests"/> feeds the derived names through the real client.
/// </summary>
public sealed class KubernetesManifestTests
{
    public const string Namespace = "mesh-demo";
    public const string BackendHost = "backend.mesh-demo.svc.cluster.local";

    private readonly KubernetesManifests _manifests = KubernetesManifests.Load();

    [Fact]
    public void Manifests_EveryDocument_HasApiVersionKindNameAndTheSampleNamespace()
    {
        Assert.NotEmpty(_manifests.Objects);
        foreach (var o in _manifests.Objects.Where(o => o.Kind != "Kustomization"))
        {
            o.Expect(o.ApiVersion.Length > 0, "apiVersion", "an API version", null);
            o.Expect(o.Kind.Length > 0, "kind", "a kind", null);
            o.Expect(o.Name.Length > 0, "metadata.name", "a name", null);
            if (o.Kind != "Namespace")
            {
                o.Expect(o.Namespace == Namespace, "metadata.namespace", $"'{Namespace}' (every object of the sample lives there)", o.Namespace.Length == 0 ? null : o.Namespace);
            }
        }
    }

    [Fact]
    public void Kustomization_Resources_ListEveryOtherYamlFile()
    {
        var kustomization = Assert.Single(_manifests.OfKind("Kustomization"));
        var listed = ScalarItems(kustomization.Node, "resources").Select(r => NormalizePath(Path.GetDirectoryName(kustomization.File)!, r)).ToHashSet(StringComparer.Ordinal);
        var others = _manifests.Files.Where(f => f != kustomization.File).ToHashSet(StringComparer.Ordinal);

        kustomization.Expect(listed.SetEquals(others), "resources", $"every other file of {KubernetesManifests.Folder}: {string.Join(", ", others.Order())}", string.Join(", ", listed.Order()));
    }

    [Fact]
    public void Namespace_MeshDemo_IsLabelledForSidecarInjection()
    {
        var ns = _manifests.Single("Namespace", string.Empty, Namespace, "the sample's namespace");
        var labels = ns.Map("metadata", "labels");

        ns.Expect(
            labels.GetValueOrDefault("istio-injection") == "enabled" || labels.ContainsKey("istio.io/rev"),
            "metadata.labels",
            "istio-injection: enabled (or istio.io/rev), so that the backends get their sidecar and the frontend its agent",
            string.Join(", ", labels.Select(l => $"{l.Key}: {l.Value}")));
    }

    [Fact]
    public void FrontendBackendAddress_HostAndPort_IsAServicePortAndTheListenerTheClientAsksFor()
    {
        var frontend = Frontend();
        var address = frontend.ContainerEnv("Backend__Address");
        frontend.Expect(Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp, "env Backend__Address", "an absolute http:// URI", address);

        // The HttpClient door asks for the host as written, with the port unless it is the scheme's default.
        var listener = uri!.IsDefaultPort ? uri.Host : uri.Authority;
        var service = KubernetesNames.ParseServiceHost(uri.Host);
        frontend.Expect(service is not null, "env Backend__Address", $"a Service host <name>.<namespace>.{KubernetesNames.ClusterDomain}", uri.Host);
        var target = _manifests.Single("Service", service!.Value.Namespace, service.Value.Service, $"{frontend}: env Backend__Address '{address}'");
        var ports = target.Items("spec", "ports").Select(p => KubernetesObject.Scalar(p, "port")).ToArray();
        target.Expect(ports.Contains(uri.Port.ToString(CultureInfo.InvariantCulture)), "spec.ports[].port", $"{uri.Port} (the port of the frontend's Backend__Address)", string.Join(", ", ports));

        // istiod names the API listener of a service port host:port; the client subscribes to exactly that.
        Assert.Equal(BackendHost + ":8080", listener);

        // Without Mesh:Xds:HttpHosts the client looks up hosts that match the defaults: this one must.
        Assert.Contains(MeshXdsOptions.DefaultHttpHosts, pattern => GlobMatches(pattern, listener));
    }

    [Fact]
    public void Frontend_PodTemplate_HasTheProxylessAnnotationsAndBackendsKeepTheirSidecar()
    {
        var frontend = Frontend();
        var annotations = frontend.Map("spec", "template", "metadata", "annotations");
        const string field = "spec.template.metadata.annotations";

        frontend.Expect(annotations.GetValueOrDefault("inject.istio.io/templates") == "grpc-agent", field + "['inject.istio.io/templates']", "'grpc-agent' (Istio's agent, no Envoy)", annotations.GetValueOrDefault("inject.istio.io/templates"));
        var config = annotations.GetValueOrDefault("proxy.istio.io/config");
        var hold = false;
        try
        {
            hold = config is not null && JsonDocument.Parse(config).RootElement.TryGetProperty("holdApplicationUntilProxyStarts", out var value) && value.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
        }

        frontend.Expect(hold, field + "['proxy.istio.io/config']", "JSON with \"holdApplicationUntilProxyStarts\": true, so the app starts after the agent wrote the bootstrap", config);
        foreach (var backend in Backends())
        {
            var template = backend.Map("spec", "template", "metadata", "annotations").GetValueOrDefault("inject.istio.io/templates");
            backend.Expect(template is null or "sidecar", field + "['inject.istio.io/templates']", "no grpc-agent template: the backends keep the Envoy sidecar that terminates mTLS", template);
        }
    }

    [Fact]
    public void VirtualService_HostsAndDestinations_NameTheServiceItsPortAndDestinationRuleSubsets()
    {
        var virtualService = Assert.Single(_manifests.OfKind("VirtualService"));
        var hosts = ScalarItems(virtualService.Node, "spec", "hosts").Select(h => KubernetesNames.ResolveIstioHost(h, virtualService.Namespace)).ToArray();
        virtualService.Expect(hosts.Contains(BackendHost), "spec.hosts", $"'{BackendHost}' (the host the frontend calls)", string.Join(", ", hosts));

        var routes = virtualService.Items("spec", "http");
        virtualService.Expect(routes.Count > 0, "spec.http", "at least one route", null);
        for (var i = 0; i < routes.Count; i++)
        {
            var destinations = KubernetesObject.Items(routes[i], "route");
            var field = $"spec.http[{i}].route";
            virtualService.Expect(destinations.Count > 0, field, "at least one destination", null);
            var weights = destinations.Select(d => KubernetesObject.Scalar(d, "weight")).ToArray();
            if (destinations.Count > 1)
            {
                var sum = weights.Sum(w => int.TryParse(w, CultureInfo.InvariantCulture, out var n) ? n : 0);
                virtualService.Expect(sum == 100, field + "[].weight", "weights adding up to 100", string.Join(" + ", weights));
            }

            for (var j = 0; j < destinations.Count; j++)
            {
                var destinationField = $"{field}[{j}].destination";
                var host = KubernetesNames.ResolveIstioHost(KubernetesObject.Scalar(destinations[j], "destination", "host") ?? string.Empty, virtualService.Namespace);
                virtualService.Expect(host == BackendHost, destinationField + ".host", $"'{BackendHost}'", host);
                var port = KubernetesObject.Scalar(destinations[j], "destination", "port", "number");
                var ports = Backend().Items("spec", "ports").Select(p => KubernetesObject.Scalar(p, "port")).ToArray();
                virtualService.Expect(port is null || ports.Contains(port), destinationField + ".port.number", $"a port of Service {Namespace}/backend ({string.Join(", ", ports)})", port);
                var subset = KubernetesObject.Scalar(destinations[j], "destination", "subset");
                var subsets = Subsets().Keys.ToArray();
                virtualService.Expect(subset is null || subsets.Contains(subset), destinationField + ".subset", $"a subset of the DestinationRule for {BackendHost} ({string.Join(", ", subsets)})", subset);
            }
        }
    }

    [Fact]
    public void DestinationRule_Subsets_SelectExistingDeploymentsAndUseIstioMutual()
    {
        var rule = BackendDestinationRule();
        var mode = rule.Scalar("spec", "trafficPolicy", "tls", "mode");
        rule.Expect(mode == "ISTIO_MUTUAL", "spec.trafficPolicy.tls.mode", "'ISTIO_MUTUAL': a proxyless client gets no automatic mTLS, and the backends are STRICT", mode);

        var selector = Backend().Map("spec", "selector");
        var subsets = Subsets();
        rule.Expect(subsets.Count > 0, "spec.subsets", "subsets v1 and v2", null);
        foreach (var (name, labels) in subsets)
        {
            // A subset's endpoints are the Service's whose pods also carry the subset's labels.
            var wanted = selector.Concat(labels).ToArray();
            var selected = _manifests.OfKind("Deployment").Where(d => IsSubset(wanted, d.Map("spec", "template", "metadata", "labels"))).ToArray();
            rule.Expect(selected.Length > 0, $"spec.subsets[{name}].labels", $"a Deployment whose pods carry {string.Join(", ", wanted.Select(l => $"{l.Key}={l.Value}"))}", string.Join(", ", labels.Select(l => $"{l.Key}={l.Value}")));
        }
    }

    [Fact]
    public void IstioNames_DerivedFromManifests_AreTheClustersAndRoutesTheClientIsServed()
    {
        var port = int.Parse(Assert.Single(Backend().Items("spec", "ports").Select(p => KubernetesObject.Scalar(p, "port")!)), CultureInfo.InvariantCulture);
        var clusters = Subsets().Keys.Select(subset => KubernetesNames.IstioCluster(port, subset, BackendHost)).Order(StringComparer.Ordinal);

        Assert.Equal(["outbound|8080|v1|backend.mesh-demo.svc.cluster.local", "outbound|8080|v2|backend.mesh-demo.svc.cluster.local"], clusters);
        Assert.Equal("outbound|8080||backend.mesh-demo.svc.cluster.local", KubernetesNames.IstioRouteConfiguration(port, BackendHost));
    }

    [Fact]
    public void PeerAuthentication_Backends_AreStrict()
    {
        var backendLabels = Backends().Select(b => b.Map("spec", "template", "metadata", "labels")).ToArray();
        var strict = _manifests.OfKind("PeerAuthentication")
            .Where(p => p.Scalar("spec", "mtls", "mode") == "STRICT")
            .Where(p => backendLabels.All(labels => IsSubset(p.Map("spec", "selector", "matchLabels"), labels)))
            .ToArray();

        var all = string.Join("; ", _manifests.OfKind("PeerAuthentication").Select(p => $"{p}: mode {p.Scalar("spec", "mtls", "mode") ?? "(none)"}, selector {string.Join(",", p.Map("spec", "selector", "matchLabels").Select(l => $"{l.Key}={l.Value}"))}"));
        Assert.True(strict.Length > 0, $"{KubernetesManifests.Folder}: expected a PeerAuthentication with spec.mtls.mode STRICT selecting every backend pod; found {(all.Length == 0 ? "none" : all)}");
    }

    [Fact]
    public void Services_TargetPorts_MatchContainerPortsOfTheDeploymentsTheySelect()
    {
        foreach (var service in _manifests.OfKind("Service"))
        {
            var selector = service.Map("spec", "selector");
            var deployments = _manifests.OfKind("Deployment").Where(d => d.Namespace == service.Namespace && IsSubset(selector, d.Map("spec", "template", "metadata", "labels"))).ToArray();
            service.Expect(deployments.Length > 0, "spec.selector", "labels of at least one Deployment's pods", string.Join(", ", selector.Select(l => $"{l.Key}={l.Value}")));
            foreach (var port in service.Items("spec", "ports"))
            {
                var name = KubernetesObject.Scalar(port, "name") ?? KubernetesObject.Scalar(port, "port");
                var targetPort = KubernetesObject.Scalar(port, "targetPort") ?? KubernetesObject.Scalar(port, "port");
                foreach (var deployment in deployments)
                {
                    var containerPorts = deployment.Items("spec", "template", "spec", "containers").SelectMany(c => KubernetesObject.Items(c, "ports")).ToArray();
                    var matches = containerPorts.Any(p => KubernetesObject.Scalar(p, "containerPort") == targetPort || KubernetesObject.Scalar(p, "name") == targetPort);
                    service.Expect(matches, $"spec.ports[{name}].targetPort", $"a container port (number or name) of {deployment}: {string.Join(", ", containerPorts.Select(p => $"{KubernetesObject.Scalar(p, "name")}={KubernetesObject.Scalar(p, "containerPort")}"))}", targetPort);
                }
            }
        }
    }

    [Fact]
    public void Deployments_SelectorsServiceAccountsAndImages_AreConsistent()
    {
        var images = new Dictionary<string, string>(StringComparer.Ordinal) { ["frontend"] = "mesh-samples/frontend:0.1.0", ["backend"] = "mesh-samples/backend:0.1.0" };
        foreach (var deployment in _manifests.OfKind("Deployment"))
        {
            var selector = deployment.Map("spec", "selector", "matchLabels");
            var labels = deployment.Map("spec", "template", "metadata", "labels");
            deployment.Expect(selector.Count > 0 && IsSubset(selector, labels), "spec.selector.matchLabels", $"labels of its own pod template ({string.Join(", ", labels.Select(l => $"{l.Key}={l.Value}"))})", string.Join(", ", selector.Select(l => $"{l.Key}={l.Value}")));
            var account = deployment.Scalar("spec", "template", "spec", "serviceAccountName");
            if (account is not null)
            {
                _manifests.Single("ServiceAccount", deployment.Namespace, account, $"{deployment}: spec.template.spec.serviceAccountName");
            }

            var app = labels.GetValueOrDefault("app") ?? string.Empty;
            var image = KubernetesObject.Scalar(Assert.Single(deployment.Items("spec", "template", "spec", "containers")), "image");
            deployment.Expect(images.TryGetValue(app, out var expected) && image == expected, "spec.template.spec.containers[0].image", expected is null ? "app label frontend or backend" : $"'{expected}' (what dotnet publish -t:PublishContainer builds)", image);
        }

        foreach (var version in new[] { "v1", "v2" })
        {
            var deployment = _manifests.Single("Deployment", Namespace, "backend-" + version, "the backend's subset " + version);
            deployment.Expect(deployment.ContainerEnv("Backend__Version") == version, "env Backend__Version", $"'{version}'", deployment.ContainerEnv("Backend__Version"));
        }
    }

    private KubernetesObject Frontend() => _manifests.Single("Deployment", Namespace, "frontend", "the frontend");

    private KubernetesObject Backend() => _manifests.Single("Service", Namespace, "backend", "the backend");

    private IEnumerable<KubernetesObject> Backends() =>
        _manifests.OfKind("Deployment").Where(d => d.Map("spec", "template", "metadata", "labels").GetValueOrDefault("app") == "backend");

    private KubernetesObject BackendDestinationRule()
    {
        var rules = _manifests.OfKind("DestinationRule").Where(r => KubernetesNames.ResolveIstioHost(r.Scalar("spec", "host") ?? string.Empty, r.Namespace) == BackendHost).ToArray();
        Assert.True(rules.Length == 1, $"{KubernetesManifests.Folder}: expected one DestinationRule whose spec.host is {BackendHost}; found {rules.Length}: {string.Join(", ", rules.Select(r => r.ToString()))}");
        return rules[0];
    }

    private Dictionary<string, IReadOnlyDictionary<string, string>> Subsets() =>
        BackendDestinationRule().Items("spec", "subsets").ToDictionary(s => KubernetesObject.Scalar(s, "name") ?? string.Empty, s => KubernetesObject.Map(s, "labels"), StringComparer.Ordinal);

    private static IEnumerable<string> ScalarItems(YamlNode node, params string[] path) =>
        KubernetesObject.Find(node, path) is YamlSequenceNode sequence ? sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? string.Empty) : [];

    private static bool IsSubset(IEnumerable<KeyValuePair<string, string>> wanted, IReadOnlyDictionary<string, string> labels) =>
        wanted.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);

    private static string NormalizePath(string directory, string relative) =>
        Path.GetRelativePath(".", Path.Combine(directory, relative)).Replace('\\', '/');

    /// <summary><c>Mesh:Xds:HttpHosts</c> semantics: <c>*</c> is any run of characters, case ignored.</summary>
    private static bool GlobMatches(string pattern, string host) =>
        Regex.IsMatch(host, "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
