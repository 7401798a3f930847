using Google.Protobuf.WellKnownTypes;

namespace Mesh.Client.Testing;

public sealed partial class XdsTestServer
{
    /// <summary>The current version of a type: empty before the type is first set, then "1", "2", ….</summary>
    /// <param name="typeUrl">The resource type, e.g. <see cref="XdsTypeUrls.Listener"/>.</param>
    /// <returns>The version the next response for that type carries.</returns>
    public string GetVersion(string typeUrl)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        return _plane.GetVersion(typeUrl);
    }

    /// <summary>Adds or replaces one resource and pushes the type's new version.</summary>
    /// <param name="typeUrl">The resource type, one of <see cref="XdsTypeUrls"/> or any other type URL.</param>
    /// <param name="name">The resource name clients subscribe to.</param>
    /// <param name="resource">The resource, sent as given (see <see cref="XdsResourceSet.Set(string, string, Any)"/>).</param>
    /// <returns>The type's new version.</returns>
    public string SetResource(string typeUrl, string name, Any resource) =>
        UpdateOne(typeUrl, set => set.Set(typeUrl, name, resource));

    /// <summary>
    /// Adds or replaces a Listener, RouteConfiguration, Cluster or ClusterLoadAssignment (for example one built by
    /// <see cref="XdsResources"/>) under its own type URL and name, and pushes the type's new version.
    /// </summary>
    /// <param name="resource">The resource.</param>
    /// <returns>The type's new version.</returns>
    public string SetResource(Any resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return UpdateOne(resource.TypeUrl, set => set.Set(resource));
    }

    /// <summary>
    /// Removes one resource, if present, and pushes the type's new version: LDS and CDS clients learn that it is
    /// gone; RDS and EDS clients are not told (state of the world carries no deletions for them).
    /// </summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="name">The resource name.</param>
    /// <returns>The type's new version.</returns>
    public string RemoveResource(string typeUrl, string name) =>
        UpdateOne(typeUrl, set => set.Remove(typeUrl, name));

    /// <summary>
    /// Applies several changes at once, e.g. a whole new mesh: every type touched gets one new version and each
    /// subscribed stream one response per touched type, in the order the types were first touched.
    /// </summary>
    /// <param name="change">Describes the changes on the <see cref="XdsResourceSet"/> it is given.</param>
    /// <returns>The new version of every type touched, by type URL.</returns>
    public IReadOnlyDictionary<string, string> Update(Action<XdsResourceSet> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var set = new XdsResourceSet();
        change(set);
        return _plane.Apply(set.Changes);
    }

    private string UpdateOne(string typeUrl, Action<XdsResourceSet> change)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        return Update(change)[typeUrl];
    }
}
