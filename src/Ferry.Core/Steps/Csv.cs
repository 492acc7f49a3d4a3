using System.Globalization;
using CsvHelper;
using Ferry.Json;

namespace Ferry.Steps;

/// <summary>
/// CSV text in and out of JSON records for step code: <c>var rows = Csv.Parse(body);</c> gives an array of objects keyed
/// by the header; <c>Csv.Write(rows)</c> gives CSV text with a header of every key seen.
/// </summary>
[StepApi]
public static class Csv
{
    /// <summary>
    /// Parses CSV text into an array of objects keyed by the header row (or, with <paramref name="header"/> false, an
    /// array of arrays). <paramref name="delimiter"/> null detects , ; tab or |. Values are text unless
    /// <paramref name="inferTypes"/> is true (then whole numbers, decimals, true/false and empty → null are converted).
    /// </summary>
    public static JsArray Parse(object? text, string? delimiter = null, bool header = true, bool trim = true, bool inferTypes = false)
    {
        var csvText = text switch
        {
            null => "",
            string s => s,
            RawJson { Kind: System.Text.Json.JsonValueKind.String } raw => (string)raw.Materialize()!,
            _ => throw new ArgumentException($"Csv.Parse needs CSV text, not {Js.ToJson(text)[..Math.Min(60, Js.ToJson(text).Length)]}.", nameof(text)),
        };
        var options = new CsvReaderOptions
        {
            HasHeader = header,
            TrimWhitespace = trim,
            TrackLineNumbers = true,
            Separator = Separator(delimiter),
        };
        var result = new JsArray();
        if (csvText.Length == 0) return result;
        using var reader = CsvReader.FromText(csvText, options);
        string[] names = [];
        if (header)
        {
            names = reader.Headers.ToArray();
            for (var i = 0; i < names.Length; i++)
            {
                var j = Array.IndexOf(names, names[i], i + 1);
                if (j > 0)
                    throw new FormatException($"Csv.Parse: column '{names[i]}' appears twice in the header (columns {i + 1} and {j + 1}). Rename one, or read with header: false.");
            }
        }
        while (reader.Read())
        {
            if (!header)
            {
                var row = new JsArray(reader.FieldCount);
                for (var i = 0; i < reader.FieldCount; i++) row.Add(Value(reader.GetString(i), inferTypes));
                result.Add(row);
                continue;
            }
            if (reader.FieldCount > names.Length)
                throw new FormatException($"Csv.Parse: line {reader.LineNumber} has {reader.FieldCount} fields but the header has {names.Length} columns. Check the delimiter and quoting on that line.");
            var record = new JsObject(names.Length);
            for (var i = 0; i < names.Length; i++) record.Set(names[i], i < reader.FieldCount ? Value(reader.GetString(i), inferTypes) : (inferTypes ? null : ""));
            result.Add(record);
        }
        return result;
    }

    /// <summary>
    /// Writes records (objects) as CSV text: the header is every key in first-seen order, missing values are empty,
    /// nested objects and arrays are written as JSON. Lines end with \n.
    /// </summary>
    public static string Write(object? records, string delimiter = ",", bool header = true)
    {
        var items = Js.From(records) switch
        {
            null => new JsArray(),
            JsArray a => a,
            RawJson { Kind: System.Text.Json.JsonValueKind.Array } raw => (JsArray)raw.Materialize()!,
            var other => throw new ArgumentException($"Csv.Write needs an array of records, not {Js.ToJson(other)[..Math.Min(60, Js.ToJson(other).Length)]}.", nameof(records)),
        };
        var columns = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not JsObject o)
                throw new ArgumentException($"Csv.Write: item {i} is {Js.ToJson(items[i])}, not a record (an object).", nameof(records));
            foreach (var key in o.Keys)
            {
                if (seen.Add(key)) columns.Add(key);
            }
        }
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var writer = CsvWriter.Create(text, new CsvWriterOptions { Separator = Separator(delimiter) ?? ',', NewLine = "\n" }, leaveOpen: true))
        {
            if (header && columns.Count > 0) writer.WriteHeader(columns.ToArray());
            foreach (var item in items)
            {
                var o = (JsObject)item!;
                foreach (var column in columns) writer.WriteField(Cell(o.Get(column)));
                writer.EndRecord();
            }
        }
        return text.ToString();
    }

    private static char? Separator(string? delimiter) => delimiter switch
    {
        null or "" => null,
        "\\t" or "tab" => '\t',
        { Length: 1 } d => d[0],
        _ => throw new ArgumentException($"A CSV delimiter is one character, such as \",\", \";\" or \"\\t\"; got '{delimiter}'.", nameof(delimiter)),
    };

    private static object? Value(string? text, bool infer)
    {
        text ??= "";
        if (!infer) return text;
        if (text.Length == 0) return null;
        if (text is "true" or "TRUE" or "True") return true;
        if (text is "false" or "FALSE" or "False") return false;
        // Leading zeros (phone numbers, codes) stay text.
        if (text.Length > 1 && text[0] == '0' && text[1] != '.') return text;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l is >= int.MinValue and <= int.MaxValue ? (int)l : l;
        if (decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d)) return d;
        return text;
    }

    private static string Cell(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Js.ToJson(value),
    };
}
