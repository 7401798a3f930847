using BenchmarkDotNet.Attributes;
using Mesh.Client.Balancing.Internal;
using Mesh.Client.Model;
using Mesh.Client.Runtime.Internal;

namespace Mesh.Client.Benchmarks;

/// <summary>
/// The cost of one pick per load-balancing policy, on pickers built once in set-up, as the request path
/// uses them. A pick must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class PickBenchmarks
{
    // A spread of request hashes, cycled through so that ring_hash and maglev read different parts of their
    // ring or table (and of the cache) rather than one warm slot. A power of two, for a cheap wrap-around.
    private const int HashCount = 4096;

    private readonly ulong[] _hashes = new ulong[HashCount];
    private int _nextHash;

    private EndpointPicker _roundRobin = EmptyPicker.Instance;
    private EndpointPicker _roundRobinWeighted = EmptyPicker.Instance;
    private EndpointPicker _roundRobinLocalities = EmptyPicker.Instance;
    private EndpointPicker _leastRequest = EmptyPicker.Instance;
    private EndpointPicker _leastRequestWeighted = EmptyPicker.Instance;
    private EndpointPicker _random = EmptyPicker.Instance;
    private EndpointPicker _randomWeighted = EmptyPicker.Instance;
    private EndpointPicker _ringHash = EmptyPicker.Instance;
    private EndpointPicker _maglev = EmptyPicker.Instance;
    private EndpointPicker _pickFirst = EmptyPicker.Instance;

    /// <summary>Endpoints in the cluster.</summary>
    [Params(10, 1_000, 10_000)]
    public int Endpoints { get; set; }

    /// <summary>Builds one picker per policy over <see cref="Endpoints"/> candidates.</summary>
    [GlobalSetup]
    public void Setup()
    {
        // The production source of randomness: thread-local and lock-free.
        var random = MeshRandom.Shared;

        var equal = MakeCandidates(Endpoints, weight: _ => 1);
        var weighted = MakeCandidates(Endpoints, weight: i => 1 + (uint)(i % 5));

        // Three localities of weights 5, 3 and 1, endpoints dealt round them in turn.
        uint[] localityWeights = [5, 3, 1];
        var localities = MakeCandidates(Endpoints, weight: _ => 1, locality: i => i % 3, localityWeight: l => localityWeights[l]);

        _roundRobin = PickerBuilder.Build(RoundRobinPolicy.Instance, equal, random);
        _roundRobinWeighted = PickerBuilder.Build(RoundRobinPolicy.Instance, weighted, random);
        _roundRobinLocalities = PickerBuilder.Build(RoundRobinPolicy.Instance, localities, random);
        _leastRequest = PickerBuilder.Build(new LeastRequestPolicy(), equal, random);
        _leastRequestWeighted = PickerBuilder.Build(new LeastRequestPolicy(), weighted, random);
        _random = PickerBuilder.Build(RandomPolicy.Instance, equal, random);
        _randomWeighted = PickerBuilder.Build(RandomPolicy.Instance, weighted, random);
        _ringHash = PickerBuilder.Build(new RingHashPolicy(), weighted, random);
        _maglev = PickerBuilder.Build(new MaglevPolicy(), weighted, random);
        _pickFirst = PickerBuilder.Build(new PickFirstPolicy(), equal, random);

        var seeded = new Random(42);
        for (var i = 0; i < _hashes.Length; i++)
        {
            _hashes[i] = (ulong)seeded.NextInt64() ^ ((ulong)seeded.Next() << 63);
        }

        // A picker that returned -1 here would make every figure below meaningless.
        EndpointPicker[] all = [_roundRobin, _roundRobinWeighted, _roundRobinLocalities, _leastRequest, _leastRequestWeighted, _random, _randomWeighted, _ringHash, _maglev, _pickFirst];
        foreach (var picker in all)
        {
            if (picker.Count != Endpoints || picker.Pick(new PickRequest(_hashes[0], hasHash: true)) < 0)
            {
                throw new InvalidOperationException($"{picker.GetType().Name} over {Endpoints} endpoints does not pick.");
            }
        }
    }

    /// <summary><c>round_robin</c>, equal weights: one atomic increment.</summary>
    [Benchmark(Description = "round_robin")]
    public int RoundRobin() => _roundRobin.Pick(PickRequest.None);

    /// <summary><c>round_robin</c>, weights 1 to 5: an increment and one read of the weighted schedule.</summary>
    [Benchmark(Description = "round_robin weighted")]
    public int RoundRobinWeighted() => _roundRobinWeighted.Pick(PickRequest.None);

    /// <summary><c>round_robin</c> over 3 localities of weights 5, 3, 1: locality first, then endpoint.</summary>
    [Benchmark(Description = "round_robin 3 localities")]
    public int RoundRobinLocalities() => _roundRobinLocalities.Pick(PickRequest.None);

    /// <summary><c>least_request</c>, equal weights: 2 uniform draws, 2 in-flight counters read.</summary>
    [Benchmark(Description = "least_request")]
    public int LeastRequest() => _leastRequest.Pick(PickRequest.None);

    /// <summary><c>least_request</c>, weights 1 to 5: 2 draws by weight (binary searches).</summary>
    [Benchmark(Description = "least_request weighted")]
    public int LeastRequestWeighted() => _leastRequestWeighted.Pick(PickRequest.None);

    /// <summary><c>random</c>, equal weights: one uniform draw.</summary>
    [Benchmark(Description = "random")]
    public int RandomPick() => _random.Pick(PickRequest.None);

    /// <summary><c>random</c>, weights 1 to 5: one draw and a binary search of the cumulative weights.</summary>
    [Benchmark(Description = "random weighted")]
    public int RandomWeighted() => _randomWeighted.Pick(PickRequest.None);

    /// <summary><c>ring_hash</c>, weights 1 to 5, with a request hash: a binary search of the ring.</summary>
    [Benchmark(Description = "ring_hash weighted (hash)")]
    public int RingHash() => _ringHash.Pick(NextHash());

    /// <summary><c>maglev</c>, weights 1 to 5, with a request hash: one read of the 65,537-entry table.</summary>
    [Benchmark(Description = "maglev weighted (hash)")]
    public int Maglev() => _maglev.Pick(NextHash());

    /// <summary><c>pick_first</c>: always the same endpoint.</summary>
    [Benchmark(Description = "pick_first")]
    public int PickFirst() => _pickFirst.Pick(PickRequest.None);

    private PickRequest NextHash() => new(_hashes[_nextHash++ & (HashCount - 1)], hasHash: true);

    private static PickCandidate[] MakeCandidates(int count, Func<int, uint> weight, Func<int, int>? locality = null, Func<int, uint>? localityWeight = null)
    {
        var result = new PickCandidate[count];
        for (var i = 0; i < count; i++)
        {
            // Distinct addresses: ring_hash and maglev place endpoints by the hash of host:port.
            var endpoint = new MeshEndpoint { Host = $"10.{i / 62500}.{i / 250 % 250}.{i % 250}", Port = 8080, Weight = weight(i) };
            var state = new EndpointState("bench", endpoint);
            var l = locality?.Invoke(i) ?? 0;
            result[i] = new PickCandidate(state, endpoint.Weight, l, localityWeight?.Invoke(l) ?? 1);
        }

        return result;
    }
}
