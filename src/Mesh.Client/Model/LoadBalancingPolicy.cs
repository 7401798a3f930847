namespace Mesh.Client.Model;

/// <summary>The names of the load-balancing policies, as xDS and gRPC spell them.</summary>
internal static class LoadBalancingPolicyNames
{
    /// <summary>Weighted round robin over the endpoints of each locality.</summary>
    public const string RoundRobin = "round_robin";

    /// <summary>Power of N choices: the candidate with the fewest requests in flight.</summary>
    public const string LeastRequest = "least_request";

    /// <summary>Weighted random choice.</summary>
    public const string Random = "random";

    /// <summary>Consistent hashing on a ring (xxHash64).</summary>
    public const string RingHash = "ring_hash";

    /// <summary>Consistent hashing through a Maglev lookup table.</summary>
    public const string Maglev = "maglev";

    /// <summary>The first usable endpoint in order.</summary>
    public const string PickFirst = "pick_first";

    /// <summary>Every policy name this library knows.</summary>
    public static IReadOnlyList<string> All { get; } = [RoundRobin, LeastRequest, Random, RingHash, Maglev, PickFirst];
}

/// <summary>A cluster's load-balancing policy and its settings.</summary>
internal abstract record LoadBalancingPolicy
{
    /// <summary>The policy name (<see cref="LoadBalancingPolicyNames"/>).</summary>
    public abstract string Name { get; }

    /// <summary>Whether the policy picks by a request hash.</summary>
    public virtual bool IsHashBased => false;
}

/// <summary><c>round_robin</c>: endpoints in turn, in proportion to their weights; localities by their weights.</summary>
internal sealed record RoundRobinPolicy : LoadBalancingPolicy
{
    /// <summary>The default instance.</summary>
    public static RoundRobinPolicy Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.RoundRobin;
}

/// <summary><c>least_request</c>: of <see cref="ChoiceCount"/> candidates drawn by weight, the one with the fewest requests in flight (gRFC A48).</summary>
internal sealed record LeastRequestPolicy : LoadBalancingPolicy
{
    /// <summary>Candidates per pick; at least 2 (the default).</summary>
    public int ChoiceCount { get; init; } = 2;

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.LeastRequest;
}

/// <summary><c>random</c>: a random endpoint, in proportion to its weight.</summary>
internal sealed record RandomPolicy : LoadBalancingPolicy
{
    /// <summary>The default instance.</summary>
    public static RandomPolicy Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.Random;
}

/// <summary><c>ring_hash</c>: consistent hashing over a ring of xxHash64 points (gRFC A42).</summary>
internal sealed record RingHashPolicy : LoadBalancingPolicy
{
    /// <summary>The largest ring this library builds (Envoy's limit).</summary>
    public const long RingSizeLimit = 8_388_608;

    /// <summary>Minimum number of ring entries (default 1024).</summary>
    public long MinRingSize { get; init; } = 1024;

    /// <summary>Maximum number of ring entries (default 8,388,608).</summary>
    public long MaxRingSize { get; init; } = RingSizeLimit;

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.RingHash;

    /// <inheritdoc />
    public override bool IsHashBased => true;
}

/// <summary><c>maglev</c>: consistent hashing through a lookup table of prime size.</summary>
internal sealed record MaglevPolicy : LoadBalancingPolicy
{
    /// <summary>The default and most common table size.</summary>
    public const int DefaultTableSize = 65537;

    /// <summary>Lookup table size; a prime (default 65537).</summary>
    public int TableSize { get; init; } = DefaultTableSize;

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.Maglev;

    /// <inheritdoc />
    public override bool IsHashBased => true;
}

/// <summary><c>pick_first</c>: every request to the first usable endpoint, in priority and list order.</summary>
internal sealed record PickFirstPolicy : LoadBalancingPolicy
{
    /// <summary>Shuffle the endpoint list once per configuration (gRFC A62), so that clients spread out.</summary>
    public bool ShuffleAddressList { get; init; }

    /// <inheritdoc />
    public override string Name => LoadBalancingPolicyNames.PickFirst;
}
