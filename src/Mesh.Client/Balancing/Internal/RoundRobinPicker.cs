namespace Mesh.Client.Balancing.Internal;

/// <summary><c>round_robin</c>: a shared counter walks a precomputed weighted order.</summary>
internal sealed class RoundRobinPicker : EndpointPicker
{
    private readonly int[]? _schedule;
    private readonly ulong _length;
    private readonly int _count;
    private long _next;

    public RoundRobinPicker(ReadOnlySpan<uint> weights, MeshRandom random)
    {
        _count = weights.Length;
        _schedule = WeightedSchedule.Build(weights);
        _length = (ulong)(_schedule?.Length ?? weights.Length);

        // Start at a random place so that many clients built from the same config do not all send
        // their first request to the same endpoint.
        _next = _length > 1 ? random.NextInt64((long)_length) : 0;
    }

    public override int Count => _count;

    public override int Pick(in PickRequest request)
    {
        if (_count == 0)
        {
            return -1;
        }

        var slot = (int)((ulong)Interlocked.Increment(ref _next) % _length);
        return _schedule is null ? slot : _schedule[slot];
    }
}
