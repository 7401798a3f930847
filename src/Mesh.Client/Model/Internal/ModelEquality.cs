namespace Mesh.Client.Model.Internal;

/// <summary>Deep equality for model records whose members are lists (records compare lists by reference).</summary>
internal static class ModelEquality
{
    /// <summary>
    /// Equal TLS settings, the SAN matchers compared one by one; every other member by the record's own
    /// equality, so that a member added later is compared too. The one TLS equality of the library: the runtime
    /// uses it to keep a cluster's state, the xDS watcher to check an aggregate cluster's children agree.
    /// </summary>
    public static bool TlsEquals(MeshClusterTls? a, MeshClusterTls? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null
            && a with { SubjectAltNames = Array.Empty<SubjectAltNameMatch>() } == b with { SubjectAltNames = Array.Empty<SubjectAltNameMatch>() }
            && a.SubjectAltNames.SequenceEqual(b.SubjectAltNames));

    /// <summary>Equal cluster settings, lists compared element by element.</summary>

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
