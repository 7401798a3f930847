using System.Globalization;
using System.Text.Json;
using Mesh.Client.Model;

namespace Mesh.Client.Xds.Internal;

/// <summary>
/// Parses gRPC's xDS bootstrap JSON. Unknown fields are ignored (so that newer bootstraps keep working);
/// a field of the wrong type, a missing required field or an unusable value is an error that names the
/// field's path, e.g. <c>xds_servers[0].channel_creds: no supported type among ["google_default"]</c>.
/// </summary>
internal static class XdsBootstrapParser
{
    public static readonly string[] SupportedChannelCredentials = ["insecure", "tls"];

    public static XdsBootstrap Parse(string json, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new XdsBootstrapException($"xDS bootstrap ({origin}): not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            Expect(root, JsonValueKind.Object, "(root)", origin);
            var servers = root.TryGetProperty("xds_servers", out var serversElement)
                ? ParseServers(serversElement, "xds_servers", origin)
                : [];
            var authorities = root.TryGetProperty("authorities", out var authoritiesElement)
                ? ParseAuthorities(authoritiesElement, origin)
                : new Dictionary<string, XdsAuthority>();
            if (servers.Count == 0)
            {
                throw new XdsBootstrapException($"xDS bootstrap ({origin}): xds_servers: at least one server is required");
            }

            return new XdsBootstrap
            {
                XdsServers = servers,
                Node = root.TryGetProperty("node", out var node) ? ParseNode(node, origin) : new XdsNode(),
                CertificateProviders = root.TryGetProperty("certificate_providers", out var providers)
                    ? ParseCertificateProviders(providers, origin)
                    : new Dictionary<string, CertificateProviderConfig>(),
                ClientDefaultListenerResourceNameTemplate = OptionalString(root, "client_default_listener_resource_name_template", "client_default_listener_resource_name_template", origin) ?? "%s",
                ServerListenerResourceNameTemplate = OptionalString(root, "server_listener_resource_name_template", "server_listener_resource_name_template", origin),
                Authorities = authorities,
                Origin = origin,
            };
        }
    }

    private static List<XdsServerConfig> ParseServers(JsonElement element, string path, string origin)
    {
        Expect(element, JsonValueKind.Array, path, origin);
        var servers = new List<XdsServerConfig>();
        var index = 0;
        foreach (var server in element.EnumerateArray())
        {
            var serverPath = $"{path}[{index++}]";
            Expect(server, JsonValueKind.Object, serverPath, origin);
            var uri = OptionalString(server, "server_uri", serverPath + ".server_uri", origin);
            if (string.IsNullOrWhiteSpace(uri))
            {
                throw new XdsBootstrapException($"xDS bootstrap ({origin}): {serverPath}.server_uri: required");
            }

            var features = new List<string>();
            if (server.TryGetProperty("server_features", out var featuresElement))
            {
                Expect(featuresElement, JsonValueKind.Array, serverPath + ".server_features", origin);
                var f = 0;
                foreach (var feature in featuresElement.EnumerateArray())
                {
                    Expect(feature, JsonValueKind.String, $"{serverPath}.server_features[{f++}]", origin);
                    features.Add(feature.GetString()!);
                }
            }

            servers.Add(new XdsServerConfig
            {
                ServerUri = uri,
                ChannelCredentials = ParseChannelCredentials(server, serverPath, origin),
                ServerFeatures = features,
            });
        }

        return servers;
    }

    private static XdsChannelCredentials ParseChannelCredentials(JsonElement server, string serverPath, string origin)
    {
        var path = serverPath + ".channel_creds";
        if (!server.TryGetProperty("channel_creds", out var creds))
        {
            throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}: required");
        }

        Expect(creds, JsonValueKind.Array, path, origin);
        var seen = new List<string>();
        var index = 0;
        foreach (var cred in creds.EnumerateArray())
        {
            var credPath = $"{path}[{index++}]";
            Expect(cred, JsonValueKind.Object, credPath, origin);
            var type = OptionalString(cred, "type", credPath + ".type", origin);
            if (type is null)
            {
                throw new XdsBootstrapException($"xDS bootstrap ({origin}): {credPath}.type: required");
            }

            seen.Add(type);
            if (!SupportedChannelCredentials.Contains(type))
            {
                // gRPC takes the first type it supports and skips the others.
                continue;
            }

            if (type == "insecure")
            {
                return XdsChannelCredentials.Insecure;
            }

            var config = cred.TryGetProperty("config", out var c) ? c : default;
            if (config.ValueKind is not JsonValueKind.Undefined and not JsonValueKind.Null)
            {
                Expect(config, JsonValueKind.Object, credPath + ".config", origin);
            }

            var hasConfig = config.ValueKind == JsonValueKind.Object;
            var certificate = hasConfig ? OptionalString(config, "certificate_file", credPath + ".config.certificate_file", origin) : null;
            var key = hasConfig ? OptionalString(config, "private_key_file", credPath + ".config.private_key_file", origin) : null;
            if ((certificate is null) != (key is null))
            {
                throw new XdsBootstrapException($"xDS bootstrap ({origin}): {credPath}.config: certificate_file and private_key_file must be given together");
            }

            return new XdsChannelCredentials
            {
                Type = "tls",
                CaCertificateFile = hasConfig ? OptionalString(config, "ca_certificate_file", credPath + ".config.ca_certificate_file", origin) : null,
                CertificateFile = certificate,
                PrivateKeyFile = key,
                RefreshInterval = hasConfig ? OptionalDuration(config, "refresh_interval", credPath + ".config.refresh_interval", origin) : null,
            };
        }

