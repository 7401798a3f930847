using Mesh.Client.Configuration.Internal;
using Mesh.Client.Resilience.Internal;
using Mesh.Client.Security.Internal;
using Mesh.Client.Telemetry.Internal;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// The mesh of one service provider: its table store, its sources (appsettings.json, the xDS control plane if
/// the bootstrap names one) and the parts both front doors share (certificate providers, the TLS transport, the
/// fault injector, metrics). Everything it holds it was given by its constructor or made itself; nothing is set
/// afterwards, and nothing is shared with another service provider's mesh.
/// </summary>
/// <remarks>
/// Made once per service provider, on first use (a request, a gRPC channel, the hosted service at start); making it
/// starts its sources, so that a host and a bare service provider alike get a mesh that has its configuration.
/// </remarks>
internal sealed class MeshRuntime : IDisposable
{
    private readonly CertificateProviderStore? _ownedCertificates;
    private FaultInjector? _faults;
    private MeshTlsHttpTransport? _tlsTransport;
    private volatile bool _standardResilienceInUse;

    /// <summary>A runtime without sources, whose tables the caller publishes (tests, benchmarks).</summary>
    public MeshRuntime(MeshRandom random)
        : this(random, TimeProvider.System)
    {
    }

    /// <summary>A runtime without sources, whose tables the caller publishes (tests, benchmarks).</summary>
    public MeshRuntime(MeshRandom random, TimeProvider time)
        : this(random, time, new CertificateProviderStore(time))
    {
    }

    /// <summary>
    /// The runtime <c>AddMesh()</c> composes: it publishes the configuration of <paramref name="configuration"/>,
    /// then connects <paramref name="controlPlane"/>, then warns when the mesh has nothing to do.
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The configuration is invalid.</exception>
    public MeshRuntime(
        MeshTableStore tables,
        CertificateProviderStore certificates,
        MeshMetrics metrics,
        MeshRandom random,
        TimeProvider time,
        ConfigurationMeshSource configuration,
        MeshControlPlane controlPlane)
    {
        Tables = tables;
        Certificates = certificates;
        Metrics = metrics;
        Random = random;
        Time = time;
        Metrics.Observe(() => Tables.Current.Clusters.Values);
        configuration.Start(this);
        Xds = controlPlane.Connect();
        configuration.WarnIfEmpty(this, controlPlane.ConfigurationPath);
    }

    private MeshRuntime(MeshRandom random, TimeProvider time, CertificateProviderStore certificates)
    {
        _ownedCertificates = certificates;
        Certificates = certificates;
        Tables = new MeshTableStore(new MeshTableCompiler(random, time, certificates, new MeshTlsNames()));
        Metrics = MeshMetrics.Unobserved;
        Random = random;
        Time = time;
    }

    /// <summary>The table store: the table in force, publication, subscriptions.</summary>
    public MeshTableStore Tables { get; }

    /// <summary>The table in force. One volatile read.</summary>
    public MeshTable Current => Tables.Current;

    public MeshRandom Random { get; }

    public TimeProvider Time { get; }

    /// <summary>The mesh's metrics, from the application's <c>IMeterFactory</c>.</summary>
    public MeshMetrics Metrics { get; }

    /// <summary>
    /// Certificate provider instances (gRFC A29) that clusters' TLS settings name: the xDS bootstrap's and
    /// those of <c>Mesh:Tls:CertificateProviders</c>.
    /// </summary>
    public CertificateProviderStore Certificates { get; }

    /// <summary>The xDS source, when the bootstrap names a control plane; <see langword="null"/> otherwise.</summary>
    public XdsMeshSource? Xds { get; }

    /// <summary>The dynamic source that looks names up on demand (the xDS client), if any.</summary>
    public IMeshDiscovery? Discovery => Xds;

    /// <summary>The runtime's fault injector: one, so that <c>max_active_faults</c> counts every faulted request.</summary>
    public FaultInjector Faults
    {
        get
        {
            var faults = Volatile.Read(ref _faults);
            return faults ?? Interlocked.CompareExchange(ref _faults, new FaultInjector(Random), null) ?? _faults!;
        }
    }

    /// <summary>The handler that carries HttpClient requests to TLS clusters (made on first use).</summary>
    public MeshTlsHttpTransport TlsTransport
    {
        get
        {
            var transport = Volatile.Read(ref _tlsTransport);
            if (transport is null)
            {
                var created = new MeshTlsHttpTransport();
                transport = Interlocked.CompareExchange(ref _tlsTransport, created, null) ?? created;
                if (!ReferenceEquals(transport, created))
                {
                    created.Dispose();
                }
            }

            return transport;
        }
    }

    /// <summary>
    /// Whether a client of this service provider has the standard resilience handler; only then do requests whose
    /// route retries say so (<c>HttpRoutePipeline.RetriedByMesh</c>), since setting a request option allocates.
    /// </summary>
    public bool StandardResilienceInUse => _standardResilienceInUse;

    /// <summary>Records that a client of this service provider has the standard resilience handler.</summary>
    public void MarkStandardResilienceInUse() => _standardResilienceInUse = true;

    /// <summary>
    /// Asks the dynamic source for <paramref name="name"/> and waits until the table knows it (a service,
    /// or a failure) or <paramref name="timeout"/> passes. Returns the table that knows it, or
    /// <see langword="null"/> on timeout.
    /// </summary>
    public Task<MeshTable?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Current.Knows(name))
        {
            Discovery?.Watch(name);
        }

        return Tables.WaitForNameAsync(name, timeout, cancellationToken);
    }

    /// <summary>A token that fires when the next table is published.</summary>
    public Microsoft.Extensions.Primitives.IChangeToken GetChangeToken() => Tables.GetChangeToken();

    /// <summary>Calls <paramref name="subscriber"/> with every table published from now on (see <see cref="MeshTableStore.Subscribe"/>).</summary>
    public IDisposable Subscribe(Action<MeshTable> subscriber) => Tables.Subscribe(subscriber);

    /// <summary>Disposes what the runtime made itself; the control plane and the certificate store belong to the service provider.</summary>
    public void Dispose()
    {
        _ownedCertificates?.Dispose();
        _tlsTransport?.Dispose();
    }
}
