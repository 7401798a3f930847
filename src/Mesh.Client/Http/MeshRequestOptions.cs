namespace Mesh.Client.Http;

/// <summary>What the mesh tells the caller about a request it sent, through <see cref="HttpRequestMessage.Options"/>.</summary>
public static class MeshRequestOptions
{
    /// <summary>
    /// For a request to a TLS cluster: the identity the server's certificate proved — its SPIFFE ID
    /// (<c>spiffe://cluster.local/ns/default/sa/echo</c>), else its first subject alternative name — after
    /// the chain and the cluster's SAN matchers were verified.
    /// </summary>
    public static readonly HttpRequestOptionsKey<string> PeerIdentity = new("Mesh.PeerIdentity");
}
