namespace Mesh.Client.Xds.Internal;

/// <summary>How a mesh name maps to the Listener the control plane is asked for (gRFCs A27, A47).</summary>
internal static class XdsTargets
{
    private const string AuthorityPrefix = "xds://";

    /// <summary>Splits <c>xds://authority/name</c>; a plain name has no authority.</summary>
    public static (string? Authority, string Name) Split(string target)
    {
        if (!target.StartsWith(AuthorityPrefix, StringComparison.Ordinal))
        {
            return (null, target);
        }

        var rest = target[AuthorityPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (rest, string.Empty) : (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>The name virtual hosts are matched against and calls carry as <c>:authority</c>: the name without the xDS authority.</summary>
    public static string DataPlaneAuthority(string target) => Split(target).Name;

    /// <summary>
    /// The Listener resource name of a target: the authority's template (or, for an authority without one,
    /// <c>xdstp://{authority}/envoy.config.listener.v3.Listener/%s</c>), else the bootstrap's default
    /// template; <c>%s</c> takes the name, percent-encoded when the template is an <c>xdstp:</c> name.
    /// </summary>
    /// <exception cref="InvalidOperationException">The authority is not in the bootstrap.</exception>
    public static string ListenerName(XdsBootstrap bootstrap, string target)
    {
        var (authority, name) = Split(target);
        if (name.StartsWith("xdstp:", StringComparison.Ordinal))
        {
            return name;
        }

        string template;
        if (authority is null)
        {
            template = bootstrap.ClientDefaultListenerResourceNameTemplate;
        }
        else if (bootstrap.Authorities.TryGetValue(authority, out var entry))
        {
            template = entry.ClientListenerResourceNameTemplate ?? $"xdstp://{authority}/envoy.config.listener.v3.Listener/%s";
        }
        else
        {
            throw new InvalidOperationException($"authority '{authority}' is not in the xDS bootstrap's authorities ({bootstrap.Origin})");
        }

        var value = template.StartsWith("xdstp:", StringComparison.Ordinal) ? Encode(name) : name;
        return template.Replace("%s", value, StringComparison.Ordinal);
    }

    // gRFC A47: the name is percent-encoded, except the characters a path segment may hold (':' among them).
    private static string Encode(string name) =>
        Uri.EscapeDataString(name).Replace("%3A", ":", StringComparison.Ordinal).Replace("%2F", "/", StringComparison.Ordinal);
}
