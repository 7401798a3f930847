using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Balancing.Internal;

/// <summary>
/// <c>least_request</c> (gRFC A48): draw <c>choice_count</c> candidates by weight and take the one with the
/// fewest requests in flight per unit of weight.
/// </summary>
internal sealed class LeastRequestPicker : EndpointPicker
{
    private readonly EndpointState[] _states;
    private readonly uint[] _weights;
    private readonly CumulativeWeights _draw;
    private readonly int _choiceCount;
    private readonly MeshRandom _random;

    public LeastRequestPicker(ReadOnlySpan<PickCandidate> candidates, int choiceCount, MeshRandom random)
    {
        _states = new EndpointState[candidates.Length];
        _weights = new uint[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
        {
            _states[i] = candidates[i].State;
            _weights[i] = candidates[i].Weight;
        }

        _draw = new CumulativeWeights(_weights);
        // gRPC caps choice_count at 10 (gRFC A48); more candidates only cost time.
        _choiceCount = Math.Clamp(choiceCount, 2, 10);
        _random = random;
    }

    public override int Count => _states.Length;

    public override int Pick(in PickRequest request)
    {
        if (_states.Length <= 1)
        {
            return _states.Length - 1;
        }

        var best = _draw.Draw(_random);
        var bestLoad = (ulong)_states[best].InFlight;
        for (var c = 1; c < _choiceCount; c++)
        {
            var candidate = _draw.Draw(_random);
            var load = (ulong)_states[candidate].InFlight;

            // load / weight < bestLoad / bestWeight, compared without division.
            if (load * _weights[best] < bestLoad * _weights[candidate])
            {
                best = candidate;
                bestLoad = load;
            }
        }

        return best;
    }
}
