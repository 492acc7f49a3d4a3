using System.Globalization;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>Converts spec constants (defaults, value map outputs, <c>value</c>) to a field's type when the spec loads.</summary>
internal static class TypeConversion
{
    public static readonly string[] TypeNames = ["string", "integer", "number", "boolean", "date"];

    public static object? ConvertConstant(object? value, FieldType type) =>
        TryConvertConstant(value, type, out var converted, out var error) ? converted : throw new FormatException(error);

    public static bool TryConvertConstant(object? value, FieldType type, out object? converted, out string? error)
    {
        converted = value;
        error = null;
        if (value is null || type == FieldType.Any) return true;
        var text = value switch
        {
            string s => s.Trim(),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => null,
        };
        if (text is null)
        {
            error = $"{Js.ToJson(value)} is not a single value, so it cannot be a {Name(type)}";
            return false;
        }
        switch (type)
        {
            case FieldType.String:
                converted = value is string ? value : text;
                return true;
            case FieldType.Integer:
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) { converted = l; return true; }
                error = $"'{text}' is not a whole number";
                return false;
            case FieldType.Number:
                if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) { converted = d; return true; }
                error = $"'{text}' is not a number";
                return false;
            case FieldType.Boolean:
                if (TryBoolean(text, out var b2)) { converted = b2; return true; }
                error = $"'{text}' is not true or false (accepted: true/false, yes/no, y/n, 1/0)";
                return false;
            case FieldType.Date:
                if (IsIsoDate(text)) { converted = text; return true; }
                error = $"'{text}' is not an ISO 8601 date such as 2024-01-31";
                return false;
            default:
                return true;
        }
    }

    public static string Name(FieldType type) => type switch
    {
        FieldType.Integer => "whole number",
        FieldType.Number => "number",
        FieldType.Boolean => "boolean",
        FieldType.Date => "date",
        FieldType.String => "text",
        _ => "value",
    };

    public static bool TryBoolean(ReadOnlySpan<char> text, out bool value)
    {
        value = false;
        if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text.Equals("yes", StringComparison.OrdinalIgnoreCase) ||
            text.Equals("y", StringComparison.OrdinalIgnoreCase) || text.SequenceEqual("1"))
        {
            value = true;
            return true;
        }
        return text.Equals("false", StringComparison.OrdinalIgnoreCase) || text.Equals("no", StringComparison.OrdinalIgnoreCase) ||
               text.Equals("n", StringComparison.OrdinalIgnoreCase) || text.SequenceEqual("0");
    }

    private static readonly string[] IsoFormats =
        ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK"];

    /// <summary>ISO 8601 dates and date-times, with or without an offset (never culture guessing).</summary>
    public static bool IsIsoDate(ReadOnlySpan<char> text) =>
        DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);

    public static bool TryParseIso(ReadOnlySpan<char> text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
}
