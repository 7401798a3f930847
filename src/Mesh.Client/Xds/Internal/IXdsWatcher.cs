namespace Mesh.Client.Xds.Internal;

/// <summary>Receives what the xDS client learns about one watched resource. Called on the client's work serializer.</summary>
internal interface IXdsWatcher
{
    /// <summary>A new valid version of the resource.</summary>
    void OnUpdate(XdsResourceUpdate update);

    /// <summary>The server says the resource does not exist (or did not send it within the does-not-exist timeout).</summary>
    void OnDoesNotExist();

    /// <summary>
    /// Something went wrong: the server is unreachable, or sent an invalid version. A watcher that already
    /// has data keeps using it (gRFC A46, A57).
    /// </summary>
    void OnError(string message);
}
