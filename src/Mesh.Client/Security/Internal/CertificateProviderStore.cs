using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Client.Security.Internal;

/// <summary>
/// One runtime's certificate provider instances by name (gRFC A29), from the xDS bootstrap and from
/// <c>Mesh:Tls:CertificateProviders</c>. Registering a name again with other settings replaces its
/// provider; with the same settings keeps it (and its loaded certificates).
/// </summary>
internal sealed class CertificateProviderStore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private Dictionary<string, FileWatcherCertificateProvider> _providers = new(StringComparer.Ordinal);

    public CertificateProviderStore(TimeProvider time, ILoggerFactory? loggerFactory = null)
    {
        _time = time;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <summary>Changes on every registration that changed a provider, so compiled TLS settings know to look again.</summary>
    public long Generation { get; private set; }

    /// <summary>Adds or updates the provider <paramref name="name"/>.</summary>
    public FileWatcherCertificateProvider Register(string name, FileWatcherSettings settings)
    {
        FileWatcherCertificateProvider? replaced = null;
        FileWatcherCertificateProvider provider;
        lock (_lock)
        {
            if (_providers.TryGetValue(name, out var existing) && existing.Settings == settings)
            {
                return existing;
            }

            provider = new FileWatcherCertificateProvider(name, settings, _time, _loggerFactory.CreateLogger<FileWatcherCertificateProvider>());
            var next = new Dictionary<string, FileWatcherCertificateProvider>(_providers, StringComparer.Ordinal) { [name] = provider };
            replaced = existing;
            Volatile.Write(ref _providers, next);
            Generation++;
        }

        replaced?.Dispose();
        return provider;
    }

    /// <summary>The provider named <paramref name="name"/>, if registered.</summary>
    public bool TryGet(string name, out FileWatcherCertificateProvider provider) =>
        Volatile.Read(ref _providers).TryGetValue(name, out provider!);

    /// <summary>The registered names, sorted, for messages.</summary>
    public IReadOnlyList<string> Names => [.. Volatile.Read(ref _providers).Keys.Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var provider in _providers.Values)
            {
                provider.Dispose();
            }

            _providers = new(StringComparer.Ordinal);
        }
    }
}
