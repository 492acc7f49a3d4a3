namespace Ferry.Diagnostics;

/// <summary>"Did you mean …?" for misspelt keys, names and identifiers.</summary>
public static class Suggestions
{
    /// <summary>The closest candidate within a small edit distance, or null.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Distance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance) { bestDistance = d; best = candidate; }
        }
        var limit = Math.Max(1, Math.Min(3, word.Length / 3));
        return bestDistance <= limit ? best : null;
    }

    /// <summary>" Did you mean 'x'?" or an empty string.</summary>
    public static string DidYouMean(string word, IEnumerable<string> candidates)
    {
        var c = Closest(word, candidates);
        return c is null ? "" : $"Did you mean '{c}'?";
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
