using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace Mesh.Client.Grpc.Internal;

/// <summary>Fails every call with one status.</summary>
internal sealed class FailurePicker(Status status) : SubchannelPicker
{
    private readonly PickResult _result = PickResult.ForFailure(ControlPlaneStatus.Sanitize(status));

    public override PickResult Pick(PickContext context) => _result;
}

/// <summary>Makes every call wait for the next picker.</summary>
internal sealed class QueuePicker : SubchannelPicker
{
    private static readonly PickResult Queue = PickResult.ForQueue();

    public static QueuePicker Instance { get; } = new();

    public override PickResult Pick(PickContext context) => Queue;
}
