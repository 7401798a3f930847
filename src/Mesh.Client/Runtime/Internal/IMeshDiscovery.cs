namespace Mesh.Client.Runtime.Internal;

/// <summary>A source that configures names on demand, as they are first used (the xDS client).</summary>
internal interface IMeshDiscovery
{
    /// <summary>Where names are looked up, for messages (the xDS server).</summary>
    string Description { get; }

    /// <summary>How long the first request for a name waits for its configuration.</summary>
    TimeSpan ConfigWaitTimeout { get; }

    /// <summary>Whether an HttpClient request to <paramref name="authority"/> (<c>host</c> or <c>host:port</c>) should be looked up.</summary>
    bool ShouldLookUpHttpHost(string authority);

    /// <summary>Starts looking up <paramref name="name"/>; the answer arrives as a published table. Idempotent.</summary>
    void Watch(string name);
}
