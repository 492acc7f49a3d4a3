using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Ferry.Mapping;

/// <summary>Scratch and output buffers, and writing the output tree.</summary>
internal sealed partial class MappingRun
{
    // ---- buffers ----------------------------------------------------------------------------------

    private ReadOnlySpan<byte> Bytes(Buf buf) => buf switch
    {
        Buf.Input => _input.Span,
        Buf.Scratch => _scratch,
        _ => _m.Constants,
    };

    private ReadOnlySpan<byte> Raw(in Val v) => Bytes(v.RawBuf).Slice(v.RawStart, v.RawLen);

    private ReadOnlySpan<byte> Text(in Val v) => v.Kind switch
    {
        JsonTokenType.None or JsonTokenType.Null => [],
        _ => Bytes(v.TextBuf).Slice(v.TextStart, v.TextLen),
    };

    private void EnsureScratch(int more)
    {
        if (_scratchLen + more <= _scratch.Length) return;
        Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchLen + more));
    }

    /// <summary>Makes a string value from UTF-8 text (anywhere), writing text and JSON form to scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Val StringFrom(Buf buf, int start, int len)
    {
        EnsureScratch((len * 7) + 2);
        var source = Bytes(buf).Slice(start, len);
        var v = new Val { Kind = JsonTokenType.String, RawBuf = Buf.Scratch, TextBuf = Buf.Scratch };
        if (buf == Buf.Scratch)
        {
            v.TextStart = start;
        }
        else
        {
            source.CopyTo(_scratch.AsSpan(_scratchLen));
            v.TextStart = _scratchLen;
            _scratchLen += len;
            source = _scratch.AsSpan(v.TextStart, len);
        }
        v.TextLen = len;
        v.RawStart = _scratchLen;
        var dest = _scratch.AsSpan(_scratchLen);
        dest[0] = (byte)'"';
        var n = 1 + Escape(source, dest[1..]);
        dest[n++] = (byte)'"';
        v.RawLen = n;
        _scratchLen += n;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Escape(ReadOnlySpan<byte> text, Span<byte> dest)
    {
        if (text.IndexOfAny(NeedsEscape) < 0)
        {
            text.CopyTo(dest);
            return text.Length;
        }
        var n = 0;
        foreach (var b in text)
        {
            switch (b)
            {
                case (byte)'"': dest[n++] = (byte)'\\'; dest[n++] = (byte)'"'; break;
                case (byte)'\\': dest[n++] = (byte)'\\'; dest[n++] = (byte)'\\'; break;
                case (byte)'\n': dest[n++] = (byte)'\\'; dest[n++] = (byte)'n'; break;
                case (byte)'\r': dest[n++] = (byte)'\\'; dest[n++] = (byte)'r'; break;
                case (byte)'\t': dest[n++] = (byte)'\\'; dest[n++] = (byte)'t'; break;
                case < 0x20:
                    "\\u00"u8.CopyTo(dest[n..]);
                    n += 4;
                    dest[n++] = (byte)"0123456789abcdef"[b >> 4];
                    dest[n++] = (byte)"0123456789abcdef"[b & 0xF];
                    break;
                default: dest[n++] = b; break;
            }
        }
        return n;
    }

    /// <summary>A number value from digits already in scratch.</summary>
    private static Val NumberInScratch(int start, int len) =>
        new() { Kind = JsonTokenType.Number, RawBuf = Buf.Scratch, TextBuf = Buf.Scratch, RawStart = start, RawLen = len, TextStart = start, TextLen = len };

    private static Val Literal(bool? value)
    {
        var (offset, len, kind) = value switch
        {
            true => (CompiledMapping.TrueOffset, 4, JsonTokenType.True),
            false => (CompiledMapping.FalseOffset, 5, JsonTokenType.False),
            null => (CompiledMapping.NullOffset, 4, JsonTokenType.Null),
        };
        return new Val { Kind = kind, RawBuf = Buf.Constant, TextBuf = Buf.Constant, RawStart = offset, RawLen = len, TextStart = offset, TextLen = len };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Put(byte b)
    {
        if (_outLen == _out.Length) Grow(1);
        _out[_outLen++] = b;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Put(ReadOnlySpan<byte> bytes)
    {
        if (_outLen + bytes.Length > _out.Length) Grow(bytes.Length);
        bytes.CopyTo(_out.AsSpan(_outLen));
        _outLen += bytes.Length;
    }

    private void Grow(int more) => Resize(Math.Max(_outLen + more, (int)Math.Min(Array.MaxLength, _out.Length + (_out.Length / 2L))));

    private void Resize(int size)
    {
        var bigger = GC.AllocateUninitializedArray<byte>(size);
        _out.AsSpan(0, _outLen).CopyTo(bigger);
        _out = bigger;
    }

    // ---- output -------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Present(OutNode node)
    {
        if (node.Field >= 0) return _results[node.Field].Kind != JsonTokenType.None;
        foreach (var c in node.Children)
        {
            if (Present(c)) return true;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteObject(OutNode node)
    {
        Put((byte)'{');
        var first = true;
        foreach (var child in node.Children)
        {
            if (!Present(child)) continue;
            if (!first) Put((byte)',');
            first = false;
            Put(child.NameJson);
            WriteValue(child);
        }
        Put((byte)'}');
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteValue(OutNode node)
    {
        if (node.Field >= 0)
        {
            Put(Raw(_results[node.Field]));
            return;
        }
        if (!node.IsArray)
        {
            WriteObject(node);
            return;
        }
        Put((byte)'[');
        var first = true;
        foreach (var child in node.Children)
        {
            if (!Present(child)) continue;
            if (!first) Put((byte)',');
            first = false;
            WriteValue(child);
        }
        Put((byte)']');
    }
}
