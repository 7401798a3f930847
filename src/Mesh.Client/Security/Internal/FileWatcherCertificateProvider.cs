using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Mesh.Client.Security.Internal;

/// <summary>What a <c>file_watcher</c> certificate provider reads (gRFC A29), from the bootstrap or from <c>Mesh:Tls</c>.</summary>
/// <param name="CertificateFile">PEM certificate chain, leaf first (Istio's <c>cert-chain.pem</c>).</param>
/// <param name="PrivateKeyFile">PEM private key of the leaf, RSA or ECDSA (Istio's <c>key.pem</c>).</param>
/// <param name="CaCertificateFile">PEM CA bundle that verifies peers (Istio's <c>root-cert.pem</c>).</param>
/// <param name="RefreshInterval">How often the files are read again.</param>
internal sealed record FileWatcherSettings(string? CertificateFile, string? PrivateKeyFile, string? CaCertificateFile, TimeSpan RefreshInterval)
{
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The certificates a provider holds at one moment: an identity (leaf with key, and the intermediates to
/// send with it) and roots, each either loaded or with the reason it is not.
/// </summary>
internal sealed class CertificateMaterial
{
    public static readonly CertificateMaterial Empty = new(null, null, null, null, null, 0);

    public CertificateMaterial(SslStreamIdentity? identity, string? identityError, X509Certificate2Collection? roots, string? rootsError, string? source, long version)
    {
        Identity = identity;
        IdentityError = identityError;
        Roots = roots;
        RootsError = rootsError;
        Source = source;
        Version = version;
    }

    /// <summary>The client identity; <see langword="null"/> when the provider has none or it could not be read (see <see cref="IdentityError"/>).</summary>
    public SslStreamIdentity? Identity { get; }

    public string? IdentityError { get; }

    public X509Certificate2Collection? Roots { get; }

    public string? RootsError { get; }

    public string? Source { get; }

    /// <summary>Increases with every load that changed what the provider holds.</summary>
    public long Version { get; }
}

/// <summary>A leaf certificate with its private key, the chain to send with it, and what logs may say of it.</summary>
internal sealed class SslStreamIdentity
{
    public SslStreamIdentity(X509Certificate2 leaf, X509Certificate2Collection intermediates)
    {
        Leaf = leaf;
        Intermediates = intermediates;
        Context = System.Net.Security.SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        NotAfter = leaf.NotAfter.ToUniversalTime();
        NotBefore = leaf.NotBefore.ToUniversalTime();
        Description = CertificateNames.Describe(leaf);
    }

    public X509Certificate2 Leaf { get; }

    public X509Certificate2Collection Intermediates { get; }

    public System.Net.Security.SslStreamCertificateContext Context { get; }

    public DateTime NotAfter { get; }

    public DateTime NotBefore { get; }

    /// <summary>Subject, SANs and validity: never key material.</summary>
    public string Description { get; }
}

/// <summary>
/// The <c>file_watcher</c> certificate provider: reads PEM files at start and again every refresh interval.
/// A read that fails keeps what the last good read gave (and logs why); a certificate that has expired
/// is reported as such when a connection asks for it, so a cluster that needs it fails closed.
/// </summary>
internal sealed partial class FileWatcherCertificateProvider : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _loadLock = new();
    private readonly ITimer? _timer;
    private CertificateMaterial _current = CertificateMaterial.Empty;
    private string? _identityStamp;
    private string? _rootsStamp;

    public FileWatcherCertificateProvider(string name, FileWatcherSettings settings, TimeProvider time, ILogger logger)
    {
        Name = name;
        Settings = settings;
        _time = time;
        _logger = logger;
        Reload();
        var interval = settings.RefreshInterval > TimeSpan.Zero ? settings.RefreshInterval : FileWatcherSettings.DefaultRefreshInterval;
        _timer = time.CreateTimer(static s => ((FileWatcherCertificateProvider)s!).Reload(), this, interval, interval);
    }

    public string Name { get; }

    public FileWatcherSettings Settings { get; }

    public bool HasIdentity => Settings.CertificateFile is not null;

    public bool HasRoots => Settings.CaCertificateFile is not null;

    /// <summary>What the provider holds now. One volatile read.</summary>
    public CertificateMaterial Current => Volatile.Read(ref _current);

    /// <summary>The identity to present now, or the reason there is none (missing, unreadable, expired, not yet valid).</summary>
    public SslStreamIdentity? GetIdentity(out string? error)
    {
        var current = Current;
        if (current.Identity is not { } identity)
        {
            error = current.IdentityError ?? $"certificate provider '{Name}' has no certificate_file";
            return null;
        }

        var now = _time.GetUtcNow().UtcDateTime;
        if (now > identity.NotAfter)
        {
            error = $"certificate provider '{Name}': the certificate in '{Settings.CertificateFile}' expired at {identity.NotAfter:u}";
            return null;
        }

        if (now < identity.NotBefore)
        {
            error = $"certificate provider '{Name}': the certificate in '{Settings.CertificateFile}' is not valid before {identity.NotBefore:u}";
            return null;
        }

        error = null;
        return identity;
    }

    /// <summary>The CA certificates to verify peers with now, or the reason there are none.</summary>
    public X509Certificate2Collection? GetRoots(out string? error)
    {
        var current = Current;
        error = current.Roots is null ? current.RootsError ?? $"certificate provider '{Name}' has no ca_certificate_file" : null;
        return current.Roots;
    }

    /// <summary>Reads the files again; keeps the last good certificates for any that cannot be read.</summary>
    public void Reload()
    {
        lock (_loadLock)
        {
            var previous = Current;
            var identity = previous.Identity;
            var identityError = previous.IdentityError;
            var roots = previous.Roots;
            var rootsError = previous.RootsError;
            var changed = false;

            if (Settings.CertificateFile is { } certificateFile)
            {
                var stamp = Stamp(certificateFile, Settings.PrivateKeyFile);
                if (stamp != _identityStamp || identity is null)
                {
                    try
                    {
                        var loaded = LoadIdentity(certificateFile, Settings.PrivateKeyFile!);
                        identity = loaded;
                        identityError = null;
                        _identityStamp = stamp;
                        changed = true;
                        Log.IdentityLoaded(_logger, Name, loaded.Description);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException)
                    {
                        var reason = Describe(ex, certificateFile, Settings.PrivateKeyFile!);
                        if (identity is null)
                        {
                            identityError = $"certificate provider '{Name}': {reason}";
                            changed = true;
                        }

                        Log.IdentityLoadFailed(_logger, Name, reason, identity is not null);
                    }
                }
            }

            if (Settings.CaCertificateFile is { } caFile)
            {
                var stamp = Stamp(caFile, null);
                if (stamp != _rootsStamp || roots is null)
                {
                    try
                    {
                        var loaded = LoadRoots(caFile);
                        roots = loaded;
                        rootsError = null;
                        _rootsStamp = stamp;
                        changed = true;
                        Log.RootsLoaded(_logger, Name, loaded.Count, string.Join("; ", loaded.Select(CertificateNames.Describe)));
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException)
                    {
                        var reason = Describe(ex, caFile, null);
                        if (roots is null)
                        {
                            rootsError = $"certificate provider '{Name}': {reason}";
                            changed = true;
                        }

                        Log.RootsLoadFailed(_logger, Name, reason, roots is not null);
                    }
                }
            }

            if (changed)
            {
                Volatile.Write(ref _current, new CertificateMaterial(identity, identityError, roots, rootsError, Name, previous.Version + 1));
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>Size and write time of the files: a rotation that rewrites them changes it.</summary>
    private static string? Stamp(string file, string? other)
    {
        try
        {
            var a = new FileInfo(file);
            var text = a.Exists ? $"{a.Length}@{a.LastWriteTimeUtc.Ticks}" : "-";
            if (other is not null)
            {
                var b = new FileInfo(other);
                text += b.Exists ? $"|{b.Length}@{b.LastWriteTimeUtc.Ticks}" : "|-";
            }

            return text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    internal static SslStreamIdentity LoadIdentity(string certificateFile, string keyFile)
    {
        if (!File.Exists(certificateFile))
        {
            throw new FileNotFoundException($"certificate file '{certificateFile}' does not exist", certificateFile);
        }

        if (!File.Exists(keyFile))
        {
            throw new FileNotFoundException($"private key file '{keyFile}' does not exist", keyFile);
        }

        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificateFile);
        if (chain.Count == 0)
        {
            throw new FormatException($"certificate file '{certificateFile}' holds no PEM certificate");
        }

        using var withKey = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        if (!withKey.HasPrivateKey)
        {
            throw new CryptographicException($"private key file '{keyFile}' holds no key for the certificate");
        }

        // Exported and imported once, so that SslStream can use the key on every platform.
        var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        chain[0].Dispose();
        return new SslStreamIdentity(leaf, intermediates);
    }

    internal static X509Certificate2Collection LoadRoots(string caFile)
    {
        if (!File.Exists(caFile))
        {
            throw new FileNotFoundException($"CA certificate file '{caFile}' does not exist", caFile);
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        if (roots.Count == 0)
        {
            throw new FormatException($"CA certificate file '{caFile}' holds no PEM certificate");
        }

        return roots;
    }

    /// <summary>Why a read failed, naming the file; the exception's own text never quotes key material.</summary>
    private static string Describe(Exception ex, string certificateFile, string? keyFile) => ex switch
    {
        FileNotFoundException or FormatException => ex.Message,
        CryptographicException when ex.Message.StartsWith("private key file", StringComparison.Ordinal) => ex.Message,
        CryptographicException when keyFile is not null => $"cannot read the certificate '{certificateFile}' with the private key '{keyFile}' (unreadable, or the key does not belong to the certificate): {ex.Message}",
        CryptographicException => $"cannot read the certificates in '{certificateFile}': {ex.Message}",
        UnauthorizedAccessException => $"no permission to read '{certificateFile}'{(keyFile is null ? "" : $" or '{keyFile}'")}",
        _ => $"cannot read '{certificateFile}'{(keyFile is null ? "" : $" or '{keyFile}'")}: {ex.Message}",
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Certificate provider '{Provider}' loaded its identity: {Certificate}.")]
        public static partial void IdentityLoaded(ILogger logger, string provider, string certificate);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Certificate provider '{Provider}' could not load its identity: {Reason}. Keeping the previous one: {KeptPrevious}.")]
        public static partial void IdentityLoadFailed(ILogger logger, string provider, string reason, bool keptPrevious);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Certificate provider '{Provider}' loaded {Count} CA certificates: {Certificates}.")]
        public static partial void RootsLoaded(ILogger logger, string provider, int count, string certificates);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Certificate provider '{Provider}' could not load its CA certificates: {Reason}. Keeping the previous ones: {KeptPrevious}.")]
        public static partial void RootsLoadFailed(ILogger logger, string provider, string reason, bool keptPrevious);
    }
}
