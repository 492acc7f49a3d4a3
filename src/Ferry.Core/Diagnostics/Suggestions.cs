namespace Ferry.Diagnostics;

/// <summary>"Did you mean …?" for misspelt keys, names and identifiers.</summary>
public static class Suggestions
{
    /// <summary>
    /// The closest candidate within a small edit distance (a swap of neighbouring letters counts as one edit), else the
    /// only candidate that shares every word of what was typed (hmis → hmis-db, retain_errors → retain_with_errors), or null.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        var list = candidates as IReadOnlyCollection<string> ?? candidates.ToArray();
        string? best = null;
        var bestDistance = int.MaxValue;
        var lower = word.ToLowerInvariant();
        foreach (var candidate in list)
        {
            var d = Distance(lower, candidate.ToLowerInvariant());
            if (d < bestDistance) { bestDistance = d; best = candidate; }
        }
        var limit = Math.Max(1, Math.Min(3, word.Length / 3));
        return bestDistance <= limit ? best : SharingWords(lower, list);
    }

    private static string? SharingWords(string lower, IReadOnlyCollection<string> candidates)
    {
        if (lower.Length < 3) return null;
        var words = Words(lower);
        var sharing = candidates.Where(c => words.All(w => Words(c.ToLowerInvariant()).Any(cw => cw.StartsWith(w, StringComparison.Ordinal)))).Take(2).ToArray();
        return sharing.Length == 1 ? sharing[0] : null;
    }

    private static string[] Words(string text) => text.Split(['-', '_', '/', '.', ' '], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>" Did you mean 'x'?" or an empty string.</summary>
    public static string DidYouMean(string word, IEnumerable<string> candidates)
    {
        var c = Closest(word, candidates);
        return c is null ? "" : $"Did you mean '{c}'?";
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and neighbour swaps.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
