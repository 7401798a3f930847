using Mesh.Client.Model;

namespace Mesh.Client.Internal;

/// <summary>Deep equality for model records whose members are lists (records compare lists by reference).</summary>
internal static class ModelEquality
{
    /// <summary>Equal TLS settings, the SAN matchers compared one by one.</summary>
    public static bool TlsEquals(MeshClusterTls? a, MeshClusterTls? b) =>
        ReferenceEquals(a, b) ||
        (a is not null && b is not null && a.Identity == b.Identity && a.Roots == b.Roots && a.UseSystemRoots == b.UseSystemRoots &&
         a.Sni == b.Sni && a.SubjectAltNames.SequenceEqual(b.SubjectAltNames));

    public static bool ClusterEquals(MeshCluster a, MeshCluster b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Name != b.Name || a.LoadBalancing != b.LoadBalancing || a.Protocol != b.Protocol || a.ErrorMessage != b.ErrorMessage || a.MaxRequests != b.MaxRequests || a.OutlierDetection != b.OutlierDetection || !TlsEquals(a.Tls, b.Tls) || a.Priorities.Count != b.Priorities.Count)
        {
            return false;
        }

        for (var p = 0; p < a.Priorities.Count; p++)
        {
            var la = a.Priorities[p].Localities;
            var lb = b.Priorities[p].Localities;
            if (la.Count != lb.Count)
            {
                return false;
            }

            for (var l = 0; l < la.Count; l++)
            {
                if (la[l].Name != lb[l].Name || la[l].Weight != lb[l].Weight || !la[l].Endpoints.SequenceEqual(lb[l].Endpoints))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
