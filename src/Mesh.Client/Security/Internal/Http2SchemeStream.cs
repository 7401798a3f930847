using System.Buffers;

namespace Mesh.Client.Security.Internal;

/// <summary>
/// The client side of a TLS connection that the HTTP handler above believes is cleartext: the handler
/// writes <c>:scheme: http</c> into every HTTP/2 request, and servers that check the scheme against the
/// connection (Kestrel does, with PROTOCOL_ERROR) refuse it. This stream passes everything through and
/// changes that one pseudo-header to <c>https</c> in HEADERS frames: one byte (HPACK static index 6 →
/// 7) at the start of each header block, so no length and no compression state change. HTTP/1.1
/// carries no scheme and passes through untouched.
/// </summary>
internal sealed class Http2SchemeStream : Stream
{
    private const int PrefaceLength = 24;
    private const byte HeadersFrame = 0x1;
    private const byte FlagPadded = 0x8;
    private const byte FlagPriority = 0x20;
    private const byte IndexedSchemeHttp = 0x86;
    private const byte IndexedSchemeHttps = 0x87;

    private readonly Stream _inner;
    private readonly byte[] _frameHeader = new byte[9];
    private int _prefaceLeft;
    private int _frameHeaderFill;
    private int _payloadLeft;
    private int _skipLeft;
    private Block _block;

    // Decoding one HPACK representation (the :method before :scheme), byte by byte.
    private int _stringLeft;
    private bool _inInteger;
    private int _stringsLeft;
    private int _length;
    private int _lengthShift;

    public Http2SchemeStream(Stream inner, bool http2)
    {
        _inner = inner;
        _prefaceLeft = http2 ? PrefaceLength : -1;
    }

    private enum Block
    {
        /// <summary>Not in a HEADERS payload, or its scheme is done.</summary>
        None,

        /// <summary>Reading the frame's pad length or priority bytes.</summary>
        Prefix,

        /// <summary>At the first representation of the block (table size updates skipped).</summary>
        First,

        /// <summary>Inside the literal :method representation.</summary>
        Literal,

        /// <summary>The next byte is :scheme.</summary>
        Scheme,
    }

    public Stream InnerStream => _inner;

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => _inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var at = Rewrite(buffer);
        if (at is null)
        {
            _inner.Write(buffer);
            return;
        }

        var copy = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(copy);
            Patch(copy, at);
            _inner.Write(copy, 0, buffer.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var at = Rewrite(buffer.Span);
        return at is null ? _inner.WriteAsync(buffer, cancellationToken) : WritePatchedAsync(buffer, at, cancellationToken);
    }

