using System.Globalization;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Adaptors.Common;

/// <summary>
/// The options object step code passes to an operation (an anonymous object, a dictionary or a JSON object),
/// read by name with type checks. Unknown names are refused with a "did you mean", so a typo such as
/// <c>qurey</c> fails loudly instead of being ignored.
/// </summary>
internal sealed class AdaptorOptions
{
    private readonly JsObject _values;
    private readonly string _adaptor;
    private readonly string _operation;
    private readonly string _where;

    private AdaptorOptions(JsObject values, string adaptor, string operation, string where)
    {
        _values = values;
        _adaptor = adaptor;
        _operation = operation;
        _where = where;
    }

    /// <summary>Reads step-code options for <c>adaptor.operation</c>, refusing names not in <paramref name="known"/>.</summary>
    public static AdaptorOptions Read(string adaptor, string operation, object? options, IReadOnlyCollection<string> known)
    {
        var where = $"{adaptor}.{operation}";
        var values = Js.From(options) switch
        {
            null => new JsObject(),
            JsObject o => o,
            RawJson raw when raw.Materialize() is JsObject o => o,
            var other => throw new AdaptorException(adaptor, operation,
                $"{where}: options must be an object such as new {{ query = new {{ page = 2 }} }}, found {Describe(other)}."),
        };
        foreach (var key in values.Keys)
        {
            if (known.Contains(key)) continue;
            var hint = Suggestions.DidYouMean(key, known);
            throw new AdaptorException(adaptor, operation,
                $"{where}: unknown option '{key}'. {(hint.Length > 0 ? hint + " " : "")}Known options: {string.Join(", ", known)}.");
        }
        return new AdaptorOptions(values, adaptor, operation, where);
    }

    /// <summary>Wraps a credential (no unknown-name check: the catalog validates credentials).</summary>
    public static AdaptorOptions Credential(string adaptor, JsObject configuration) => new(configuration, adaptor, "credential", $"{adaptor} credential");

    public bool Has(string name) => _values[name] is not null;

    public object? Get(string name) => _values[name];

    public string? String(string name) => _values[name] switch
    {
        null => null,
        string s => s,
        int or long or double or decimal or bool => Convert.ToString(_values[name], CultureInfo.InvariantCulture),
        var other => throw Wrong(name, "a string", other),
    };

    public double? Number(string name) => _values[name] switch
    {
        null => null,
        int i => i,
        long l => l,
        double d => d,
        decimal m => (double)m,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        var other => throw Wrong(name, "a number", other),
    };

    public int? Int(string name)
    {
        var n = Number(name);
        if (n is null) return null;
        if (n != Math.Floor(n.Value) || n < int.MinValue || n > int.MaxValue) throw Wrong(name, "a whole number", _values[name]);
        return (int)n.Value;
    }

    public bool? Bool(string name) => _values[name] switch
    {
        null => null,
        bool b => b,
        string s when bool.TryParse(s, out var b) => b,
        var other => throw Wrong(name, "true or false", other),
    };

    public JsObject? Object(string name) => _values[name] switch
    {
        null => null,
        JsObject o => o,
        var other => throw Wrong(name, "an object", other),
    };

    /// <summary>One of the allowed words (case-insensitive), or null when absent.</summary>
    public string? Choice(string name, params string[] allowed)
    {
        var s = String(name);
        if (s is null) return null;
        var match = allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new AdaptorException(_adaptor, _operation, $"{_where}: option '{name}' must be one of {string.Join(", ", allowed)}, found '{s}'. {Suggestions.DidYouMean(s, allowed)}".TrimEnd());
    }

    private AdaptorException Wrong(string name, string expected, object? found) =>
        new(_adaptor, _operation, $"{_where}: option '{name}' must be {expected}, found {Describe(found)}.");

    internal static string Describe(object? value)
    {
        var json = Js.ToJson(value);
        return json.Length > 60 ? json[..57] + "..." : json;
    }
}
