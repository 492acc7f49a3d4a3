using System.Text;
using System.Text.Json;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>Reads and writes state by path without materializing raw JSON on the way down.</summary>
internal static class StatePath
{
    public static object? Resolve(JsObject state, PathSegment[] path)
    {
        object? current = state;
        foreach (var seg in path)
        {
            current = current switch
            {
                JsObject o when !seg.IsIndex => o.GetUnmaterialized(seg.Name!),
                JsArray a when seg.IsIndex => a.GetUnmaterialized(seg.Index),
                RawJson r => Descend(r, seg),
                _ => null,
            };
            if (current is null) return null;
        }
        return current;
    }

    private static object? Descend(RawJson raw, PathSegment seg)
    {
        var reader = new Utf8JsonReader(raw.Utf8.Span);
        reader.Read();
        if (seg.IsIndex)
        {
            if (reader.TokenType != JsonTokenType.StartArray) return null;
            for (var k = 0; ; k++)
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.EndArray) return null;
                if (k == seg.Index) return Slice(raw, ref reader);
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.StartObject) return null;
        var name = Encoding.UTF8.GetBytes(seg.Name!);
        object? found = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match) found = Slice(raw, ref reader); // the last duplicate wins, as when parsing
            else reader.Skip();
        }
        return found;
    }

    private static object? Slice(RawJson raw, ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
            return new RawJson(raw.Utf8[start..(int)reader.BytesConsumed]);
        }
        var end = (int)reader.BytesConsumed;
        return Js.Parse(raw.Utf8[start..end]);
    }

    /// <summary>Sets a value at a path of member names, creating objects on the way.</summary>
    public static void Set(JsObject state, PathSegment[] path, object? value)
    {
        var parent = state;
        for (var k = 0; k < path.Length - 1; k++)
        {
            var name = path[k].Name!;
            if (parent.Get(name) is not JsObject child)
            {
                parent.Set(name, new JsObject());
                child = (JsObject)parent.Get(name)!;
            }
            parent = child;
        }
        parent.Set(path[^1].Name!, value);
    }

    /// <summary>The value at <paramref name="path"/> under <paramref name="root"/> (materializing raw JSON), or null.</summary>
    public static object? Get(object? root, PathSegment[] path)
    {
        var current = root;
        foreach (var seg in path)
        {
            current = current switch
            {
                JsObject o when !seg.IsIndex => o.Get(seg.Name!),
                JsArray a when seg.IsIndex => a[seg.Index],
                _ => null,
            };
        }
        return current;
    }
}
