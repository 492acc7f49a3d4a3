using System.Globalization;
using System.Text;

namespace Ferry.Mapping;

/// <summary>One step of a field path: a member name or an array index.</summary>
internal readonly record struct PathSegment(string? Name, int Index)
{
    public bool IsIndex => Name is null;

    public override string ToString() => Name ?? $"[{Index.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>
/// Field and state paths as written in mapping specs: <c>patient.name</c>, <c>names[0].given</c>,
/// <c>['odd key'].x</c>, with an optional leading <c>$.</c>.
/// </summary>
internal static class FieldPath
{
    public static PathSegment[] Parse(string text, out string? error)
    {
        error = null;
        var segments = new List<PathSegment>();
        var s = text.Trim();
        if (s.StartsWith("$.", StringComparison.Ordinal)) s = s[2..];
        else if (s == "$") return [];
        if (s.Length == 0)
        {
            error = "the path is empty";
            return [];
        }
        var i = 0;
        var expectName = true;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '[')
            {
                var close = s.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"'[' at position {i + 1} has no closing ']'";
                    return [];
                }
                var inner = s[(i + 1)..close].Trim();
                if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[^1] == inner[0])
                {
                    segments.Add(new PathSegment(inner[1..^1], 0));
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(new PathSegment(null, index));
                }
                else
                {
                    error = $"'[{inner}]' is neither an array index such as [0] nor a quoted name such as ['key']";
                    return [];
                }
                i = close + 1;
                expectName = false;
                continue;
            }
            if (c == '.')
            {
                if (expectName)
                {
                    error = $"an empty name at position {i + 1} (two dots, or a dot at the start)";
                    return [];
                }
                i++;
                expectName = true;
                if (i == s.Length)
                {
                    error = "the path ends with a dot";
                    return [];
                }
                continue;
            }
            if (!expectName)
            {
                error = $"expected '.' or '[' at position {i + 1}";
                return [];
            }
            var end = i;
            while (end < s.Length && s[end] != '.' && s[end] != '[') end++;
            segments.Add(new PathSegment(s[i..end], 0));
            i = end;
            expectName = false;
        }
        return [.. segments];
    }

    public static string Format(IEnumerable<PathSegment> segments)
    {
        var b = new StringBuilder();
        foreach (var seg in segments)
        {
            if (seg.IsIndex) b.Append('[').Append(seg.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            else
            {
                if (b.Length > 0) b.Append('.');
                b.Append(seg.Name);
            }
        }
        return b.ToString();
    }
}
