namespace Mesh.Client;

/// <summary>
/// The source of randomness for load balancing and traffic splitting. Register a seeded instance
/// (<see cref="CreateSeeded(int)"/>) to make distributions reproducible in tests.
/// </summary>
public abstract class MeshRandom
{
    /// <summary>A thread-safe, allocation-free source backed by <see cref="Random.Shared"/>.</summary>
    public static MeshRandom Shared { get; } = new SharedRandom();

    /// <summary>Creates a reproducible source from a seed. Calls are serialised, so it is safe but slower under contention.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>A seeded source.</returns>
    public static MeshRandom CreateSeeded(int seed) => new SeededRandom(seed);

    /// <summary>Returns a uniformly distributed 64-bit value.</summary>
    /// <returns>A random value.</returns>
    public abstract ulong NextUInt64();

    /// <summary>Returns a value in [0, <paramref name="maxExclusive"/>).</summary>
    /// <param name="maxExclusive">Exclusive upper bound; must be positive.</param>
    /// <returns>A random value below the bound.</returns>
    public abstract long NextInt64(long maxExclusive);

    /// <summary>Returns a value in [0, 1).</summary>
    /// <returns>A random value.</returns>
    public abstract double NextDouble();

    private sealed class SharedRandom : MeshRandom
    {
        public override ulong NextUInt64() => (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.Next() << 63);

        public override long NextInt64(long maxExclusive) => Random.Shared.NextInt64(maxExclusive);

        public override double NextDouble() => Random.Shared.NextDouble();
    }

    private sealed class SeededRandom(int seed) : MeshRandom
    {
        private readonly Random _random = new(seed);
        private readonly Lock _lock = new();

        public override ulong NextUInt64()
        {
            lock (_lock)
            {
                return (ulong)_random.NextInt64() ^ ((ulong)_random.Next() << 63);
            }
        }

        public override long NextInt64(long maxExclusive)
        {
            lock (_lock)
            {
                return _random.NextInt64(maxExclusive);
            }
        }

        public override double NextDouble()
        {
            lock (_lock)
            {
                return _random.NextDouble();
            }
        }
    }
}