    private async ValueTask WritePatchedAsync(ReadOnlyMemory<byte> buffer, List<int> at, CancellationToken cancellationToken)
    {
        var copy = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.Span.CopyTo(copy);
            Patch(copy, at);
            await _inner.WriteAsync(copy.AsMemory(0, buffer.Length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static void Patch(byte[] copy, List<int> at)
    {
        foreach (var index in at)
        {
            copy[index] = IndexedSchemeHttps;
        }
    }

    /// <summary>Walks the bytes written; returns the positions of <c>:scheme: http</c> bytes to change, or null when there are none.</summary>
    private List<int>? Rewrite(ReadOnlySpan<byte> buffer)
    {
        List<int>? positions = null;
        var i = 0;
        if (_prefaceLeft < 0)
        {
            return null;
        }

        while (i < buffer.Length)
        {
            if (_prefaceLeft > 0)
            {
                var take = Math.Min(_prefaceLeft, buffer.Length - i);
                _prefaceLeft -= take;
                i += take;
                continue;
            }

            if (_payloadLeft == 0)
            {
                ReadFrameHeader(buffer[i++]);
                continue;
            }

            if (_block == Block.None)
            {
                var take = Math.Min(_payloadLeft, buffer.Length - i);
                _payloadLeft -= take;
                i += take;
                continue;
            }

            _payloadLeft--;
            if (ReadHeaderBlock(buffer[i++]))
            {
                (positions ??= []).Add(i - 1);
            }
        }

        return positions;
    }

    /// <summary>Takes one byte of a frame header (24-bit length, type, flags, stream id); at its ninth, starts the frame's payload.</summary>
    private void ReadFrameHeader(byte b)
    {
        _frameHeader[_frameHeaderFill++] = b;
        if (_frameHeaderFill < 9)
        {
            return;
        }

        _frameHeaderFill = 0;
        _payloadLeft = (_frameHeader[0] << 16) | (_frameHeader[1] << 8) | _frameHeader[2];
        var type = _frameHeader[3];
        var flags = _frameHeader[4];
        _block = Block.None;
        if (type == HeadersFrame && _payloadLeft > 0)
        {
            _skipLeft = ((flags & FlagPriority) != 0 ? 5 : 0) + ((flags & FlagPadded) != 0 ? 1 : 0);
            _block = _skipLeft > 0 ? Block.Prefix : Block.First;
        }
    }

    /// <summary>Takes one byte of a HEADERS payload before its scheme is done; true when it is <c>:scheme: http</c>, to change.</summary>
    private bool ReadHeaderBlock(byte b)
    {
        switch (_block)
        {
            case Block.Prefix:
                if (--_skipLeft == 0)
                {
                    _block = Block.First;
                }

                return false;
            case Block.First:
                ReadFirstRepresentation(b);
                return false;
            case Block.Literal:
                ReadLiteral(b);
                return false;
            case Block.Scheme:
                _block = Block.None;
                return b == IndexedSchemeHttp;
            default:
                return false;
        }
    }

    /// <summary>The first byte of a representation: a table size update (skipped), an indexed :method, or a literal one.</summary>
    private void ReadFirstRepresentation(byte b)
    {
        if ((b & 0xE0) == 0x20)
        {
            // Dynamic table size update: skip its integer and look again.
            _inInteger = (b & 0x1F) == 0x1F;
            _block = _inInteger ? Block.Literal : Block.First;
            _stringsLeft = 0;
            return;
        }

        if ((b & 0x80) != 0)
        {
            _block = Block.Scheme; // indexed :method (GET 0x82, POST 0x83)
            return;
        }

        // A literal :method: an indexed name (or a literal one) and a value string.
        var prefix = (b & 0x40) != 0 ? 0x3F : 0x0F;
        _stringsLeft = (b & prefix) == 0 ? 2 : 1;
        _inInteger = (b & prefix) == prefix;
        _stringLeft = -1;
        _block = Block.Literal;
    }

    /// <summary>One byte inside a literal :method (or a table size update's integer); after its last string, the scheme is next.</summary>
    private void ReadLiteral(byte b)
    {
        if (_inInteger)
        {
            _inInteger = (b & 0x80) != 0;
            if (!_inInteger && _stringsLeft == 0)
            {
                _block = Block.First; // the table size update ended
            }

            return;
        }

        if (_stringLeft > 0)
        {
            _stringLeft--;
        }
        else if (_stringLeft == -1 || _stringLeft == -2)
        {
            ReadStringLength(b);
        }

        if (_stringLeft == 0)
        {
            _stringsLeft--;
            _stringLeft = -1;
            if (_stringsLeft == 0)
            {
                _block = Block.Scheme;
            }
        }
    }

    /// <summary>A byte of a string's length: a 7-bit prefix (-1 before it), maybe continued (-2 while it is).</summary>
    private void ReadStringLength(byte b)
    {
        if (_stringLeft == -1)
        {
            _stringLeft = b & 0x7F;
            if (_stringLeft == 0x7F)
            {
                _stringLeft = -2;
                _lengthShift = 0;
                _length = 0x7F;
            }
        }
        else
        {
            _length += (b & 0x7F) << _lengthShift;
            _lengthShift += 7;
            if ((b & 0x80) == 0)
            {
                _stringLeft = _length;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => _inner.DisposeAsync();
}
