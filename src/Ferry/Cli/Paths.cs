namespace Ferry.Cli;

internal static class Paths
{
    /// <summary>Where compiled steps are cached: $FERRY_CACHE_DIR, else $XDG_CACHE_HOME/ferry/steps, else ~/.cache/ferry/steps.</summary>
    public static string StepCache()
    {
        var explicitDir = Environment.GetEnvironmentVariable("FERRY_CACHE_DIR");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "ferry", "steps");
    }

    /// <summary>A path as the user would type it: relative to the current directory when inside it.</summary>
    public static string Display(string fullPath)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, fullPath);
        return relative.StartsWith("..", StringComparison.Ordinal) ? fullPath : relative;
    }
}
