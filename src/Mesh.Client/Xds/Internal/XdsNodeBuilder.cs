using System.Reflection;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Xds.Internal;

/// <summary>Builds the <c>Node</c> the client sends in the first request of each ADS stream.</summary>
internal static class XdsNodeBuilder
{
    public const string UserAgentName = "Mesh.Client";

    /// <summary>
    /// Client features announced to the server, as gRPC's clients announce them: no overprovisioning
    /// factor support, and acceptance of resources wrapped in <c>Resource</c> in state-of-the-world responses.
    /// </summary>
    public static readonly string[] ClientFeatures = ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"];

    public static string UserAgentVersion { get; } =
        typeof(XdsNodeBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(XdsNodeBuilder).Assembly.GetName().Version?.ToString()
        ?? "0";

    public static Node Build(XdsNode node)
    {
        var result = new Node
        {
            Id = node.Id,
            Cluster = node.Cluster,
            UserAgentName = UserAgentName,
            UserAgentVersion = UserAgentVersion,
        };
        result.ClientFeatures.AddRange(ClientFeatures);
        if (node.Locality is { } locality)
        {
            result.Locality = new Locality { Region = locality.Region, Zone = locality.Zone, SubZone = locality.SubZone };
        }

        if (node.Metadata is { ValueKind: JsonValueKind.Object } metadata)
        {
            result.Metadata = ToStruct(metadata);
        }

        return result;
    }

    private static Struct ToStruct(JsonElement element)
    {
        var result = new Struct();
        foreach (var property in element.EnumerateObject())
        {
            result.Fields[property.Name] = ToValue(property.Value);
        }

        return result;
    }

    private static Value ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => Value.ForStruct(ToStruct(element)),
        JsonValueKind.Array => Value.ForList([.. element.EnumerateArray().Select(ToValue)]),
        JsonValueKind.String => Value.ForString(element.GetString()!),
        JsonValueKind.Number => Value.ForNumber(element.GetDouble()),
        JsonValueKind.True => Value.ForBool(true),
        JsonValueKind.False => Value.ForBool(false),
        _ => Value.ForNull(),
    };
}
