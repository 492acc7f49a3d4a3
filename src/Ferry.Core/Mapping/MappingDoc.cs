using System.Net;
using System.Text;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>Renders a mapping spec as the human-readable mapping table (<c>ferry mapping doc</c>).</summary>
public static class MappingDoc
{
    private static readonly string[] Columns = ["Target", "Source", "Transformation", "Value map", "Default", "Required", "Notes"];

    /// <summary>Renders <paramref name="spec"/> as <c>"markdown"</c> (a table) or <c>"html"</c> (a standalone page).</summary>
    public static string Render(MappingSpec spec, string format)
    {
        var rows = spec.Fields.Select(Row).ToList();
        return format.Trim().ToLowerInvariant() switch
        {
            "markdown" or "md" => Markdown(spec, rows),
            "html" => Html(spec, rows),
            _ => throw new ArgumentException($"Unknown document format '{format}'. Use markdown or html.", nameof(format)),
        };
    }

    private static string[] Row(FieldMapping f)
    {
        var source = f.Source ?? (f.HasValue ? $"= {Js.ToJson(f.Value)}" : f.Compute is not null ? $"computed: {f.Compute}" : "");
        var steps = new List<string>();
        steps.AddRange(f.Transforms);
        if (f.DateFrom.Count > 0) steps.Add($"date {string.Join(" or ", f.DateFrom)} → {f.DateTo ?? "yyyy-MM-dd"}");
        if (f.Type != FieldType.Any) steps.Add($"as {f.Type.ToString().ToLowerInvariant()}");
        var map = "";
        if (f.ValueMap is { } vm)
        {
            var entries = string.Join(", ", vm.Entries.Select(e => $"{e.Key} → {Text(e.Value)}"));
            map = (f.ValueMapName is { } n ? $"{n}: " : "") + entries + (f.Strict ? " (strict)" : "");
        }
        var def = f.HasDefault ? Text(f.Default) : "";
        return [f.Target, source, string.Join("; ", steps), map, def, f.Required ? "yes" : "", f.Notes ?? ""];
    }

    private static string Text(object? value) => value is string s ? s : Js.ToJson(value);

    private static string Settings(MappingSpec spec) =>
        $"Records from state.{spec.Source} to state.{spec.Target}; records that break a rule: " +
        (spec.OnError == MappingErrorMode.Stop ? "stop the step." : $"skipped and listed in state.{spec.Rejected}.");

    private static string Markdown(MappingSpec spec, List<string[]> rows)
    {
        var b = new StringBuilder();
        b.Append("# Mapping ").Append(Path.GetFileName(spec.File)).Append("\n\n");
        if (spec.Description is { } d) b.Append(d.Trim()).Append("\n\n");
        b.Append(Settings(spec)).Append("\n\n");
        b.Append("| ").Append(string.Join(" | ", Columns)).Append(" |\n");
        b.Append('|').Append(string.Concat(Columns.Select(_ => "---|"))).Append('\n');
        foreach (var row in rows)
        {
            b.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
        }
        return b.ToString();

        static string Cell(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("\r", "", StringComparison.Ordinal).Replace("\n", "<br>", StringComparison.Ordinal);
    }

    private static string Html(MappingSpec spec, List<string[]> rows)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var title = "Mapping " + Path.GetFileName(spec.File);
        var b = new StringBuilder();
        b.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n");
        b.Append("<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}" +
                 "th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}" +
                 "tr:nth-child(even) td{background:#fafafa}td.required{font-weight:bold}</style>\n</head>\n<body>\n");
        b.Append("<h1>").Append(E(title)).Append("</h1>\n");
        if (spec.Description is { } d) b.Append("<p>").Append(E(d.Trim())).Append("</p>\n");
        b.Append("<p>").Append(E(Settings(spec))).Append("</p>\n<table>\n<thead><tr>");
        foreach (var c in Columns) b.Append("<th>").Append(E(c)).Append("</th>");
        b.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in rows)
        {
            b.Append("<tr>");
            for (var i = 0; i < row.Length; i++)
            {
                b.Append(i == 5 && row[i].Length > 0 ? "<td class=\"required\">" : "<td>").Append(E(row[i])).Append("</td>");
            }
            b.Append("</tr>\n");
        }
        b.Append("</tbody>\n</table>\n</body>\n</html>\n");
        return b.ToString();
    }
}
