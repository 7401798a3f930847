using System.Collections.Concurrent;

namespace Mesh.Client.Security.Internal;

/// <summary>
/// One runtime's numbering of what the names of HttpClient requests to TLS clusters are made of
/// (<c>e{address}.t{settings}.mesh-tls.invalid</c>, see <see cref="MeshTlsHttpTransport"/>): a small number per
/// distinct TLS settings and per endpoint address, and the identities verified on connections of each settings.
/// Owned by one runtime (one service provider), so that two meshes in one process never share connections or
/// verified identities, and pruned to the configuration in force on every publication, so that endpoints that
/// churn do not make it grow.
/// </summary>
internal sealed class MeshTlsNames
{
    private readonly ConcurrentDictionary<string, int> _settings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _addresses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, ConcurrentDictionary<string, string>> _peers = new();
    private int _nextSettingsId;
    private int _nextAddressId;

    /// <summary>Distinct TLS settings numbered now.</summary>
    public int SettingsCount => _settings.Count;

    /// <summary>Endpoint addresses numbered now.</summary>
    public int AddressCount => _addresses.Count;

    /// <summary>Tables of verified identities now (one per settings that made a connection or may).</summary>
    public int PeerTableCount => _peers.Count;

    /// <summary>Verified identities held now, over every table.</summary>
    public int PeerCount => _peers.Values.Sum(p => p.Count);

    /// <summary>The number of the settings <paramref name="key"/> (<see cref="ClusterTlsConnector.Key"/>): equal for equal settings.</summary>
    public int SettingsId(string key) =>
        _settings.GetOrAdd(key, static (_, self) => Interlocked.Increment(ref self._nextSettingsId), this);

    /// <summary>The number of the endpoint <paramref name="address"/> (<c>host:port</c>), the same for every cluster that lists it.</summary>
    public int AddressId(string address) =>
        _addresses.GetOrAdd(address, static (_, self) => Interlocked.Increment(ref self._nextAddressId), this);

    /// <summary>The identities verified on connections with the settings numbered <paramref name="settingsId"/>, by endpoint <c>host:port</c>.</summary>
    public ConcurrentDictionary<string, string> Peers(int settingsId) =>
        _peers.GetOrAdd(settingsId, static _ => new(StringComparer.Ordinal));

    /// <summary>
    /// Forgets every settings key not in <paramref name="liveSettings"/> and every address not in
    /// <paramref name="liveAddresses"/> (with their verified identities). Called with what the table in force
    /// holds; an address or settings that comes back later gets a new number, and so new connections.
    /// </summary>
    public void Retain(IReadOnlySet<string> liveSettings, IReadOnlySet<string> liveAddresses)
    {
        foreach (var (key, id) in _settings)
        {
            if (!liveSettings.Contains(key))
            {
                _settings.TryRemove(new KeyValuePair<string, int>(key, id));
                _peers.TryRemove(id, out _);
            }
        }

        foreach (var (address, id) in _addresses)
        {
            if (!liveAddresses.Contains(address))
            {
                _addresses.TryRemove(new KeyValuePair<string, int>(address, id));
            }
        }

        foreach (var peers in _peers.Values)
        {
            foreach (var (address, identity) in peers)
            {
                if (!liveAddresses.Contains(address))
                {
                    peers.TryRemove(new KeyValuePair<string, string>(address, identity));
                }
            }
        }
    }
}
