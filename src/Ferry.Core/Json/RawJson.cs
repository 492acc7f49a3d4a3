using System.Text.Json;

namespace Ferry.Json;

/// <summary>
/// A JSON value kept as its UTF-8 text until someone looks inside it. State read from a file keeps
/// its top-level members raw, so a million-record <c>data</c> array costs its bytes and nothing more
/// until a step touches it; mapping streams over the bytes and writing copies them back out.
/// Immutable, so branches of a workflow share it without copying.
/// </summary>
public sealed class RawJson
{
    public RawJson(ReadOnlyMemory<byte> utf8)
    {
        Utf8 = utf8;
        Kind = KindOf(utf8.Span);
    }

    /// <summary>The complete, valid UTF-8 JSON text of one value.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    public JsonValueKind Kind { get; }

    /// <summary>Builds the mutable DOM for this value.</summary>
    public object? Materialize() => Js.Parse(Utf8);

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Utf8.Span);

    private static JsonValueKind KindOf(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            switch (b)
            {
                case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n': continue;
                case (byte)'{': return JsonValueKind.Object;
                case (byte)'[': return JsonValueKind.Array;
                case (byte)'"': return JsonValueKind.String;
                case (byte)'t': return JsonValueKind.True;
                case (byte)'f': return JsonValueKind.False;
                case (byte)'n': return JsonValueKind.Null;
                default: return JsonValueKind.Number;
            }
        }
        return JsonValueKind.Undefined;
    }
}
