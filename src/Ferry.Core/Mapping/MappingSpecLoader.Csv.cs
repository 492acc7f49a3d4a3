using CsvHelper;
using Ferry.Diagnostics;

namespace Ferry.Mapping;

public static partial class MappingSpecLoader
{
    /// <summary>The CSV form's columns (the mapping spreadsheet); header names are case-insensitive.</summary>
    public static readonly IReadOnlyList<string> CsvColumns =
        ["target", "source", "required", "transform", "format_from", "format_to", "value_map", "default", "type", "value", "compute", "strict", "notes"];

    private static readonly string[] CsvDirectives = ["description", "source", "target", "on_error", "rejected", "value_maps.<name>"];

    /// <summary>
    /// Parses a CSV mapping spec: optional leading <c># key: value</c> directive lines (source, target, on_error,
    /// rejected, description, <c>value_maps.NAME: A=x; B=y</c>), then a header row and one row per target field.
    /// Locations are line:column, where column is the 1-based field number in the row.
    /// </summary>
    public static MappingSpec ParseCsv(string text, string displayPath)
    {
        var check = new SpecChecker(displayPath);
        string? source = null, target = null, rejected = null, description = null;
        var mode = MappingErrorMode.Stop;
        var maps = new Dictionary<string, ValueMapSpec>(StringComparer.Ordinal);

        // Directive lines come first; the CSV proper starts at the first line that is not a comment.
        var lines = 0;
        var reader = new StringReader(text);
        while (reader.ReadLine() is { } line)
        {
            var trimmed = line.TrimStart('\uFEFF').Trim();
            if (!trimmed.StartsWith('#') && trimmed.Length > 0) break;
            lines++;
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            if (!trimmed.StartsWith('#') || colon < 0) continue;
            var key = trimmed[1..colon].Trim().ToLowerInvariant();
            var value = trimmed[(colon + 1)..].Trim();
            var at = new SourceLocation(displayPath, lines, 1);
            switch (key)
            {
                case "source": source = check.CheckStatePath("source", value, at); break;
                case "target": target = check.CheckStatePath("target", value, at); break;
                case "rejected": rejected = check.CheckStatePath("rejected", value, at); break;
                case "description": description = value; break;
                case "on_error":
                    if (value.Equals("skip", StringComparison.OrdinalIgnoreCase)) mode = MappingErrorMode.Skip;
                    else if (!value.Equals("stop", StringComparison.OrdinalIgnoreCase))
                        check.Error("FERRY403", $"on_error is '{value}'; it must be stop or skip.", at, Suggestions.DidYouMean(value, ErrorModes));
                    break;
                default:
                    if (key.StartsWith("value_maps.", StringComparison.Ordinal) && key.Length > 11)
                    {
                        var name = trimmed[1..colon].Trim()[11..];
                        var map = ParseInlineMap(check, value, at, name);
                        if (map is not null) maps[name] = map;
                    }
                    else if (key.Length > 0 && !key.Contains(' ', StringComparison.Ordinal))
                    {
                        // "# note: …" style comments are allowed; a near-miss of a directive is most likely a typo.
                        var hint = Suggestions.Closest(key, CsvDirectives);
                        if (hint is not null) check.UnknownKey(key, CsvDirectives, at, "the CSV directives");
                    }
                    break;
            }
        }

        var drafts = new List<FieldDraft>();
        using var csv = CsvReader.FromText(text, new CsvReaderOptions { CommentPrefix = '#', TrackLineNumbers = true, SkipEmptyLines = true });
        var header = csv.Headers.Select(h => h.Trim().ToLowerInvariant().Replace(' ', '_')).ToArray();
        var headerLine = lines + 1;
        var columnOf = new int[CsvColumns.Count];
        Array.Fill(columnOf, -1);
        for (var c = 0; c < header.Length; c++)
        {
            var name = header[c] switch { "format" => "format_from", "description" => "notes", "transformation" => "transform", var h => h };
            var known = IndexOfColumn(name);
            if (known >= 0) columnOf[known] = c;
            else if (name.Length > 0 && !name.StartsWith('#'))
            {
                var hint = Suggestions.DidYouMean(name, CsvColumns);
                check.Error("FERRY401", $"Unknown column '{csv.Headers.ElementAt(c)}' in the header.", new SourceLocation(displayPath, headerLine, c + 1),
                    (hint.Length > 0 ? hint + " " : "") + $"Columns: {string.Join(", ", CsvColumns)}. Columns for people only can start with '#'.");
            }
        }
        if (header.Length == 0)
            check.Error("FERRY402", "The CSV mapping spec has no header row.", new SourceLocation(displayPath, headerLine, 1),
                $"The first row names the columns: {string.Join(",", CsvColumns)}.");
        else if (columnOf[0] < 0)
            check.Error("FERRY402", "The header has no 'target' column.", new SourceLocation(displayPath, headerLine, 1),
                $"The first row names the columns: {string.Join(",", CsvColumns)}.");
        while (csv.Read())
        {
            var row = new string[csv.FieldCount];
            for (var c = 0; c < row.Length; c++) row[c] = csv.GetString(c) ?? "";
            var line = (int)csv.LineNumber;
            if (row.All(string.IsNullOrWhiteSpace)) continue;
            string? Cell(string column, out SourceLocation at)
            {
                var index = columnOf[IndexOfColumn(column)];
                at = new SourceLocation(displayPath, line, index + 1);
                if (index < 0 || index >= row.Length) return null;
                var v = row[index].Trim();
                return v.Length == 0 ? null : v;
            }
            var draft = new FieldDraft { Location = new SourceLocation(displayPath, line, 1) };
            if (Cell("target", out var a) is { } t) draft.Target = (t, a);
            if (Cell("source", out a) is { } s) draft.Source = (s, a);
            if (Cell("value", out a) is { } val) draft.Value = (val, a);
            if (Cell("compute", out a) is { } comp) draft.Compute = (comp, a);
            if (Cell("default", out a) is { } def) draft.Default = (def, a);
            if (Cell("type", out a) is { } type) draft.Type = (type, a);
            if (Cell("notes", out _) is { } notes) draft.Notes = notes;
            if (Cell("required", out a) is { } req) draft.Required = CsvBool(check, req, "required", a);
            if (Cell("strict", out a) is { } strict) draft.Strict = CsvBool(check, strict, "strict", a);
            if (Cell("transform", out a) is { } tr)
                foreach (var x in tr.Split([',', ';', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) draft.Transforms.Add((x, a));
            if (Cell("format_from", out a) is { } from)
                foreach (var x in from.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) draft.DateFrom.Add((x, a));
            if (Cell("format_to", out a) is { } to) draft.DateTo = (to, a);
            if (Cell("value_map", out a) is { } vm)
            {
                if (vm.Contains('=', StringComparison.Ordinal)) draft.InlineMap = ParseInlineMap(check, vm, a, null);
                else draft.ValueMapName = (vm, a);
            }
            drafts.Add(draft);
        }
        return Finish(check, drafts, maps, description, source, target, rejected, mode);
    }

    private static int IndexOfColumn(string name)
    {
        for (var i = 0; i < CsvColumns.Count; i++)
        {
            if (CsvColumns[i] == name) return i;
        }
        return -1;
    }

    /// <summary>An inline code list: <c>M=male; F=female</c> (separated by ';' or '|').</summary>
    private static ValueMapSpec? ParseInlineMap(SpecChecker check, string text, SourceLocation at, string? name)
    {
        var entries = new List<KeyValuePair<string, object?>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var ok = true;
        foreach (var pair in text.Split([';', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                check.Error("FERRY403", $"Value map entry '{pair}' has no code: write CODE=value.", at, "Example: M=male; F=female");
                ok = false;
                continue;
            }
            var code = pair[..eq].Trim();
            var value = pair[(eq + 1)..].Trim();
            if (!seen.Add(code))
            {
                check.Error("FERRY404", $"Code '{code}' appears twice in value map{(name is null ? "" : $" '{name}'")}.", at, "Keep one entry per code.");
                ok = false;
                continue;
            }
            entries.Add(new(code, value.Length == 0 ? null : value));
        }
        return ok ? new ValueMapSpec { Name = name, Entries = entries, Location = at } : null;
    }

    private static bool CsvBool(SpecChecker check, string text, string column, SourceLocation at)
    {
        if (TypeConversion.TryBoolean(text, out var b)) return b;
        if (text.Equals("x", StringComparison.OrdinalIgnoreCase) || text.Equals(column, StringComparison.OrdinalIgnoreCase)) return true;
        check.Error("FERRY403", $"'{column}' is '{text}'; write yes or no.", at);
        return false;
    }
}
