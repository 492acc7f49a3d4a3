namespace Ferry.Deploy;

/// <summary>What changes between two project versions, file by file, with added/removed line counts.</summary>
public static class BundleDiff
{
    public static IReadOnlyList<string> Compare(ProjectBundle? before, ProjectBundle after)
    {
        var changes = new List<string>();
        var old = before?.Files ?? new Dictionary<string, string>();
        foreach (var (path, text) in after.Files)
        {
            if (!old.TryGetValue(path, out var previous)) changes.Add($"+ {path} (new, {Lines(text).Length} lines)");
            else if (previous != text)
            {
                var (added, removed) = LineChanges(previous, text);
                changes.Add($"~ {path} (+{added} -{removed} lines)");
            }
        }
        foreach (var path in old.Keys.Where(p => !after.Files.ContainsKey(p))) changes.Add($"- {path} (removed)");
        return changes;
    }

    /// <summary>Lines added and removed, counted as a multiset difference (order changes count as both).</summary>
    public static (int Added, int Removed) LineChanges(string before, string after)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in Lines(before)) counts[line] = counts.GetValueOrDefault(line) + 1;
        var added = 0;
        foreach (var line in Lines(after))
        {
            if (counts.GetValueOrDefault(line) > 0) counts[line]--;
            else added++;
        }
        return (added, counts.Values.Sum());
    }

    private static string[] Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
}
