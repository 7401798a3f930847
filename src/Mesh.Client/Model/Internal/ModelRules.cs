namespace Mesh.Client.Model.Internal;

/// <summary>
/// The limits and defaults of the mesh model that both sources enforce: the appsettings compiler and the xDS
/// decoders call these, so that a value one source accepts the other accepts too. Each source words its own
/// messages (configuration paths there, xDS field names here) and keeps its own leniencies, which the rules
/// below say.
/// </summary>
internal static class ModelRules
{
    /// <summary><c>ring_hash</c>: the default minimum ring size (Envoy's and gRPC's).</summary>
    public const long DefaultMinRingSize = 1024;

    /// <summary><c>ring_hash</c>: the default maximum ring size, which is also the largest allowed.</summary>
    public const long DefaultMaxRingSize = RingHashPolicy.RingSizeLimit;

    /// <summary><c>ring_hash</c>: the smallest ring size allowed, for either bound.</summary>
    public const long MinRingSizeBound = 1;

    /// <summary><c>maglev</c>: Envoy's upper limit for a table size (itself a prime).</summary>
    public const int MaxMaglevTableSize = 5_000_011;

    /// <summary><c>least_request</c>: the default number of candidates per pick.</summary>
    public const int DefaultChoiceCount = 2;

    /// <summary><c>least_request</c>: the smallest choice count; below it is an error (gRFC A48).</summary>
    public const int MinChoiceCount = 2;

    /// <summary><c>least_request</c>: the largest choice count; larger values are capped, not rejected (gRFC A48).</summary>
    public const int MaxChoiceCount = 10;

    /// <summary>The largest gRPC status code (16, UNAUTHENTICATED).</summary>
    public const int MaxGrpcStatus = 16;

    /// <summary>The smallest weight of an endpoint that takes traffic.</summary>
    public const int MinEndpointWeight = 1;

    /// <summary>The largest percentage (outlier detection's percentages).</summary>
    public const int MaxPercent = 100;

    /// <summary>Whether <paramref name="size"/> may be a ring_hash minimum or maximum ring size (1 to 8,388,608).</summary>
    public static bool IsValidRingSize(long size) => size is >= MinRingSizeBound and <= RingHashPolicy.RingSizeLimit;

    /// <inheritdoc cref="IsValidRingSize(long)"/>
    public static bool IsValidRingSize(ulong size) => size is >= MinRingSizeBound and <= RingHashPolicy.RingSizeLimit;

    /// <summary>Whether <paramref name="size"/> may be a Maglev table size: a prime no larger than <see cref="MaxMaglevTableSize"/>.</summary>
    public static bool IsValidMaglevTableSize(long size) => size <= MaxMaglevTableSize && IsPrime(size);

    /// <summary>Whether <paramref name="size"/> may be a Maglev table size: a prime no larger than <see cref="MaxMaglevTableSize"/>.</summary>
    public static bool IsValidMaglevTableSize(ulong size) => size <= MaxMaglevTableSize && IsPrime((long)size);

    /// <summary>Whether <paramref name="count"/> is an allowed <c>least_request</c> choice count (2 or more; larger than 10 is capped).</summary>
    public static bool IsValidChoiceCount(long count) => count >= MinChoiceCount;

    /// <summary>The choice count a valid <paramref name="count"/> becomes: at most <see cref="MaxChoiceCount"/> (gRFC A48).</summary>
    public static int CapChoiceCount(long count) => (int)Math.Min(count, MaxChoiceCount);

    /// <summary>Whether <paramref name="status"/> is a gRPC status code (0 to 16).</summary>
    public static bool IsGrpcStatus(long status) => status is >= 0 and <= MaxGrpcStatus;

    /// <summary>Whether <paramref name="code"/> is an HTTP status a response can carry (100 to 599).</summary>
    public static bool IsHttpStatus(long code) => code is >= 100 and <= 599;

    /// <summary>Whether <paramref name="n"/> is a prime number.</summary>
    public static bool IsPrime(long n)
    {
        if (n < 2)
        {
            return false;
        }

        for (long d = 2; d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }
}
