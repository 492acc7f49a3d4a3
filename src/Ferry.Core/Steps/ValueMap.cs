using System.Globalization;
using Ferry.Json;

namespace Ferry.Steps;

/// <summary>
/// A code list for step code: <c>var sex = ValueMap.Of(new { M = "male", F = "female" }, fallback: "unknown");</c>
/// then <c>sex.Get(c.sex)</c>. Codes are compared as text (<c>1</c> and <c>"1"</c> are the same code). A code that is not
/// in the map gives the fallback (null when none), or, with <c>strict: true</c>, an error that names the code and the
/// known codes. Null in gives null out. (<c>default</c> is a C# keyword, hence <c>fallback</c>.)
/// </summary>
[StepApi]
public sealed class ValueMap
{
    private readonly Dictionary<string, object?> _entries;
    private readonly List<string> _codes;

    private ValueMap(Dictionary<string, object?> entries, List<string> codes, object? fallback, bool strict)
    {
        _entries = entries;
        _codes = codes;
        Fallback = fallback;
        IsStrict = strict;
    }

    /// <summary>
    /// Builds a map from an anonymous object (<c>new { M = "male" }</c>), a JSON object (e.g. from state or configuration)
    /// or a dictionary. <paramref name="ignoreCase"/> makes <c>"m"</c> find <c>M</c>.
    /// </summary>
    public static ValueMap Of(object map, object? fallback = null, bool strict = false, bool ignoreCase = false)
    {
        var json = Js.From(map);
        if (json is RawJson raw) json = raw.Materialize();
        if (json is not JsObject obj)
            throw new ArgumentException($"ValueMap.Of needs codes and values such as new {{ M = \"male\", F = \"female\" }}, not {Js.ToJson(json)}.", nameof(map));
        var entries = new Dictionary<string, object?>(ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        var codes = new List<string>();
        foreach (var (code, value) in obj)
        {
            if (entries.TryAdd(code, value)) codes.Add(code);
            else throw new ArgumentException($"ValueMap.Of: code '{code}' appears twice (ignoring case). Keep one entry per code.", nameof(map));
        }
        return new ValueMap(entries, codes, Js.From(fallback), strict);
    }

    /// <summary>What a code that is not in the map gives (unless strict).</summary>
    public object? Fallback { get; }

    public bool IsStrict { get; }

    public int Count => _codes.Count;

    public IReadOnlyList<string> Codes => _codes;

    /// <summary>The same map, failing on unknown codes.</summary>
    public ValueMap Strict() => new(_entries, _codes, Fallback, strict: true);

    /// <summary>The same map with another fallback.</summary>
    public ValueMap WithFallback(object? fallback) => new(_entries, _codes, Js.From(fallback), IsStrict);

    public bool Has(object? code) => Key(code) is { } k && _entries.ContainsKey(k);

    /// <summary>The value for <paramref name="code"/>; see the class summary for unknown codes and null.</summary>
    public dynamic? Get(object? code)
    {
        var key = Key(code);
        if (key is null) return null;
        if (_entries.TryGetValue(key, out var value)) return Js.Clone(value);
        if (!IsStrict) return Js.Clone(Fallback);
        var known = string.Join(", ", _codes.Take(20)) + (_codes.Count > 20 ? ", …" : "");
        throw new KeyNotFoundException($"'{key}' is not in the value map (known codes: {known}). Add the code to the map, or build it without strict: true to use the fallback.");
    }

    private static string? Key(object? code) => code switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        RawJson raw => Key(raw.Materialize()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Js.ToJson(code),
    };
}