        throw new XdsBootstrapException(
            $"xDS bootstrap ({origin}): {path}: no supported type among [{string.Join(", ", seen.Select(s => $"\"{s}\""))}]; supported: {string.Join(", ", SupportedChannelCredentials)}");
    }

    private static XdsNode ParseNode(JsonElement node, string origin)
    {
        Expect(node, JsonValueKind.Object, "node", origin);
        LocalityName? locality = null;
        if (node.TryGetProperty("locality", out var loc))
        {
            Expect(loc, JsonValueKind.Object, "node.locality", origin);
            locality = new LocalityName(
                OptionalString(loc, "region", "node.locality.region", origin) ?? string.Empty,
                OptionalString(loc, "zone", "node.locality.zone", origin) ?? string.Empty,
                OptionalString(loc, "sub_zone", "node.locality.sub_zone", origin) ?? string.Empty);
        }

        JsonElement? metadata = null;
        if (node.TryGetProperty("metadata", out var meta))
        {
            Expect(meta, JsonValueKind.Object, "node.metadata", origin);
            metadata = meta.Clone();
        }

        return new XdsNode
        {
            Id = OptionalString(node, "id", "node.id", origin) ?? string.Empty,
            Cluster = OptionalString(node, "cluster", "node.cluster", origin) ?? string.Empty,
            Locality = locality,
            Metadata = metadata,
        };
    }

    private static Dictionary<string, CertificateProviderConfig> ParseCertificateProviders(JsonElement providers, string origin)
    {
        Expect(providers, JsonValueKind.Object, "certificate_providers", origin);
        var result = new Dictionary<string, CertificateProviderConfig>(StringComparer.Ordinal);
        foreach (var provider in providers.EnumerateObject())
        {
            var path = $"certificate_providers.{provider.Name}";
            Expect(provider.Value, JsonValueKind.Object, path, origin);
            var plugin = OptionalString(provider.Value, "plugin_name", path + ".plugin_name", origin)
                ?? throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}.plugin_name: required");
            JsonElement? config = null;
            if (provider.Value.TryGetProperty("config", out var c))
            {
                Expect(c, JsonValueKind.Object, path + ".config", origin);
                config = c.Clone();
            }

            FileWatcherCertificateProviderConfig? fileWatcher = null;
            if (plugin == "file_watcher")
            {
                if (config is not { } cfg)
                {
                    throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}.config: required for file_watcher");
                }

                var certificate = OptionalString(cfg, "certificate_file", path + ".config.certificate_file", origin);
                var key = OptionalString(cfg, "private_key_file", path + ".config.private_key_file", origin);
                var ca = OptionalString(cfg, "ca_certificate_file", path + ".config.ca_certificate_file", origin);
                if ((certificate is null) != (key is null))
                {
                    throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}.config: certificate_file and private_key_file must be given together");
                }

                if (certificate is null && ca is null)
                {
                    throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}.config: give certificate_file and private_key_file, ca_certificate_file, or both");
                }

                fileWatcher = new FileWatcherCertificateProviderConfig
                {
                    CertificateFile = certificate,
                    PrivateKeyFile = key,
                    CaCertificateFile = ca,
                    RefreshInterval = OptionalDuration(cfg, "refresh_interval", path + ".config.refresh_interval", origin) ?? TimeSpan.FromMinutes(10),
                };
            }

            result[provider.Name] = new CertificateProviderConfig { PluginName = plugin, Config = config, FileWatcher = fileWatcher };
        }

        return result;
    }

    private static Dictionary<string, XdsAuthority> ParseAuthorities(JsonElement authorities, string origin)
    {
        Expect(authorities, JsonValueKind.Object, "authorities", origin);
        var result = new Dictionary<string, XdsAuthority>(StringComparer.Ordinal);
        foreach (var authority in authorities.EnumerateObject())
        {
            var path = $"authorities.{authority.Name}";
            Expect(authority.Value, JsonValueKind.Object, path, origin);
            var template = OptionalString(authority.Value, "client_listener_resource_name_template", path + ".client_listener_resource_name_template", origin);
            if (template is not null && !template.StartsWith($"xdstp://{authority.Name}/", StringComparison.Ordinal))
            {
                throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}.client_listener_resource_name_template: must start with \"xdstp://{authority.Name}/\"");
            }

            result[authority.Name] = new XdsAuthority
            {
                ClientListenerResourceNameTemplate = template,
                XdsServers = authority.Value.TryGetProperty("xds_servers", out var servers) ? ParseServers(servers, path + ".xds_servers", origin) : [],
            };
        }

        return result;
    }

    private static string? OptionalString(JsonElement parent, string name, string path, string origin)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        Expect(value, JsonValueKind.String, path, origin);
        return value.GetString();
    }

    private static TimeSpan? OptionalDuration(JsonElement parent, string name, string path, string origin)
    {
        var text = OptionalString(parent, name, path, origin);
        if (text is null)
        {
            return null;
        }

        return TryParseDuration(text, out var duration)
            ? duration
            : throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}: \"{text}\" is not a duration such as \"600s\"");
    }

    /// <summary>Parses the JSON form of <c>google.protobuf.Duration</c>: seconds with up to nine decimals and an <c>s</c>.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length < 2 || text[^1] != 's' ||
            !decimal.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) ||
            seconds < 0 || seconds > 315_576_000_000m)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
        return true;
    }

    private static void Expect(JsonElement element, JsonValueKind kind, string path, string origin)
    {
        if (element.ValueKind != kind)
        {
            throw new XdsBootstrapException($"xDS bootstrap ({origin}): {path}: expected {Describe(kind)}, found {Describe(element.ValueKind)}");
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
