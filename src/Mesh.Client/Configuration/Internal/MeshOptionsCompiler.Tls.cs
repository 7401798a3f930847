using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;
using Mesh.Client.Security.Internal;

namespace Mesh.Client.Configuration.Internal;

// TLS: the certificate providers of Mesh:Tls and each service's Tls settings.
internal static partial class MeshOptionsCompiler
{
    /// <summary>
    /// Checks <c>Tls:CertificateProviders</c> and turns each into <c>file_watcher</c> settings. The files are
    /// not looked at: they may be written after start-up, and a missing file fails the calls that need it.
    /// </summary>
    private static Dictionary<string, FileWatcherSettings> CompileCertificateProviders(MeshOptions options, List<MeshConfigurationError> errors)
    {
        var result = new Dictionary<string, FileWatcherSettings>(StringComparer.Ordinal);
        foreach (var (name, provider) in options.Tls.CertificateProviders)
        {
            var path = $"{options.ConfigurationPath}:Tls:CertificateProviders:{name}";
            var count = errors.Count;
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add(new(path, name, "certificate provider name is empty"));
                continue;
            }

            string? File(string? value, string key)
            {
                if (value is not null && string.IsNullOrWhiteSpace(value))
                {
                    errors.Add(new($"{path}:{key}", value, "file path is empty"));
                    return null;
                }

                return value;
            }

            var certificate = File(provider.CertificateFile, "CertificateFile");
            var key = File(provider.PrivateKeyFile, "PrivateKeyFile");
            var ca = File(provider.CaCertificateFile, "CaCertificateFile");
            if (certificate is not null && key is null && provider.PrivateKeyFile is null)
            {
                errors.Add(new(path + ":CertificateFile", certificate, "PrivateKeyFile is not set; a certificate needs its private key (set both or neither)"));
            }
            else if (key is not null && certificate is null && provider.CertificateFile is null)
            {
                errors.Add(new(path + ":PrivateKeyFile", key, "CertificateFile is not set; a private key needs its certificate (set both or neither)"));
            }
            else if (provider.CertificateFile is null && provider.PrivateKeyFile is null && provider.CaCertificateFile is null)
            {
                errors.Add(new(path, null, "certificate provider has neither CertificateFile (with PrivateKeyFile) nor CaCertificateFile"));
            }

            if (provider.RefreshInterval is { } refresh && refresh <= TimeSpan.Zero)
            {
                errors.Add(new(path + ":RefreshInterval", refresh.ToString(), "must be positive"));
            }

            if (errors.Count == count)
            {
                result[name] = new FileWatcherSettings(certificate, key, ca, provider.RefreshInterval ?? FileWatcherSettings.DefaultRefreshInterval);
            }
        }

        return result;
    }

    private static MeshClusterTls CompileTls(MeshServiceTlsOptions tls, string path, MeshOptions options, List<MeshConfigurationError> errors)
    {
        var providers = options.Tls.CertificateProviders;
        var providersPath = options.ConfigurationPath + ":Tls:CertificateProviders";

        CertificateProviderReference? Reference(string? instance, string? certificateName, string key, string nameKey, bool roots)
        {
            if (instance is null)
            {
                if (certificateName is not null)
                {
                    errors.Add(new($"{path}:{nameKey}", certificateName, $"{nameKey} needs {key}"));
                }

                return null;
            }

            if (!providers.TryGetValue(instance, out var provider))
            {
                var known = providers.Count == 0 ? "none are configured" : "known: " + string.Join(", ", providers.Keys.Order(StringComparer.Ordinal));
                errors.Add(new($"{path}:{key}", instance, $"no certificate provider of this name in {providersPath} ({known})"));
                return null;
            }

            if (roots && provider.CaCertificateFile is null)
            {
                errors.Add(new($"{path}:{key}", instance, $"certificate provider '{instance}' has no CaCertificateFile to verify servers with"));
            }
            else if (!roots && provider.CertificateFile is null)
            {
                errors.Add(new($"{path}:{key}", instance, $"certificate provider '{instance}' has no CertificateFile to present"));
            }

            return new CertificateProviderReference(instance, certificateName ?? string.Empty);
        }

        var identity = Reference(tls.CertificateProvider, tls.CertificateName, "CertificateProvider", "CertificateName", roots: false);
        var rootsReference = Reference(tls.RootCertificateProvider, tls.RootCertificateName, "RootCertificateProvider", "RootCertificateName", roots: true);
        if (tls.RootCertificateProvider is null && !tls.UseSystemRoots)
        {
            errors.Add(new(path, null, "set RootCertificateProvider or UseSystemRoots: TLS must verify the server"));
        }
        else if (tls.RootCertificateProvider is not null && tls.UseSystemRoots)
        {
            errors.Add(new(path + ":UseSystemRoots", "true", "set RootCertificateProvider or UseSystemRoots, not both"));
        }

        if (tls.Sni is { } sni && (sni.Length == 0 || sni.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@' or ':')))
        {
            errors.Add(new(path + ":Sni", sni, "expected a host name"));
        }

        var names = new List<SubjectAltNameMatch>(tls.SubjectAltNames.Count);
        for (var i = 0; i < tls.SubjectAltNames.Count; i++)
        {
            if (CompileSubjectAltName(tls.SubjectAltNames[i], $"{path}:SubjectAltNames:{i}", errors) is { } match)
            {
                names.Add(match);
            }
        }

        return new MeshClusterTls
        {
            Identity = identity,
            Roots = rootsReference,
            UseSystemRoots = tls.UseSystemRoots,
            SubjectAltNames = names,
            Sni = tls.Sni,
        };
    }

    private static SubjectAltNameMatch? CompileSubjectAltName(MeshSubjectAltNameOptions options, string path, List<MeshConfigurationError> errors)
    {
        if (options is null)
        {
            errors.Add(new(path, null, "subject alternative name is missing"));
            return null;
        }

        var count = errors.Count;
        if (!Enum.IsDefined(options.Type))
        {
            errors.Add(new(path + ":Type", options.Type.ToString(), $"unknown subject alternative name type; expected one of {string.Join(", ", Enum.GetNames<SubjectAltNameType>())}"));
        }

        var kinds = new (StringMatchKind Kind, string? Value)[]
        {
            (StringMatchKind.Exact, options.Exact),
            (StringMatchKind.Prefix, options.Prefix),
            (StringMatchKind.Suffix, options.Suffix),
            (StringMatchKind.Contains, options.Contains),
            (StringMatchKind.Regex, options.Regex),
        }.Where(k => k.Value is not null).ToArray();
        if (kinds.Length != 1)
        {
            var found = kinds.Length == 0 ? "none is set" : "found " + string.Join(" and ", kinds.Select(k => k.Kind));
            errors.Add(new(path, null, $"set exactly one of Exact, Prefix, Suffix, Contains and Regex; {found}"));
            return null;
        }

        var (kind, value) = kinds[0];
        if (value!.Length == 0)
        {
            errors.Add(new(path, value, "subject alternative name is empty"));
        }
        else if (kind == StringMatchKind.Regex)
        {
            if (RegexFactory.Validate(value) is { } regexError)
            {
                errors.Add(new(path + ":Regex", value, "invalid regular expression: " + regexError));
            }

            if (options.IgnoreCase)
            {
                errors.Add(new(path + ":IgnoreCase", "true", "IgnoreCase does not apply to Regex; write (?i) in the pattern"));
            }
        }

        return errors.Count > count ? null : new SubjectAltNameMatch { Type = options.Type, Kind = kind, Value = value, IgnoreCase = options.IgnoreCase };
    }
}
