using Mesh.Client.Security.Internal;

namespace Mesh.Client.Tests.Security;

public sealed class Http2SchemeStreamTests
{
    private static byte[] Frame(byte type, byte flags, int stream, params byte[] payload) =>
        [(byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length, type, flags, 0, 0, 0, (byte)stream, .. payload];

    /// <summary>A client's bytes: preface, SETTINGS, requests in several HPACK shapes, DATA holding 0x86 bytes.</summary>
    private static (byte[] Input, byte[] Expected) Conversation()
    {
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        var parts = new List<(byte[] In, byte[] Out)>
        {
            (preface, preface),
            (Frame(0x4, 0, 0, 0, 3, 0, 0, 0, 100), Frame(0x4, 0, 0, 0, 3, 0, 0, 0, 100)),

            // POST (indexed), :scheme http, :path "/" (indexed 4)
            (Frame(0x1, 0x4, 1, 0x83, 0x86, 0x84), Frame(0x1, 0x4, 1, 0x83, 0x87, 0x84)),

            // DATA whose bytes look like the scheme: untouched
            (Frame(0x0, 0x1, 1, 0x86, 0x86, 0x83, 0x86), Frame(0x0, 0x1, 1, 0x86, 0x86, 0x83, 0x86)),

            // PADDED and PRIORITY flags: pad length, 5 priority bytes, then the block, then padding
            (Frame(0x1, 0x4 | 0x8 | 0x20, 3, 2, 0, 0, 0, 0, 16, 0x82, 0x86, 0x84, 0, 0), Frame(0x1, 0x4 | 0x8 | 0x20, 3, 2, 0, 0, 0, 0, 16, 0x82, 0x87, 0x84, 0, 0)),

            // A literal method (name index 2, value "PATCH"), then :scheme
            (Frame(0x1, 0x4, 5, 0x02, 5, (byte)'P', (byte)'A', (byte)'T', (byte)'C', (byte)'H', 0x86, 0x84), Frame(0x1, 0x4, 5, 0x02, 5, (byte)'P', (byte)'A', (byte)'T', (byte)'C', (byte)'H', 0x87, 0x84)),

            // A dynamic table size update (multi-byte integer) before the method
            (Frame(0x1, 0x4, 7, 0x3F, 0xE1, 0x1F, 0x82, 0x86, 0x84), Frame(0x1, 0x4, 7, 0x3F, 0xE1, 0x1F, 0x82, 0x87, 0x84)),

            // Already https: unchanged
            (Frame(0x1, 0x4, 9, 0x82, 0x87, 0x84), Frame(0x1, 0x4, 9, 0x82, 0x87, 0x84)),
        };
        return ([.. parts.SelectMany(p => p.In)], [.. parts.SelectMany(p => p.Out)]);
    }

    [Fact]
    public void EveryWriteSplit_RewritesOnlyTheSchemeBytes()
    {
        var (input, expected) = Conversation();
        for (var split = 0; split <= input.Length; split++)
        {
            using var output = new MemoryStream();
            var stream = new Http2SchemeStream(output, http2: true);
            stream.Write(input, 0, split);
            stream.Write(input, split, input.Length - split);
            Assert.Equal(expected, output.ToArray());
        }
    }

    [Fact]
    public async Task ByteByByteAsyncWrites_RewriteTheSame()
    {
        var (input, expected) = Conversation();
        var original = input.ToArray();
        using var output = new MemoryStream();
        var stream = new Http2SchemeStream(output, http2: true);
        for (var i = 0; i < input.Length; i++)
        {
            await stream.WriteAsync(input.AsMemory(i, 1));
        }

        Assert.Equal(expected, output.ToArray());
        Assert.Equal(original, input); // the caller's buffer is not modified
    }

    [Fact]
    public void Http1_PassesThroughUntouched()
    {
        var request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n\u0086"u8.ToArray();
        using var output = new MemoryStream();
        new Http2SchemeStream(output, http2: false).Write(request);
        Assert.Equal(request, output.ToArray());
    }
}
