using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Security.Internal;

/// <summary>
/// Makes TLS connections for one cluster's <see cref="MeshClusterTls"/>: takes the provider's current
/// certificates for every new connection (so rotated certificates apply to new connections), verifies
/// the server's chain against the cluster's roots and its SANs against the cluster's matchers, and fails
/// with the reason before anything is sent when any of it is wrong.
/// </summary>
internal sealed class ClusterTlsConnector
{
    private readonly CertificateProviderStore _store;
    private readonly TimeProvider _time;
    private readonly Regex?[] _regexes;
    private readonly MeshTlsNames _names;

    public ClusterTlsConnector(string cluster, MeshClusterTls config, CertificateProviderStore store, TimeProvider time, MeshTlsNames names)
    {
        Cluster = cluster;
        Config = config;
        _store = store;
        _time = time;
        Key = string.Join('|',
            config.Identity?.ToString() ?? "-",
            config.Roots?.ToString() ?? "-",
            config.UseSystemRoots ? "system" : "-",
            config.Sni ?? "-",
            string.Join(',', config.SubjectAltNames));
        _names = names;
        Id = names.SettingsId(Key);
        _regexes = [.. config.SubjectAltNames.Select(m => m.Kind == StringMatchKind.Regex ? RegexFactory.CreateFullMatch(m.Value) : null)];
        Peers = names.Peers(Id);
    }

    public string Cluster { get; }

    public MeshClusterTls Config { get; }

    /// <summary>The settings as text: equal for equal settings, whatever cluster.</summary>
    public string Key { get; }

    /// <summary>A small number per distinct <see cref="Key"/> in the runtime, which keeps connections of different settings apart.</summary>
    public int Id { get; }

    /// <summary>The identities verified on connections with these settings, by endpoint <c>host:port</c>.</summary>
    public ConcurrentDictionary<string, string> Peers { get; }

    /// <summary>The runtime's number of the endpoint <paramref name="address"/>, for the name its requests are addressed to.</summary>
    public int AddressId(string address) => _names.AddressId(address);

    /// <summary>Performs the client handshake over <paramref name="inner"/>; on failure disposes it and throws <see cref="MeshTlsException"/>.</summary>
    public async ValueTask<SslStream> AuthenticateAsync(Stream inner, string host, int port, SslApplicationProtocol protocol, CancellationToken cancellationToken)
    {
        SslStream? ssl = null;
        try
        {
            var identity = GetIdentity();
            var (roots, useSystem) = GetRoots();
            string? rejection = null;
            var failure = MeshTlsFailure.HandshakeFailed;
            string? peer = null;
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = Config.Sni ?? host,
                ClientCertificateContext = identity?.Context,
                ApplicationProtocols = [protocol],
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    (failure, rejection, peer) = Verify(certificate as X509Certificate2, chain, roots, useSystem);
                    return rejection is null;
                },
            };

            ssl = new SslStream(inner, leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException && rejection is not null)
            {
                throw new MeshTlsException(failure, Cluster, $"Cluster '{Cluster}': the server certificate of {host}:{port} was rejected: {rejection}.", ex);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                throw new MeshTlsException(MeshTlsFailure.HandshakeFailed, Cluster,
                    $"Cluster '{Cluster}': the TLS handshake with {host}:{port} failed{(identity is null ? " (no client certificate was offered)" : "")}: {ex.Message}", ex);
            }

