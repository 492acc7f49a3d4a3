using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Ferry.Mapping;

/// <summary>
/// The record scanner. Input JSON has been validated already (a <see cref="Ferry.Json.RawJson"/> holds valid JSON by
/// contract: the state parser checked it, or the mapper serialized it), so records are scanned with vectorized
/// searches for quotes and brackets instead of a second full validation by <see cref="Utf8JsonReader"/>. Anything
/// unexpected still ends in a <see cref="JsonException"/>, never in a wrong result.
/// </summary>
internal sealed partial class MappingRun
{
    private static readonly SearchValues<byte> QuoteOrBackslash = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> Structural = SearchValues.Create("\"{}[]"u8);

    /// <summary>Scans the object at <paramref name="pos"/>, capturing the members the mapping needs; returns the end position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ScanRecord(ReadOnlySpan<byte> s, int pos, scoped Span<byte> nameBuffer)
    {
        var keys = _m.TopKeys;
        pos = SkipSpace(s, pos + 1);
        if (s[pos] == (byte)'}') return pos + 1;
        while (true)
        {
            if (s[pos] != (byte)'"') throw Malformed(pos, "a member name");
            var nameEnd = StringEnd(s, pos + 1, out var nameEscaped);
            var slot = FindSlot(s, pos, nameEnd, nameEscaped, keys, nameBuffer);
            pos = SkipSpace(s, nameEnd + 1);
            if (s[pos] != (byte)':') throw Malformed(pos, "':'");
            var valueStart = SkipSpace(s, pos + 1);
            var valueEnd = ValueEnd(s, valueStart, out var kind, out var escaped);
            if (slot >= 0) CaptureScanned(s, valueStart, valueEnd, kind, escaped, ref _slots[slot]);
            pos = SkipSpace(s, valueEnd);
            if (s[pos] == (byte)',')
            {
                pos = SkipSpace(s, pos + 1);
                continue;
            }
            if (s[pos] == (byte)'}') return pos + 1;
            throw Malformed(pos, "',' or '}'");
        }
    }

    /// <summary>The index of the closing quote of the string whose content starts at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int StringEnd(ReadOnlySpan<byte> s, int start, out bool escaped)
    {
        escaped = false;
        var i = start;
        // Most record texts are short: a plain loop beats setting up a vectorized search for them.
        var quick = Math.Min(s.Length, start + 24);
        while (i < quick)
        {
            var b = s[i];
            if (b == (byte)'"') return i;
            if (b == (byte)'\\') break;
            i++;
        }
        while (true)
        {
            var k = i < s.Length ? s[i..].IndexOfAny(QuoteOrBackslash) : -1;
            if (k < 0) throw Malformed(s.Length, "the end of a text");
            i += k;
            if (s[i] == (byte)'"') return i;
            escaped = true;
            i += 2; // the escaped character; \uXXXX continues with hex digits, which are plain
        }
    }

    /// <summary>The end (exclusive) of the value starting at <paramref name="pos"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ValueEnd(ReadOnlySpan<byte> s, int pos, out JsonTokenType kind, out bool escaped)
    {
        escaped = false;
        switch (s[pos])
        {
            case (byte)'"':
                kind = JsonTokenType.String;
                return StringEnd(s, pos + 1, out escaped) + 1;
            case (byte)'{':
                kind = JsonTokenType.StartObject;
                return ContainerEnd(s, pos);
            case (byte)'[':
                kind = JsonTokenType.StartArray;
                return ContainerEnd(s, pos);
            case (byte)'t':
                kind = JsonTokenType.True;
                return Literal(s, pos, "true"u8);
            case (byte)'f':
                kind = JsonTokenType.False;
                return Literal(s, pos, "false"u8);
            case (byte)'n':
                kind = JsonTokenType.Null;
                return Literal(s, pos, "null"u8);
            default:
                kind = JsonTokenType.Number;
                var i = pos;
                while (i < s.Length && s[i] is (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E') i++;
                if (i == pos) throw Malformed(pos, "a value");
                return i;
        }
    }

    private static int Literal(ReadOnlySpan<byte> s, int pos, ReadOnlySpan<byte> literal) =>
        s[pos..].StartsWith(literal) ? pos + literal.Length : throw Malformed(pos, "a value");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ContainerEnd(ReadOnlySpan<byte> s, int pos)
    {
        var depth = 0;
        var i = pos;
        while (true)
        {
            var k = i < s.Length ? s[i..].IndexOfAny(Structural) : -1;
            if (k < 0) throw Malformed(s.Length, "the end of an object or array");
            i += k;
            switch (s[i])
            {
                case (byte)'"':
                    i = StringEnd(s, i + 1, out _) + 1;
                    break;
                case (byte)'{' or (byte)'[':
                    depth++;
                    i++;
                    break;
                default:
                    i++;
                    if (--depth == 0) return i;
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int FindSlot(ReadOnlySpan<byte> s, int quote, int nameEnd, bool escaped, byte[][] keys, scoped Span<byte> nameBuffer)
    {
        scoped ReadOnlySpan<byte> name = s[(quote + 1)..nameEnd];
        if (escaped)
        {
            var reader = new Utf8JsonReader(s[quote..(nameEnd + 1)]);
            reader.Read();
            name = name.Length <= nameBuffer.Length ? nameBuffer[..reader.CopyString(nameBuffer)] : System.Text.Encoding.UTF8.GetBytes(reader.GetString()!);
        }
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if (key.Length == name.Length && name.SequenceEqual(key)) return i;
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CaptureScanned(ReadOnlySpan<byte> s, int start, int end, JsonTokenType kind, bool escaped, ref Val v)
    {
        v.Kind = kind;
        v.RawBuf = Buf.Input;
        v.TextBuf = Buf.Input;
        v.RawStart = start;
        v.RawLen = end - start;
        if (kind != JsonTokenType.String)
        {
            v.TextStart = start;
            v.TextLen = end - start;
            return;
        }
        if (!escaped)
        {
            v.TextStart = start + 1;
            v.TextLen = end - start - 2;
            return;
        }
        var reader = new Utf8JsonReader(s[start..end]);
        reader.Read();
        EnsureScratch(end - start);
        var n = reader.CopyString(_scratch.AsSpan(_scratchLen));
        v.TextBuf = Buf.Scratch;
        v.TextStart = _scratchLen;
        v.TextLen = n;
        _scratchLen += n;
    }

    private static JsonException Malformed(int pos, string expected) =>
        new($"The records' JSON is malformed at byte {pos}: expected {expected}.");
}
