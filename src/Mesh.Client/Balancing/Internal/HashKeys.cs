using System.IO.Hashing;
using System.Text;

namespace Mesh.Client.Balancing.Internal;

/// <summary>xxHash64 over the UTF-8 bytes of a string, without allocating (long values use a pooled buffer).</summary>
internal static class HashKeys
{
    public static ulong Hash(string value, long seed = 0) => Hash(value.AsSpan(), seed);

    public static ulong Hash(ReadOnlySpan<char> value, long seed = 0)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max <= 512)
        {
            Span<byte> buffer = stackalloc byte[max];
            var written = Encoding.UTF8.GetBytes(value, buffer);
            return XxHash64.HashToUInt64(buffer[..written], seed);
        }

        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var count = Encoding.UTF8.GetBytes(value, rented);
            return XxHash64.HashToUInt64(rented.AsSpan(0, count), seed);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
