using System.Globalization;
using Ferry.Json;
using Ferry.Mapping;

namespace Ferry.Steps;

/// <summary>
/// Working with arrays of records in step code: chunking for batch APIs, each/map with the index, grouping and
/// indexing by a field. Methods that take a lambda need a typed array, because C# cannot pass a lambda to a call
/// on a <c>dynamic</c> value: write <c>Records.Each((JsArray)state.data, (r, i) => …)</c> or first
/// <c>IEnumerable&lt;dynamic&gt; rows = state.data;</c>.
/// </summary>
[StepApi]
public static class Records
{
    /// <summary>Splits an array into arrays of at most <paramref name="size"/> items: <c>Records.Chunk(state.data, 100)</c>.</summary>
    public static JsArray Chunk(object? items, int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "Records.Chunk needs a chunk size of 1 or more.");
        var result = new JsArray();
        JsArray? current = null;
        foreach (var item in Items(items, nameof(Chunk)))
        {
            if (current is null || current.Count == size)
            {
                if (current is not null) result.Add(current);
                current = new JsArray(size);
            }
            current.Add(item);
        }
        if (current is not null) result.Add(current);
        return result;
    }

    /// <summary>Calls <paramref name="action"/> with each item and its index.</summary>
    public static void Each(IEnumerable<object?> items, Action<dynamic?, int> action)
    {
        var i = 0;
        foreach (var item in items) action(item, i++);
    }

    /// <summary>Awaits <paramref name="action"/> for each item and its index, one at a time (for adaptor calls).</summary>
    public static async Task EachAsync(IEnumerable<object?> items, Func<dynamic?, int, Task> action)
    {
        var i = 0;
        foreach (var item in items) await action(item, i++);
    }

    /// <summary>A new array of what <paramref name="selector"/> returns for each item and its index.</summary>
    public static JsArray Map(IEnumerable<object?> items, Func<dynamic?, int, object?> selector)
    {
        var result = new JsArray();
        var i = 0;
        foreach (var item in items) result.Add(selector(item, i++));
        return result;
    }

    /// <summary>The items for which <paramref name="predicate"/> is true (copies).</summary>
    public static JsArray Filter(IEnumerable<object?> items, Func<dynamic?, bool> predicate)
    {
        var result = new JsArray();
        foreach (var item in items)
        {
            if (predicate(item)) result.Add(item);
        }
        return result;
    }

    /// <summary>
    /// Groups records by the value at <paramref name="field"/> (a path such as <c>district</c> or <c>address.city</c>):
    /// an object from each value (as text; records without one go under <c>"null"</c>) to the array of its records, in first-seen order.
    /// </summary>
    public static JsObject GroupBy(object? items, string field)
    {
        var path = Path(field, nameof(GroupBy));
        var groups = new JsObject();
        foreach (var item in Items(items, nameof(GroupBy)))
        {
            var key = KeyText(At(item, path));
            if (groups.Get(key) is not JsArray group)
            {
                groups.Set(key, new JsArray());
                group = (JsArray)groups.Get(key)!;
            }
            group.Add(item);
        }
        return groups;
    }

    /// <summary>An object from the value at <paramref name="field"/> to its record (the last record wins on duplicates).</summary>
    public static JsObject IndexBy(object? items, string field)
    {
        var path = Path(field, nameof(IndexBy));
        var index = new JsObject();
        foreach (var item in Items(items, nameof(IndexBy))) index.Set(KeyText(At(item, path)), item);
        return index;
    }

    /// <summary>The value at <paramref name="field"/> of each record (null where missing).</summary>
    public static JsArray Pluck(object? items, string field)
    {
        var path = Path(field, nameof(Pluck));
        var result = new JsArray();
        foreach (var item in Items(items, nameof(Pluck))) result.Add(At(item, path));
        return result;
    }

    private static IEnumerable<object?> Items(object? items, string method) => items switch
    {
        null => [],
        JsArray a => a,
        RawJson { Kind: System.Text.Json.JsonValueKind.Array } raw => (JsArray)raw.Materialize()!,
        JsObject or string or RawJson => throw new ArgumentException($"Records.{method} needs an array, not {Describe(items)}."),
        IEnumerable<object?> e => e,
        System.Collections.IEnumerable e => e.Cast<object?>(),
        _ => throw new ArgumentException($"Records.{method} needs an array, not {Describe(items)}."),
    };

    private static string Describe(object? value)
    {
        var json = Js.ToJson(value);
        return json.Length > 60 ? json[..57] + "..." : json;
    }

    private static PathSegment[] Path(string field, string method)
    {
        var segments = FieldPath.Parse(field, out var error);
        if (error is not null) throw new ArgumentException($"Records.{method}: '{field}' is not a field path ({error}).", nameof(field));
        return segments;
    }

    private static object? At(object? item, PathSegment[] path) => Mapping.StatePath.Get(item, path);

    private static string KeyText(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Js.ToJson(value),
    };
}
