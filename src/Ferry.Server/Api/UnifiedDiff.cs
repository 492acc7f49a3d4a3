using System.Globalization;
using System.Text;

namespace Ferry.Server.Api;

/// <summary>
/// Line diffs in the unified format (<c>diff -u</c>, <c>git diff</c>): Myers' shortest edit script, hunks with three
/// lines of context. Files too different for a bounded search (over <see cref="MaxEdits"/> edits) are shown as
/// every old line removed and every new line added — still a correct diff, only not the shortest.
/// </summary>
internal static class UnifiedDiff
{
    /// <summary>Largest edit distance searched for exactly; keeps memory O(MaxEdits²) for pathological inputs.</summary>
    public const int MaxEdits = 1000;

    private const int Context = 3;

    private enum Op { Keep, Remove, Add }

    /// <summary>The unified diff of one file; empty when the texts are equal. Null text means the file does not exist on that side.</summary>
    public static string Of(string path, string? before, string? after)
    {
        var a = Lines(before);
        var b = Lines(after);
        var script = Script(a, b);
        if (script.All(e => e.Op == Op.Keep)) return "";
        var text = new StringBuilder();
        text.Append("--- ").Append(before is null ? "/dev/null" : "a/" + path).Append('\n');
        text.Append("+++ ").Append(after is null ? "/dev/null" : "b/" + path).Append('\n');
        foreach (var (start, end) in Hunks(script))
        {
            int oldLine = 0, newLine = 0;
            for (var i = 0; i < start; i++)
            {
                if (script[i].Op != Op.Add) oldLine++;
                if (script[i].Op != Op.Remove) newLine++;
            }
            var oldCount = script.Skip(start).Take(end - start).Count(e => e.Op != Op.Add);
            var newCount = script.Skip(start).Take(end - start).Count(e => e.Op != Op.Remove);
            text.Append(CultureInfo.InvariantCulture, $"@@ -{Range(oldLine, oldCount)} +{Range(newLine, newCount)} @@\n");
            for (var i = start; i < end; i++)
            {
                text.Append(script[i].Op switch { Op.Remove => '-', Op.Add => '+', _ => ' ' }).Append(script[i].Line).Append('\n');
            }
        }
        return text.ToString();
    }

    // diff -u writes an empty range as the line before it ("-0,0" for an empty file), a one-line range without its count.
    private static string Range(int linesBefore, int count) => count switch
    {
        0 => string.Create(CultureInfo.InvariantCulture, $"{linesBefore},0"),
        1 => (linesBefore + 1).ToString(CultureInfo.InvariantCulture),
        _ => string.Create(CultureInfo.InvariantCulture, $"{linesBefore + 1},{count}"),
    };

    private static string[] Lines(string? text)
    {
        if (string.IsNullOrEmpty(text)) return [];
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        return lines[^1].Length == 0 ? lines[..^1] : lines;
    }

    /// <summary>Ranges of the script to print: each change with up to three unchanged lines around it, nearby ranges merged.</summary>
    private static List<(int Start, int End)> Hunks(List<(Op Op, string Line)> script)
    {
        var hunks = new List<(int Start, int End)>();
        for (var i = 0; i < script.Count; i++)
        {
            if (script[i].Op == Op.Keep) continue;
            var start = Math.Max(0, i - Context);
            var end = i + 1;
            while (end < script.Count)
            {
                var next = end;
                while (next < script.Count && script[next].Op == Op.Keep) next++;
                if (next == script.Count || next - end > 2 * Context) break;
                end = next + 1;
            }
            end = Math.Min(script.Count, end + Context);
            if (hunks.Count > 0 && hunks[^1].End >= start) hunks[^1] = (hunks[^1].Start, end);
            else hunks.Add((start, end));
            i = end - 1;
        }
        return hunks;
    }

    /// <summary>Myers' O((N+M)·D) algorithm, keeping each round's frontier to walk the path back.</summary>
    private static List<(Op Op, string Line)> Script(string[] a, string[] b)
    {
        int n = a.Length, m = b.Length, max = n + m;
        var offset = max + 1;
        var v = new int[2 * max + 3];
        var trace = new List<int[]>();
        var found = -1;
        for (var d = 0; d <= Math.Min(max, MaxEdits) && found < 0; d++)
        {
            // Round d reads frontier entries k-1..k+1 for k in [-d, d]: keep only that window of the previous round.
            trace.Add(v[(offset - d - 1)..(offset + d + 2)]);
            for (var k = -d; k <= d; k += 2)
            {
                var x = k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
                var y = x - k;
                while (x < n && y < m && string.Equals(a[x], b[y], StringComparison.Ordinal)) { x++; y++; }
                v[offset + k] = x;
                if (x >= n && y >= m)
                {
                    found = d;
                    break;
                }
            }
        }
        if (found < 0) return [.. a.Select(l => (Op.Remove, l)), .. b.Select(l => (Op.Add, l))];

        var script = new List<(Op Op, string Line)>();
        int cx = n, cy = m;
        for (var d = found; d > 0; d--)
        {
            var prev = trace[d];
            var k = cx - cy;
            var prevK = k == -d || (k != d && prev[k - 1 + d + 1] < prev[k + 1 + d + 1]) ? k + 1 : k - 1;
            var px = prev[prevK + d + 1];
            var py = px - prevK;
            while (cx > px && cy > py)
            {
                cx--;
                cy--;
                script.Add((Op.Keep, a[cx]));
            }
            if (cx == px) script.Add((Op.Add, b[--cy]));
            else script.Add((Op.Remove, a[--cx]));
        }
        while (cx > 0 && cy > 0)
        {
            cx--;
            cy--;
            script.Add((Op.Keep, a[cx]));
        }
        script.Reverse();
        return script;
    }
}
