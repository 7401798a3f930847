using System.Diagnostics.Metrics;
using Mesh.Client.Xds.Internal;

namespace Mesh.Client.Telemetry.Internal;

/// <summary>
/// The xDS client's instruments, with gRFC A78's names, units and labels: <c>grpc.xds_client.connected</c>,
/// <c>server_failure</c>, <c>resource_updates_valid</c>, <c>resource_updates_invalid</c> and <c>resources</c>.
/// </summary>
internal sealed partial class MeshMetrics
{
    /// <summary>
    /// The <c>grpc.target</c> label of the xDS client's metrics. A78 labels them with the target of the channel
    /// that uses the XdsClient (one client per channel target since gRFC A71), and with <c>"#server"</c> for the
    /// XdsClient of an xDS-enabled server, which belongs to no channel. The mesh's client belongs to no channel
    /// either: it is one per process, shared by every HttpClient and gRPC channel. So it follows the
    /// <c>"#server"</c> convention with a name of its own, and dashboards can tell it from gRPC's clients.
    /// </summary>
    public const string XdsClientTarget = "#mesh";

    /// <summary>The <c>grpc.xds.authority</c> of resource names that are not <c>xdstp:</c> names (A78).</summary>
    public const string XdsOldAuthority = "#old";

    private const string TargetLabel = "grpc.target";
    private const string ServerLabel = "grpc.xds.server";
    private const string ResourceTypeLabel = "grpc.xds.resource_type";
    private const string AuthorityLabel = "grpc.xds.authority";
    private const string CacheStateLabel = "grpc.xds.cache_state";

    private readonly Lock _xdsClientsLock = new();
    private Func<XdsClientStatus>[] _xdsClients = [];

    /// <summary>Servers that went from healthy to unhealthy (gRFC A57's connectivity failures).</summary>
    public Counter<long> XdsServerFailures { get; private set; } = null!;

    /// <summary>Resources received that were valid, changed or not.</summary>
    public Counter<long> XdsValidResourceUpdates { get; private set; } = null!;

    /// <summary>Resources received that were invalid (and NACKed).</summary>
    public Counter<long> XdsInvalidResourceUpdates { get; private set; } = null!;

    partial void CreateXdsInstruments()
    {
        Meter.CreateObservableGauge(
            "grpc.xds_client.connected",
            ObserveConnected,
            "{bool}",
            "Whether the xDS client has a working ADS stream to the xDS server.");
        XdsServerFailures = Meter.CreateCounter<long>(
            "grpc.xds_client.server_failure",
            "{failure}",
            "xDS servers going from healthy to unhealthy: a connectivity failure, or an ADS stream that failed without a response.");
        XdsValidResourceUpdates = Meter.CreateCounter<long>(
            "grpc.xds_client.resource_updates_valid",
            "{resource}",
            "Resources received that were valid, changed or not.");
        XdsInvalidResourceUpdates = Meter.CreateCounter<long>(
            "grpc.xds_client.resource_updates_invalid",
            "{resource}",
            "Resources received that were invalid.");
        Meter.CreateObservableGauge(
            "grpc.xds_client.resources",
            ObserveResources,
            "{resource}",
            "xDS resources the client holds, by authority, cache state and type.");
    }

    /// <summary>Lets the observable instruments read an xDS client's state until the returned object is disposed.</summary>
    public IDisposable ObserveXdsClient(Func<XdsClientStatus> status)
    {
        lock (_xdsClientsLock)
        {
            _xdsClients = [.. _xdsClients, status];
        }

        return new XdsClientRegistration(this, status);
    }

    /// <summary>Counts the resources of one response (A78 counts resources, not responses).</summary>
    public void RecordXdsResourceUpdates(string server, string typeUrl, int valid, int invalid)
    {
        var type = XdsResourceTypeLabel(typeUrl);
        if (valid > 0 && XdsValidResourceUpdates.Enabled)
        {
            XdsValidResourceUpdates.Add(valid, new(TargetLabel, XdsClientTarget), new(ServerLabel, server), new(ResourceTypeLabel, type));
        }

        if (invalid > 0 && XdsInvalidResourceUpdates.Enabled)
        {
            XdsInvalidResourceUpdates.Add(invalid, new(TargetLabel, XdsClientTarget), new(ServerLabel, server), new(ResourceTypeLabel, type));
        }
    }

    /// <summary>Counts a server going from healthy to unhealthy.</summary>
    public void RecordXdsServerFailure(string server)
    {
        if (XdsServerFailures.Enabled)
        {
            XdsServerFailures.Add(1, new(TargetLabel, XdsClientTarget), new(ServerLabel, server));
        }
    }

    /// <summary>A78's resource type label: the type URL without its <c>type.googleapis.com/</c> prefix.</summary>
    internal static string XdsResourceTypeLabel(string typeUrl)
    {
        var slash = typeUrl.LastIndexOf('/');
        return slash < 0 ? typeUrl : typeUrl[(slash + 1)..];
    }

    /// <summary>A78's cache state label.</summary>
    internal static string XdsCacheStateLabel(XdsCacheState state) => state switch
    {
        XdsCacheState.Requested => "requested",
        XdsCacheState.DoesNotExist => "does_not_exist",
        XdsCacheState.Acked => "acked",
        XdsCacheState.Nacked => "nacked",
        _ => "nacked_but_cached",
    };

    private IEnumerable<Measurement<long>> ObserveConnected()
    {
        foreach (var client in Volatile.Read(ref _xdsClients))
        {
            foreach (var server in client().Servers)
            {
                yield return new Measurement<long>(server.Working ? 1 : 0, new(TargetLabel, XdsClientTarget), new(ServerLabel, server.ServerUri));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveResources()
    {
        foreach (var client in Volatile.Read(ref _xdsClients))
        {
            foreach (var count in client().ResourceCounts)
            {
                yield return new Measurement<long>(
                    count.Count,
                    new(TargetLabel, XdsClientTarget),
                    new(AuthorityLabel, count.Authority),
                    new(CacheStateLabel, XdsCacheStateLabel(count.State)),
                    new(ResourceTypeLabel, XdsResourceTypeLabel(count.TypeUrl)));
            }
        }
    }

    private void RemoveXdsClient(Func<XdsClientStatus> status)
    {
        lock (_xdsClientsLock)
        {
            _xdsClients = [.. _xdsClients.Where(s => s != status)];
        }
    }

    private sealed class XdsClientRegistration(MeshMetrics metrics, Func<XdsClientStatus> status) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                metrics.RemoveXdsClient(status);
            }
        }
    }
}
