using System.Globalization;
using Ferry.Diagnostics;

namespace Ferry.Spec;

/// <summary>
/// Turns the YAML tree of a ferry.yaml into a <see cref="ProjectSpec"/>, collecting every problem instead of stopping
/// at the first. This file holds the shared value readers; the partial files read one level of the file each.
/// </summary>
internal sealed partial class SpecReader
{
    private readonly string _file;
    private readonly string[] _lines;
    private readonly string _projectDirectory;
    private readonly string _displayDirectory;
    private readonly ProjectLoadOptions _options;
    private readonly List<Diagnostic> _diagnostics;

    public SpecReader(string displayFile, string text, string projectDirectory, string displayDirectory,
        ProjectLoadOptions options, List<Diagnostic> diagnostics)
    {
        _file = displayFile;
        _lines = text.Split('\n');
        _projectDirectory = projectDirectory;
        _displayDirectory = displayDirectory;
        _options = options;
        _diagnostics = diagnostics;
    }

    private SourceLocation At(YNode node) => new(_file, node.Line, node.Column);

    /// <summary>Where a scalar's text begins: after the opening quote, or the first content line of a block scalar.</summary>
    private SourceLocation AtText(YScalar scalar)
    {
        if (scalar.IsQuoted) return new(_file, scalar.Line, scalar.Column + 1);
        if (!scalar.IsBlock) return At(scalar);
        var line = scalar.Line + 1;
        var indent = 0;
        for (var i = line - 1; i < _lines.Length; i++)
        {
            var text = _lines[i].TrimEnd('\r');
            if (text.Trim().Length == 0) continue;
            indent = text.Length - text.TrimStart(' ').Length;
            break;
        }
        return new(_file, line, indent + 1);
    }

    /// <summary>A path as the user would type it from the current directory (project folder + path in ferry.yaml).</summary>
    private string DisplayPath(string relative) =>
        _displayDirectory.Length == 0 ? relative : _displayDirectory.TrimEnd('/', '\\') + "/" + relative;

    private void Error(string code, string message, YNode? node, string? hint = null) =>
        _diagnostics.Add(new Diagnostic(code, message, node is null ? new SourceLocation(_file, 0, 0) : At(node), hint));

    private void Warn(string code, string message, YNode node, string? hint = null) =>
        _diagnostics.Add(new Diagnostic(code, message, At(node), hint, DiagnosticSeverity.Warning));

    private static string Hint(params string?[] parts) => string.Join(" ", parts.Where(p => !string.IsNullOrEmpty(p)));

    /// <summary>Reports duplicated keys, non-scalar keys and keys not in <paramref name="known"/>.</summary>
    private void CheckKeys(YMap map, string where, IReadOnlyList<string> known, Func<string, string?>? explainElsewhere = null)
    {
        ReportDuplicates(map, where);
        foreach (var entry in map.Entries)
        {
            var key = entry.Key.Value;
            if (known.Contains(key)) continue;
            var explanation = explainElsewhere?.Invoke(key);
            Error(SpecCodes.UnknownKey, $"Unknown key '{key}' in {where}.", entry.Key,
                explanation ?? Hint(DidYouMean(key, known), $"Valid keys here: {string.Join(", ", known)}."));
        }
    }

    private void ReportDuplicates(YMap map, string where, string? code = null, Func<string, string>? message = null)
    {
        foreach (var (duplicate, first) in map.Duplicates)
        {
            Error(code ?? SpecCodes.DuplicateKey,
                message?.Invoke(duplicate.Value) ?? $"The key '{duplicate.Value}' is written twice in {where}.",
                duplicate, $"The first one is at line {first.Line}, column {first.Column}; keep one of them (YAML keeps a single value per key).");
        }
        foreach (var key in map.ComplexKeys)
            Error(SpecCodes.WrongType, $"A key in {where} is {key.Kind}, not a name.", key, "Keys are plain names such as 'steps' or 'fetch-cases'.");
    }

    /// <summary>The node as a mapping; an empty value reads as null without a report, anything else is reported.</summary>
    private YMap? AsMap(YNode node, string what, string example)
    {
        if (node is YMap map) return map;
        if (node is YScalar { IsNull: true }) return null;
        Error(SpecCodes.WrongType, $"{Capitalize(what)} must be a mapping (key: value lines), but it is {node.Kind}.", node,
            $"Write it as, for example: {example}");
        return null;
    }

