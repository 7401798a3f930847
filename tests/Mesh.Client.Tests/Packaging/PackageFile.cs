using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Xml.Linq;

namespace Mesh.Client.Tests.Packaging;

/// <summary>A .nupkg or .snupkg as NuGet reads it: its entries and its nuspec.</summary>
internal sealed class PackageFile
{
    private readonly Dictionary<string, byte[]> _entries;

    public PackageFile(string path)
    {
        Path = path;
        using var zip = ZipFile.OpenRead(path);
        _entries = zip.Entries.Where(e => !e.FullName.EndsWith('/')).ToDictionary(e => e.FullName, ReadAll, StringComparer.Ordinal);
        var nuspec = _entries.Keys.SingleOrDefault(k => !k.Contains('/') && k.EndsWith(".nuspec", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{path} has no nuspec at its root; entries: {string.Join(", ", _entries.Keys)}");
        NuspecName = nuspec;
        Nuspec = new NuspecDocument(XDocument.Parse(ReadText(nuspec)));
    }

    public string Path { get; }

    public IReadOnlyCollection<string> Entries => _entries.Keys;

    public string NuspecName { get; }

    public NuspecDocument Nuspec { get; }

    public byte[] Read(string entry) =>
        _entries.TryGetValue(entry, out var bytes) ? bytes : throw new InvalidOperationException($"{System.IO.Path.GetFileName(Path)} has no entry {entry}; it has {string.Join(", ", _entries.Keys)}");

    public string ReadText(string entry) => Encoding.UTF8.GetString(Read(entry)).TrimStart('\uFEFF');

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

/// <summary>The metadata of a nuspec, namespace-agnostic (NuGet writes several schema versions).</summary>
internal sealed class NuspecDocument(XDocument document)
{
    public XElement Metadata { get; } =
        document.Root?.Elements().SingleOrDefault(e => e.Name.LocalName == "metadata") ?? throw new InvalidOperationException("The nuspec has no <metadata>:\n" + document);

    public XElement? Element(string name) => Metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name);

    public string Value(string name) => Element(name)?.Value ?? throw new InvalidOperationException($"The nuspec has no <{name}>:\n{Metadata}");

    /// <summary>Every dependency of every group: id, version range as written, target framework.</summary>
    public IReadOnlyList<(string Id, string Version, string Group)> Dependencies =>
        [.. (Element("dependencies")?.Descendants() ?? [])
            .Where(e => e.Name.LocalName == "dependency")
            .Select(e => (
                (string?)e.Attribute("id") ?? string.Empty,
                (string?)e.Attribute("version") ?? string.Empty,
                (string?)e.Parent?.Attribute("targetFramework") ?? string.Empty))];

    public override string ToString() => Metadata.ToString();
}

/// <summary>What a portable PDB tells a debugger: its documents (paths, embedded or not) and its SourceLink map.</summary>
internal sealed class PortablePdb
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");
    private static readonly Guid EmbeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    public PortablePdb(byte[] pdb)
    {
        using var provider = MetadataReaderProvider.FromPortablePdbImage([.. pdb]);
        var reader = provider.GetMetadataReader();
        var embedded = new HashSet<DocumentHandle>();
        foreach (var handle in reader.CustomDebugInformation)
        {
            var information = reader.GetCustomDebugInformation(handle);
            var kind = reader.GetGuid(information.Kind);
            if (kind == SourceLinkKind)
            {
                SourceLinkJson = Encoding.UTF8.GetString(reader.GetBlobBytes(information.Value));
            }
            else if (kind == EmbeddedSourceKind && information.Parent.Kind == HandleKind.Document)
            {
                embedded.Add((DocumentHandle)information.Parent);
            }
        }

        Documents = [.. reader.Documents.Select(h => (reader.GetString(reader.GetDocument(h).Name), embedded.Contains(h)))];
    }

    /// <summary>The SourceLink JSON (<c>{"documents": {"/_/*": "https://…/*"}}</c>), or null when the PDB has none.</summary>
    public string? SourceLinkJson { get; }

    public IReadOnlyList<(string Path, bool Embedded)> Documents { get; }
}

/// <summary>Attributes of an assembly read from its bytes, without loading it.</summary>
internal static class AssemblyAttributes
{
    /// <summary>The assembly's <c>AssemblyInformationalVersionAttribute</c> value (version+commit), or null.</summary>
    public static string? InformationalVersion(byte[] assembly)
    {
        using var pe = new PEReader(new MemoryStream(assembly));
        var reader = pe.GetMetadataReader();
        foreach (var handle in reader.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = reader.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference)
            {
                continue;
            }

            var constructor = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
            if (constructor.Parent.Kind == HandleKind.TypeReference
                && reader.GetString(reader.GetTypeReference((TypeReferenceHandle)constructor.Parent).Name) == "AssemblyInformationalVersionAttribute")
            {
                var blob = reader.GetBlobReader(attribute.Value);
                blob.ReadUInt16(); // prolog 0x0001
                return blob.ReadSerializedString();
            }
        }

        return null;
    }
}