            Peers[host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}"] = peer ?? string.Empty;
            return ssl;
        }
        catch
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Throws, saying why, when the certificates a connection needs cannot be had; called before the socket is opened.</summary>
    public void EnsureCertificates()
    {
        GetIdentity();
        GetRoots();
    }

    /// <summary>The client identity to present, or null for TLS without one; throws when the cluster needs one that cannot be had.</summary>
    internal SslStreamIdentity? GetIdentity()
    {
        if (Config.Identity is not { } reference)
        {
            return null;
        }

        if (!_store.TryGet(reference.InstanceName, out var provider))
        {
            throw new MeshTlsException(MeshTlsFailure.UnknownCertificateProvider, Cluster,
                $"Cluster '{Cluster}' requires mutual TLS with certificate provider '{reference.InstanceName}', which is not configured (configured: {Known()}); nothing was sent.");
        }

        return provider.GetIdentity(out var error) ?? throw new MeshTlsException(MeshTlsFailure.ClientCertificateUnavailable, Cluster,
            $"Cluster '{Cluster}' requires mutual TLS but its client certificate is unavailable: {error}; nothing was sent.");
    }

    private (X509Certificate2Collection? Roots, bool UseSystem) GetRoots()
    {
        if (Config.Roots is not { } reference)
        {
            return (null, true);
        }

        if (!_store.TryGet(reference.InstanceName, out var provider))
        {
            throw new MeshTlsException(MeshTlsFailure.UnknownCertificateProvider, Cluster,
                $"Cluster '{Cluster}' verifies servers with certificate provider '{reference.InstanceName}', which is not configured (configured: {Known()}); nothing was sent.");
        }

        return (provider.GetRoots(out var error) ?? throw new MeshTlsException(MeshTlsFailure.TrustedRootsUnavailable, Cluster,
            $"Cluster '{Cluster}' cannot verify servers: {error}; nothing was sent."), false);
    }

    private string Known() => _store.Names is { Count: > 0 } names ? string.Join(", ", names) : "none";

    /// <summary>Checks the server's chain and names. Returns the rejection reason, or null and the verified identity.</summary>
    internal (MeshTlsFailure Failure, string? Rejection, string? Peer) Verify(X509Certificate2? certificate, X509Chain? presented, X509Certificate2Collection? roots, bool useSystem)
    {
        if (certificate is null)
        {
            return (MeshTlsFailure.ServerCertificateMissing, "the server sent no certificate", null);
        }

        using var chain = PeerChain.Build(certificate, presented, useSystem ? null : roots, _time.GetUtcNow().UtcDateTime, requiredUsageOid: null, out var trusted, out var problems);
        if (!trusted)
        {
            if ((problems & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                return (MeshTlsFailure.ServerCertificateExpired, PeerChain.TimeProblem(chain), null);
            }

            var detail = PeerChain.Details(chain);
            return (MeshTlsFailure.ServerCertificateUntrusted,
                $"it is not signed by a CA the cluster trusts ({(useSystem ? "the system's roots" : $"certificate provider '{Config.Roots!.InstanceName}'")}){(detail.Length > 0 ? ": " + detail : "")} [subject '{certificate.Subject}']", null);
        }

        var names = CertificateNames.Read(certificate);
        if (Config.SubjectAltNames.Count > 0 && !MatchesAny(names))
        {
            return (MeshTlsFailure.SubjectAltNameMismatch,
                $"its subject alternative names [{string.Join(", ", names)}] match none of [{string.Join(", ", Config.SubjectAltNames)}]", null);
        }

        var peer = CertificateNames.SpiffeId(names) ?? (names.Count > 0 ? names[0].Value : certificate.Subject);
        return (MeshTlsFailure.HandshakeFailed, null, peer);
    }

    internal bool MatchesAny(List<SubjectAltName> names)
    {
        for (var i = 0; i < Config.SubjectAltNames.Count; i++)
        {
            var matcher = Config.SubjectAltNames[i];
            foreach (var name in names)
            {
                if ((matcher.Type == SubjectAltNameType.Any || matcher.Type == name.Type) && Matches(matcher, _regexes[i], name))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool Matches(SubjectAltNameMatch matcher, Regex? regex, SubjectAltName name)
    {
        var comparison = matcher.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return matcher.Kind switch
        {
            StringMatchKind.Exact => string.Equals(name.Value, matcher.Value, comparison) || (name.Type == SubjectAltNameType.Dns && CertificateNames.WildcardCovers(name.Value, matcher.Value)),
            StringMatchKind.Prefix => name.Value.StartsWith(matcher.Value, comparison),
            StringMatchKind.Suffix => name.Value.EndsWith(matcher.Value, comparison),
            StringMatchKind.Contains => name.Value.Contains(matcher.Value, comparison),
            StringMatchKind.Regex => regex!.IsMatch(name.Value),
            _ => false,
        };
    }
}
