namespace Mesh.Client.Balancing.Internal;

/// <summary><c>pick_first</c>: always the same candidate, chosen when the picker is built.</summary>
internal sealed class FixedPicker(int index, int count) : EndpointPicker
{
    public override int Count => count;

    public override int Pick(in PickRequest request) => count == 0 ? -1 : index;
}
