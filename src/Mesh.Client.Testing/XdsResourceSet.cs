using Google.Protobuf.WellKnownTypes;
using Mesh.Client.Testing.Internal;

namespace Mesh.Client.Testing;

/// <summary>
/// A batch of resource changes for <see cref="XdsTestServer.Update(Action{XdsResourceSet})"/>. Changes are
/// applied together, in the order given, and each affected type gets one new version and one push.
/// </summary>
public sealed class XdsResourceSet
{
    private readonly List<Change> _changes = [];

    internal XdsResourceSet()
    {
    }

    internal IReadOnlyList<Change> Changes => _changes;

    /// <summary>Adds or replaces the resource <paramref name="name"/> of type <paramref name="typeUrl"/>.</summary>
    /// <param name="typeUrl">The resource type, one of <see cref="XdsTypeUrls"/> or any other type URL.</param>
    /// <param name="name">The resource name clients subscribe to.</param>
    /// <param name="resource">
    /// The resource as sent in <c>DiscoveryResponse.resources</c>. It is sent as given, even when its own type URL
    /// differs from <paramref name="typeUrl"/>, so that tests can send resources a client must reject.
    /// </param>
    /// <returns>This set, for chaining.</returns>
    public XdsResourceSet Set(string typeUrl, string name, Any resource)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(resource);
        _changes.Add(new Change(typeUrl, name, resource.Clone()));
        return this;
    }

    /// <summary>
    /// Adds or replaces a Listener, RouteConfiguration, Cluster or ClusterLoadAssignment (for example one built by
    /// <see cref="XdsResources"/>) under its own type URL and name (<c>cluster_name</c> for a ClusterLoadAssignment).
    /// </summary>
    /// <param name="resource">The resource.</param>
    /// <returns>This set, for chaining.</returns>
    /// <exception cref="ArgumentException">The resource is of another type, or cannot be parsed.</exception>
    public XdsResourceSet Set(Any resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return Set(resource.TypeUrl, ResourceNames.Of(resource), resource);
    }

    /// <summary>Removes the resource <paramref name="name"/> of type <paramref name="typeUrl"/>, if present.</summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="name">The resource name.</param>
    /// <returns>This set, for chaining.</returns>
    public XdsResourceSet Remove(string typeUrl, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _changes.Add(new Change(typeUrl, name, null));
        return this;
    }

    /// <summary>Removes every resource of type <paramref name="typeUrl"/>.</summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <returns>This set, for chaining.</returns>
    public XdsResourceSet RemoveAll(string typeUrl)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        _changes.Add(new Change(typeUrl, null, null));
        return this;
    }

    /// <summary>Removes every resource of every type; each type ever set gets a new, empty version.</summary>
    /// <returns>This set, for chaining.</returns>
    public XdsResourceSet Clear()
    {
        _changes.Add(new Change(null, null, null));
        return this;
    }

    /// <summary>One change: set (resource given), remove one (name given), remove a type, or remove everything.</summary>
    internal sealed record Change(string? TypeUrl, string? Name, Any? Resource);
}
