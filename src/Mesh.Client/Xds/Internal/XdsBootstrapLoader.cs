namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Finds the bootstrap the way gRPC's xDS clients do, then falls back to the mesh configuration:
/// 1. <c>GRPC_XDS_BOOTSTRAP</c> — path of a bootstrap file (what Istio's <c>grpc-agent</c> template sets);
/// 2. <c>GRPC_XDS_BOOTSTRAP_CONFIG</c> — the bootstrap JSON itself;
/// 3. <c>Mesh:Xds:Bootstrap</c> — a file path, or the JSON itself when it starts with <c>{</c>.
/// The first one that is set wins; none set means no control plane.
/// </summary>
internal static class XdsBootstrapLoader
{
    public const string FileVariable = "GRPC_XDS_BOOTSTRAP";
    public const string ConfigVariable = "GRPC_XDS_BOOTSTRAP_CONFIG";

    public static XdsBootstrap? Load(Func<string, string?> environment, string? meshSetting, string meshSettingPath)
    {
        if (environment(FileVariable) is { Length: > 0 } file)
        {
            return ParseFile(file, $"{FileVariable}={file}");
        }

        if (environment(ConfigVariable) is { Length: > 0 } inline)
        {
            return XdsBootstrapParser.Parse(inline, ConfigVariable);
        }

        if (meshSetting is { Length: > 0 } setting)
        {
            return setting.TrimStart().StartsWith('{')
                ? XdsBootstrapParser.Parse(setting, meshSettingPath)
                : ParseFile(setting, $"{meshSettingPath}={setting}");
        }

        return null;
    }

    private static XdsBootstrap ParseFile(string path, string origin)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new XdsBootstrapException($"xDS bootstrap ({origin}): cannot read the file: {ex.Message}", ex);
        }

        return XdsBootstrapParser.Parse(json, origin);
    }
}
