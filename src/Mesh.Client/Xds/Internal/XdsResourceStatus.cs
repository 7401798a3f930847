namespace Mesh.Client.Xds.Internal;

/// <summary>What the client holds for one resource, for status reporting (CSDS, config dump).</summary>
internal enum XdsResourceStatus
{
    Requested,
    Acked,
    Nacked,
    DoesNotExist,
}
