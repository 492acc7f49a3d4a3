using System.Globalization;
using Ferry.Json;

namespace Ferry.Adaptors.Common;

/// <summary>
/// A small path into a JSON state value, as adaptor options name places in a response:
/// <c>data.items</c>, <c>$.links.next</c>, <c>results[0].id</c>, and a filter that picks the first array element
/// whose member equals a value: <c>link[relation=next].url</c> (FHIR's next-page link).
/// </summary>
internal static class StatePath
{
    /// <summary>The value at <paramref name="path"/>, or null when any part is missing.</summary>
    public static object? Select(object? root, string path)
    {
        var current = Unwrap(root);
        foreach (var segment in Parse(path))
        {
            current = segment switch
            {
                Member m => current is JsObject o ? Unwrap(o[m.Name]) : null,
                Index i => current is JsArray a ? Unwrap(a[i.Position]) : null,
                Filter f => current is JsArray a ? a.Select(Unwrap).FirstOrDefault(e => e is JsObject o && Matches(o[f.Member], f.Value)) : null,
                _ => null,
            };
            if (current is null) return null;
        }
        return current;
    }

    /// <summary>Checks the syntax; returns a message saying what is wrong, or null.</summary>
    public static string? Validate(string path)
    {
        try
        {
            _ = Parse(path).ToList();
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    private static object? Unwrap(object? v) => v is RawJson raw ? raw.Materialize() : v;

    private static bool Matches(object? value, string expected) => value switch
    {
        string s => string.Equals(s, expected, StringComparison.Ordinal),
        null => false,
        _ => string.Equals(Js.ToJson(value), expected, StringComparison.Ordinal),
    };

    private abstract record Segment;

    private sealed record Member(string Name) : Segment;

    private sealed record Index(int Position) : Segment;

    private sealed record Filter(string Member, string Value) : Segment;

    private static IEnumerable<Segment> Parse(string path)
    {
        var p = path.Trim();
        if (p.StartsWith('$')) p = p[1..];
        var i = 0;
        while (i < p.Length)
        {
            if (p[i] == '.') { i++; continue; }
            if (p[i] == '[')
            {
                var end = p.IndexOf(']', i);
                if (end < 0) throw new FormatException($"Path '{path}': '[' at position {i + 1} has no closing ']'.");
                var inside = p[(i + 1)..end].Trim();
                var eq = inside.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                    yield return new Filter(inside[..eq].Trim(), inside[(eq + 1)..].Trim().Trim('\'', '"'));
                else if (int.TryParse(inside, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    yield return new Index(n);
                else if (inside.Length > 1 && inside[0] is '\'' or '"')
                    yield return new Member(inside.Trim('\'', '"'));
                else
                    throw new FormatException($"Path '{path}': '[{inside}]' must be an index such as [0] or a filter such as [relation=next].");
                i = end + 1;
                continue;
            }
            var stop = p.IndexOfAny(['.', '['], i);
            if (stop < 0) stop = p.Length;
            yield return new Member(p[i..stop]);
            i = stop;
        }
    }
}
