using YamlDotNet.RepresentationModel;

namespace Mesh.Client.Tests.Samples;

/// <summary>
/// Every object of every YAML file in <c>samples/kubernetes</c>, parsed with YamlDotNet, with navigation that
/// names the file, the object and the field when something is missing or wrong.
/// </summary>
public sealed class KubernetesManifests
{
    /// <summary>The folder, relative to the repository root.</summary>
    public const string Folder = "samples/kubernetes";

    private KubernetesManifests(string root, IReadOnlyList<string> files, IReadOnlyList<KubernetesObject> objects)
    {
        Root = root;
        Files = files;
        Objects = objects;
    }

    /// <summary>The repository root.</summary>
    public string Root { get; }

    /// <summary>The YAML files, relative to the repository root, sorted.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Every document of every file, in file order.</summary>
    public IReadOnlyList<KubernetesObject> Objects { get; }

    /// <summary>Finds the repository root above the test's output folder and parses the manifests.</summary>
    /// <returns>The manifests.</returns>
    public static KubernetesManifests Load()
    {
        var root = FindRepositoryRoot();
        var folder = Path.Combine(root, Folder);
        Assert.True(Directory.Exists(folder), $"{Folder}: the folder does not exist under the repository root {root}");
        var files = Directory.EnumerateFiles(folder, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.True(files.Length > 0, $"{Folder}: no YAML files");

        var objects = new List<KubernetesObject>();
        foreach (var file in files)
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(Path.Combine(root, file)))
            {
                try
                {
                    stream.Load(reader);
                }
                catch (YamlDotNet.Core.YamlException ex)
                {
                    Assert.Fail($"{file}: not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}");
                }
            }

            for (var i = 0; i < stream.Documents.Count; i++)
            {
                var node = stream.Documents[i].RootNode;
                if (node is YamlScalarNode { Value: null or "" })
                {
                    continue; // an empty document, e.g. after a trailing "---"
                }

                Assert.True(node is YamlMappingNode, $"{file}: document {i + 1} is not a mapping (an object with apiVersion, kind, metadata)");
                objects.Add(new KubernetesObject(file, i + 1, (YamlMappingNode)node));
            }
        }

        return new KubernetesManifests(root, files, objects);
    }

    /// <summary>The objects of one kind.</summary>
    /// <param name="kind">The kind, e.g. <c>Deployment</c>.</param>
    /// <returns>The objects, in file order.</returns>
    public IEnumerable<KubernetesObject> OfKind(string kind) => Objects.Where(o => o.Kind == kind);

    /// <summary>The one object of <paramref name="kind"/> named <paramref name="name"/> in <paramref name="ns"/>; fails, listing what exists, when there is none.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="ns">The namespace.</param>
    /// <param name="name">The name.</param>
    /// <param name="why">Which reference needs it, for the failure message.</param>
    /// <returns>The object.</returns>
    public KubernetesObject Single(string kind, string ns, string name, string why)
    {
        var matches = Objects.Where(o => o.Kind == kind && o.Namespace == ns && o.Name == name).ToArray();
        var existing = string.Join(", ", OfKind(kind).Select(o => $"{o.Namespace}/{o.Name} ({o.File})"));
        Assert.True(matches.Length == 1, matches.Length == 0
            ? $"{why}: expected a {kind} {ns}/{name} in {Folder}; found {(existing.Length == 0 ? "no " + kind : existing)}"
            : $"{why}: {kind} {ns}/{name} is defined {matches.Length} times: {string.Join(", ", matches.Select(m => m.File))}");
        return matches[0];
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Mesh.Client.sln")))
            {
                return directory.FullName;
            }
        }

        Assert.Fail($"No Mesh.Client.sln above {AppContext.BaseDirectory}: the manifest tests read {Folder} from the repository and must run from its build output.");
        return string.Empty;
    }
}

/// <summary>One Kubernetes or Istio object: a YAML document with <c>apiVersion</c>, <c>kind</c> and <c>metadata</c>.</summary>
public sealed class KubernetesObject
{
    internal KubernetesObject(string file, int document, YamlMappingNode root)
    {
        File = file;
        Document = document;
        Node = root;
        Kind = Scalar("kind") ?? string.Empty;
        ApiVersion = Scalar("apiVersion") ?? string.Empty;
        Name = Scalar("metadata", "name") ?? string.Empty;
        Namespace = Scalar("metadata", "namespace") ?? string.Empty;
    }

    /// <summary>The file, relative to the repository root.</summary>
    public string File { get; }

    /// <summary>The document's position in its file, from 1.</summary>
    public int Document { get; }

