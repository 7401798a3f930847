using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Client.Security.Internal;

/// <summary>
/// Verifies a TLS peer's certificate chain the way both the clusters' connections and the control-plane
/// connection do: to the given roots (the system's when none), at the given time, without revocation
/// checks, with the intermediates the peer presented; and words what went wrong.
/// </summary>
internal static class PeerChain
{
    /// <summary>Builds <paramref name="certificate"/>'s chain; the caller disposes it and reads <paramref name="problems"/> when it is not trusted.</summary>
    public static X509Chain Build(
        X509Certificate2 certificate, X509Chain? presented, X509Certificate2Collection? roots, DateTime verificationTime, string? requiredUsageOid,
        out bool trusted, out X509ChainStatusFlags problems)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = verificationTime;
        if (requiredUsageOid is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(requiredUsageOid));
        }

        if (roots is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        }

        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        trusted = chain.Build(certificate);
        problems = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        return chain;
    }

    /// <summary>Which certificate of a chain that failed <see cref="X509ChainStatusFlags.NotTimeValid"/> expired, or is not valid yet, and when.</summary>
    public static string TimeProblem(X509Chain chain)
    {
        var now = chain.ChainPolicy.VerificationTime.ToUniversalTime();
        var certificates = chain.ChainElements.Select(e => e.Certificate).ToList();
        var expired = certificates.FirstOrDefault(c => c.NotAfter.ToUniversalTime() < now);
        var early = certificates.FirstOrDefault(c => c.NotBefore.ToUniversalTime() > now);
        return expired is not null
            ? $"the certificate '{expired.Subject}' in its chain expired at {expired.NotAfter.ToUniversalTime():u}"
            : $"the certificate '{early?.Subject}' in its chain is not valid before {early?.NotBefore.ToUniversalTime():u}";
    }

    /// <summary>The platform's own words for a chain's problems, each once.</summary>
    public static string Details(X509Chain chain) =>
        string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
}
