using Mesh.Client.Configuration;
using Mesh.Client.Security.Internal;
using Mesh.Client.Telemetry.Internal;
using Mesh.Client.Xds.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// The mesh's connection to the control plane the xDS bootstrap names (<c>GRPC_XDS_BOOTSTRAP</c>,
/// <c>GRPC_XDS_BOOTSTRAP_CONFIG</c> or <c>Mesh:Xds:Bootstrap</c>), if any: <see cref="Connect"/> registers the
/// bootstrap's certificate providers, makes the xDS client and its source, and starts it. Owned by the service
/// provider, which disposes it (and so the xDS client) with the mesh.
/// </summary>
internal sealed class MeshControlPlane : IAsyncDisposable, IDisposable
{
    private readonly IOptions<MeshOptions> _options;
    private readonly MeshTableStore _tables;
    private readonly CertificateProviderStore _certificates;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly MeshRandom _random;
    private readonly MeshMetrics _metrics;
    private readonly Lock _lock = new();
    private bool _connected;
    private XdsMeshSource? _source;

    public MeshControlPlane(
        IOptions<MeshOptions> options,
        MeshTableStore tables,
        CertificateProviderStore certificates,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        MeshRandom random,
        MeshMetrics metrics)
    {
        _options = options;
        _tables = tables;
        _certificates = certificates;
        _loggerFactory = loggerFactory;
        _time = time;
        _random = random;
        _metrics = metrics;
    }

    /// <summary>Where the mesh's options come from, for messages (<c>Mesh</c> unless configured otherwise).</summary>
    public string ConfigurationPath => _options.Value.ConfigurationPath;

    /// <summary>Connects to the control plane the bootstrap names; returns its source, or <see langword="null"/> without one. Connects once.</summary>
    public XdsMeshSource? Connect()
    {
        lock (_lock)
        {
            if (!_connected)
            {
                _source = Create();
                _connected = true;
            }

            return _source;
        }
    }

    public ValueTask DisposeAsync() => _source?.DisposeAsync() ?? ValueTask.CompletedTask;

    public void Dispose() => _source?.Dispose();

    private XdsMeshSource? Create()
    {
        var options = _options.Value;
        var bootstrap = XdsBootstrapLoader.Load(Environment.GetEnvironmentVariable, options.Xds.Bootstrap, options.ConfigurationPath + ":Xds:Bootstrap");
        if (bootstrap is null)
        {
            return null;
        }

        // The bootstrap's certificate providers (gRFC A29), which clusters' TLS settings from xDS name.
        foreach (var (name, provider) in bootstrap.CertificateProviders)
        {
            if (provider.FileWatcher is { } files)
            {
                _certificates.Register(name, new FileWatcherSettings(files.CertificateFile, files.PrivateKeyFile, files.CaCertificateFile, files.RefreshInterval));
            }
        }

        var client = new XdsClient(bootstrap, _loggerFactory, _time, _random, _metrics);
        IEnumerable<string> hosts = options.Xds.HttpHosts.Count > 0 ? options.Xds.HttpHosts : MeshXdsOptions.DefaultHttpHosts;
        var source = new XdsMeshSource(client, _tables, _time, hosts, options.Xds.ConfigWaitTimeout, _loggerFactory.CreateLogger<XdsMeshSource>());
        client.Start();
        return source;
    }
}
