using System.Globalization;
using System.Text.RegularExpressions;

namespace Ferry.Spec;

/// <summary>The value notations of ferry.yaml: durations (<c>500ms</c>, <c>30s</c>, <c>1h30m</c>) and sizes (<c>10MB</c>, <c>512KB</c>, bytes).</summary>
public static partial class SpecValues
{
    /// <summary>Names, workflow/step/trigger ids: lower-case letters, digits and dashes.</summary>
    public static bool IsValidName(string value) => NamePattern().IsMatch(value);

    /// <summary>Parses <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>2d</c> and sums such as <c>1h30m</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success) return false;
        var total = 0d;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unitMatch = DurationPartPattern().Match(part.Value);
            var amount = double.Parse(unitMatch.Groups["n"].Value, CultureInfo.InvariantCulture);
            total += unitMatch.Groups["u"].Value switch
            {
                "ms" => amount,
                "s" => amount * 1_000,
                "m" => amount * 60_000,
                "h" => amount * 3_600_000,
                _ => amount * 86_400_000,
            };
        }
        if (total > TimeSpan.MaxValue.TotalMilliseconds / 2) return false;
        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>Parses <c>10MB</c>, <c>512KB</c>, <c>1GB</c> (binary multiples: 1KB = 1024 bytes) or plain bytes.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var match = SizePattern().Match(text.Trim());
        if (!match.Success) return false;
        var amount = double.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture);
        var multiplier = match.Groups["u"].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1L,
            "KB" or "KIB" => 1L << 10,
            "MB" or "MIB" => 1L << 20,
            "GB" or "GIB" => 1L << 30,
            _ => 1L << 40,
        };
        var value = amount * multiplier;
        if (value > long.MaxValue / 2 || value != Math.Floor(value)) return false;
        bytes = (long)value;
        return true;
    }

    /// <summary>Writes a duration back in ferry.yaml notation (<c>1h30m</c>, <c>500ms</c>).</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero) return "0s";
        var parts = new List<string>();
        if (duration.Days > 0) parts.Add($"{duration.Days}d");
        if (duration.Hours > 0) parts.Add($"{duration.Hours}h");
        if (duration.Minutes > 0) parts.Add($"{duration.Minutes}m");
        if (duration.Seconds > 0) parts.Add($"{duration.Seconds}s");
        if (duration.Milliseconds > 0) parts.Add($"{duration.Milliseconds}ms");
        return string.Concat(parts);
    }

    [GeneratedRegex("^[a-z0-9-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(?<part>\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)(?<u>ms|s|m|h|d)$")]
    private static partial Regex DurationPartPattern();

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)\s*(?<u>B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();
}
