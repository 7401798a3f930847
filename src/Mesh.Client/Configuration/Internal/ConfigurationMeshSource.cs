using System.Globalization;
using Mesh.Client.Runtime.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Mesh.Client.Configuration.Internal;

/// <summary>
/// The appsettings.json source: builds a snapshot from <see cref="MeshOptions"/> at start and again on
/// every configuration reload, registering its certificate providers in the runtime's store first. An
/// invalid reload is logged and changes nothing: the last good configuration stays in force.
/// </summary>
internal sealed partial class ConfigurationMeshSource : IDisposable
{
    private readonly IOptionsFactory<MeshOptions> _factory;
    private readonly IOptionsChangeTokenSource<MeshOptions>[] _tokenSources;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _registrations = [];
    private readonly Lock _lock = new();
    private MeshRuntime? _runtime;
    private int _version;

    public ConfigurationMeshSource(
        IOptionsFactory<MeshOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<MeshOptions>> tokenSources,
        ILogger<ConfigurationMeshSource> logger)
    {
        _factory = factory;
        _tokenSources = [.. tokenSources.Where(s => s.Name == Options.DefaultName)];
        _logger = logger;
    }

    /// <summary>Publishes the configured mesh into <paramref name="runtime"/> and follows reloads.</summary>
    /// <exception cref="OptionsValidationException">The configuration is invalid.</exception>
    public void Start(MeshRuntime runtime)
    {
        lock (_lock)
        {
            if (_runtime is not null)
            {
                return;
            }

            Load(runtime);
            _runtime = runtime;
            foreach (var source in _tokenSources)
            {
                _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }
    }

    /// <summary>
    /// Warns, once at start, when the mesh has nothing to do: no services in configuration and no control plane.
    /// Requests then pass through to DNS, which rarely knows mesh names, and the failure would not mention the mesh.
    /// </summary>
    public void WarnIfEmpty(MeshRuntime runtime, string configurationPath)
    {
        if (runtime.Discovery is null && runtime.Current.Services.Count == 0)
        {
            Log.MeshEmpty(_logger, configurationPath);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }

            _registrations.Clear();
        }
    }

    private void Load(MeshRuntime runtime)
    {
        // The factory runs the configuration reader and then validation, which throws
        // OptionsValidationException with every problem named.
        var options = _factory.Create(Options.DefaultName);
        var version = Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture);
        var compilation = MeshOptionsCompiler.Compile(options, version);
        if (compilation.Snapshot is null)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(MeshOptions), compilation.Errors.Select(e => e.ToString()));
        }

        // Providers first, so that no published cluster names a provider the store does not have yet. A
        // provider whose settings changed is replaced; one that is unchanged keeps its loaded certificates.
        foreach (var (name, settings) in compilation.CertificateProviders)
        {
            runtime.Certificates.Register(name, settings);
        }

        runtime.Tables.Publish(compilation.Snapshot);
        Log.ConfigurationApplied(_logger, version, compilation.Snapshot.Services.Count, compilation.Snapshot.Clusters.Count);
    }

    private void Reload()
    {
        lock (_lock)
        {
            if (_runtime is null)
            {
                return;
            }

            try
            {
                Load(_runtime);
            }
            catch (OptionsValidationException ex)
            {
                Log.ReloadRejected(_logger, string.Join("; ", ex.Failures));
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or IOException)
            {
                Log.ReloadFailed(_logger, ex);
            }
        }
    }
}
