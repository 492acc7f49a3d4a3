using Ferry.Server.Api;

namespace Ferry.Tests.ServingApi;

public sealed class UnifiedDiffTests
{
    [Fact]
    public void Nearby_changes_share_one_hunk_with_three_lines_of_context()
    {
        var diff = UnifiedDiff.Of("f.csx", "a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");

        Assert.Equal("--- a/f.csx\n+++ b/f.csx\n@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e\n", diff);
    }

    [Fact]
    public void Distant_changes_make_separate_hunks_with_their_own_line_numbers()
    {
        var before = string.Join("\n", Enumerable.Range(1, 20).Select(i => $"line {i}")) + "\n";
        var after = before.Replace("line 1\n", "first\n", StringComparison.Ordinal).Replace("line 20\n", "last\n", StringComparison.Ordinal);

        var diff = UnifiedDiff.Of("f", before, after);

        Assert.Equal(
            "--- a/f\n+++ b/f\n" +
            "@@ -1,4 +1,4 @@\n-line 1\n+first\n line 2\n line 3\n line 4\n" +
            "@@ -17,4 +17,4 @@\n line 17\n line 18\n line 19\n-line 20\n+last\n",
            diff);
    }

    [Fact]
    public void Added_and_removed_files_diff_against_dev_null()
    {
        Assert.Equal("--- /dev/null\n+++ b/new.md\n@@ -0,0 +1,2 @@\n+one\n+two\n", UnifiedDiff.Of("new.md", null, "one\ntwo\n"));
        Assert.Equal("--- a/old.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n", UnifiedDiff.Of("old.md", "gone\n", null));
    }

    [Fact]
    public void Equal_texts_give_no_diff_and_line_endings_do_not_count()
    {
        Assert.Equal("", UnifiedDiff.Of("f", "a\r\nb\r\n", "a\nb\n"));
    }

    [Fact]
    public void Texts_too_different_for_the_bounded_search_are_still_a_correct_diff()
    {
        var before = string.Join("\n", Enumerable.Range(0, UnifiedDiff.MaxEdits).Select(i => $"old {i}"));
        var after = string.Join("\n", Enumerable.Range(0, UnifiedDiff.MaxEdits).Select(i => $"new {i}"));

        var lines = UnifiedDiff.Of("f", before, after).Split('\n');

        Assert.Equal(UnifiedDiff.MaxEdits, lines.Count(l => l.StartsWith("-old", StringComparison.Ordinal)));
        Assert.Equal(UnifiedDiff.MaxEdits, lines.Count(l => l.StartsWith("+new", StringComparison.Ordinal)));
        Assert.Equal($"@@ -1,{UnifiedDiff.MaxEdits} +1,{UnifiedDiff.MaxEdits} @@", lines[2]);
    }
}