    /// <summary>The document.</summary>
    public YamlMappingNode Node { get; }

    /// <summary><c>kind</c>.</summary>
    public string Kind { get; }

    /// <summary><c>apiVersion</c>.</summary>
    public string ApiVersion { get; }

    /// <summary><c>metadata.name</c>.</summary>
    public string Name { get; }

    /// <summary><c>metadata.namespace</c>; empty when not set.</summary>
    public string Namespace { get; }

    /// <summary>How failure messages name the object: file, kind, namespace/name.</summary>
    public override string ToString() =>
        $"{File}: {(Kind.Length > 0 ? Kind : $"document {Document}")}{(Name.Length > 0 ? " " + (Namespace.Length > 0 ? Namespace + "/" : string.Empty) + Name : string.Empty)}";

    /// <summary>The scalar at <paramref name="path"/> (mapping keys from the root); <see langword="null"/> when absent.</summary>
    /// <param name="path">The keys, e.g. <c>"spec", "host"</c>.</param>
    /// <returns>The value.</returns>
    public string? Scalar(params string[] path) => Scalar(Node, path);

    /// <summary>The mapping of scalars at <paramref name="path"/> (labels, annotations, selectors); empty when absent.</summary>
    /// <param name="path">The keys.</param>
    /// <returns>The entries.</returns>
    public IReadOnlyDictionary<string, string> Map(params string[] path) => Map(Node, path);

    /// <summary>The mappings of the sequence at <paramref name="path"/> (containers, ports, routes); empty when absent.</summary>
    /// <param name="path">The keys.</param>
    /// <returns>The items.</returns>
    public IReadOnlyList<YamlMappingNode> Items(params string[] path) => Items(Node, path);

    /// <summary>
    /// The value of the environment variable <paramref name="name"/> of a workload's only container
    /// (<c>spec.template.spec.containers[0].env</c>); fails, naming the object, when it is not there.
    /// </summary>
    /// <param name="name">The variable, e.g. <c>Backend__Address</c>.</param>
    /// <returns>Its <c>value</c>; <see langword="null"/> for a variable set from elsewhere (<c>valueFrom</c>).</returns>
    public string? ContainerEnv(string name)
    {
        var containers = Items("spec", "template", "spec", "containers");
        Expect(containers.Count == 1, "spec.template.spec.containers", "exactly one container", containers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var variable = Items(containers[0], "env").FirstOrDefault(e => Scalar(e, "name") == name);
        Expect(variable is not null, $"spec.template.spec.containers[0].env[{name}]", $"an environment variable {name}", null);
        return Scalar(variable!, "value");
    }

    /// <summary>The node at <paramref name="path"/> below <paramref name="node"/>; <see langword="null"/> when absent.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">The keys.</param>
    /// <returns>The node.</returns>
    public static YamlNode? Find(YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    /// <summary>The scalar at <paramref name="path"/> below <paramref name="node"/>.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">The keys.</param>
    /// <returns>The value; <see langword="null"/> when absent or not a scalar.</returns>
    public static string? Scalar(YamlNode node, params string[] path) => (Find(node, path) as YamlScalarNode)?.Value;

    /// <summary>The mapping of scalars at <paramref name="path"/> below <paramref name="node"/>.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">The keys.</param>
    /// <returns>The entries; empty when absent.</returns>
    public static IReadOnlyDictionary<string, string> Map(YamlNode node, params string[] path) =>
        Find(node, path) is YamlMappingNode mapping
            ? mapping.Children.Where(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? string.Empty, StringComparer.Ordinal)
            : new Dictionary<string, string>();

    /// <summary>The mappings of the sequence at <paramref name="path"/> below <paramref name="node"/>.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">The keys.</param>
    /// <returns>The items; empty when absent.</returns>
    public static IReadOnlyList<YamlMappingNode> Items(YamlNode node, params string[] path) =>
        Find(node, path) is YamlSequenceNode sequence ? [.. sequence.Children.OfType<YamlMappingNode>()] : [];

    /// <summary>Fails unless <paramref name="condition"/> holds, naming this object, the field and what was expected.</summary>
    /// <param name="condition">The check.</param>
    /// <param name="field">The field, e.g. <c>spec.trafficPolicy.tls.mode</c>.</param>
    /// <param name="expected">What the client needs there.</param>
    /// <param name="found">What the manifest has; <see langword="null"/> for a missing field.</param>
    public void Expect(bool condition, string field, string expected, string? found)
    {
        if (!condition)
        {
            Assert.Fail($"{this}: {field}: expected {expected}; found {(found is null ? "nothing (the field is missing)" : $"'{found}'")}");
        }
    }
}