    /// <summary>A single text value; an empty value is null. Lists and mappings are reported.</summary>
    private string? ReadString(YNode node, string what)
    {
        if (node is YScalar scalar) return scalar.IsNull ? null : scalar.Value;
        Error(SpecCodes.WrongType, $"{Capitalize(what)} must be a single value, but it is {node.Kind}.", node,
            "Write one value after the colon (quote it if it contains ': ' or starts with a special character).");
        return null;
    }

    private string? ReadName(YNode node, string what, string example)
    {
        var value = ReadString(node, what);
        if (value is not null && !SpecValues.IsValidName(value))
        {
            Error(SpecCodes.InvalidName, $"{Capitalize(what)} '{value}' is not a valid name.", node,
                $"Use lower-case letters, digits and dashes only ([a-z0-9-]+), e.g. '{Slug(value, example)}'.");
        }
        return value;
    }

    /// <summary>Checks that a key used as an id (workflow, step, trigger) matches [a-z0-9-]+.</summary>
    private void CheckId(YScalar key, string what)
    {
        if (!SpecValues.IsValidName(key.Value))
        {
            Error(SpecCodes.InvalidName, $"The {what} id '{key.Value}' is not a valid name.", key,
                $"Use lower-case letters, digits and dashes only ([a-z0-9-]+), e.g. '{Slug(key.Value, what)}'. Ids appear in URLs and logs.");
        }
    }

    private int? ReadInt(YNode node, string what, int min, int max = int.MaxValue)
    {
        var text = ReadString(node, what);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Error(SpecCodes.InvalidNumber, $"{Capitalize(what)} must be a whole number, but it is '{text}'.", node,
                $"Write a number such as {Math.Max(min, 1)} (no quotes, no units).");
            return null;
        }
        if (value < min || value > max)
        {
            Error(SpecCodes.NumberOutOfRange, $"{Capitalize(what)} is {value}, outside the allowed range.", node,
                max == int.MaxValue ? $"Use a number of at least {min}." : $"Use a number from {min} to {max}.");
            return null;
        }
        return value;
    }

    private bool? ReadBool(YNode node, string what)
    {
        var text = ReadString(node, what);
        if (text is null) return null;
        if (bool.TryParse(text, out var value)) return value;
        Error(SpecCodes.InvalidBoolean, $"{Capitalize(what)} must be true or false, but it is '{text}'.", node, "Write true or false.");
        return null;
    }

    private TimeSpan? ReadDuration(YNode node, string what)
    {
        var text = ReadString(node, what);
        if (text is null) return null;
        if (SpecValues.TryParseDuration(text, out var value) && value > TimeSpan.Zero) return value;
        var bare = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        Error(SpecCodes.InvalidDuration, $"{Capitalize(what)} '{text}' is not a duration.", node,
            bare ? $"Add a unit: '{text}s' for seconds, or ms, m, h, d." : "Write a positive number with a unit: 500ms, 30s, 5m, 1h, 2d (or sums such as 1h30m).");
        return null;
    }

    private long? ReadSize(YNode node, string what)
    {
        var text = ReadString(node, what);
        if (text is null) return null;
        if (SpecValues.TryParseSize(text, out var value) && value > 0) return value;
        Error(SpecCodes.InvalidSize, $"{Capitalize(what)} '{text}' is not a size.", node,
            "Write a positive size such as 512KB, 10MB or 1GB (1KB = 1024 bytes), or a number of bytes.");
        return null;
    }

    /// <summary>A value from a fixed set; unknown values are reported with <paramref name="code"/> and a did-you-mean.</summary>
    private string? ReadChoice(YNode node, string what, IReadOnlyList<string> allowed, string code)
    {
        var text = ReadString(node, what);
        if (text is null || allowed.Contains(text)) return text;
        Error(code, $"{Capitalize(what)} '{text}' is not one of: {string.Join(", ", allowed)}.", node,
            Hint(DidYouMean(text, allowed), $"Use one of: {string.Join(", ", allowed)}."));
        return null;
    }

    internal static string DidYouMean(string word, IEnumerable<string> candidates) => Suggestions.DidYouMean(word, candidates);

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Slug(string value, string fallback)
    {
        var chars = value.Trim().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var slug = string.Join("-", new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length > 0 ? slug : Slug(fallback, "my-name");
    }
}
