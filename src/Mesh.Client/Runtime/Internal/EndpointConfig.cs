using Mesh.Client.Model;

namespace Mesh.Client.Runtime.Internal;

/// <summary>
/// An endpoint as one configuration describes it, with what is derived from it: the endpoint (weight, health),
/// its locality and priority, and the labels and request prefixes made from them. Never changed once made; a
/// configuration that changes any of it makes a new one, which <see cref="EndpointState"/> swaps in with one
/// reference write, so that a reader sees either the old configuration or the new one, never a mix.
/// </summary>
internal sealed class EndpointConfig
{
    // Derived on first use (most endpoints of a large xDS cluster may never see an HttpClient request).
    // Each is a pure function of the fields above it, so a race at most computes it twice.
    private string? _httpPrefix;
    private string? _httpsPrefix;
    private string? _localityLabel;
    private object? _boxedPort;

    public EndpointConfig(string address, MeshEndpoint endpoint, LocalityName locality, int priority)
    {
        Address = address;
        Endpoint = endpoint;
        Locality = locality;
        Priority = priority;
    }

    /// <summary><c>host:port</c>.</summary>
    public string Address { get; }

    public MeshEndpoint Endpoint { get; }

    public LocalityName Locality { get; }

    public int Priority { get; }

    public string HttpPrefix => _httpPrefix ??= "http://" + Address;

    public string HttpsPrefix => _httpsPrefix ??= "https://" + Address;

    /// <summary>The locality as gRPC's metrics label it (gRFC A78): <c>{region="…", zone="…", sub_zone="…"}</c>.</summary>
    public string LocalityLabel => _localityLabel ??= $"{{region=\"{Locality.Region}\", zone=\"{Locality.Zone}\", sub_zone=\"{Locality.SubZone}\"}}";

    /// <summary>The port as an object, boxed once (a span attribute).</summary>
    public object BoxedPort => _boxedPort ??= Endpoint.Port;

    /// <summary>Whether this configuration says the same as one made of these parts (then the old one stays).</summary>
    public bool Matches(MeshEndpoint endpoint, LocalityName locality, int priority) =>
        ReferenceEquals(Endpoint, endpoint) && Locality == locality && Priority == priority;
}
