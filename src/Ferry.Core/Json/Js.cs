using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Ferry.Diagnostics;

namespace Ferry.Json;

/// <summary>Reading, writing, converting and comparing JSON state values (see <see cref="JsObject"/>).</summary>
public static class Js
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };
    // Weak keys: a step's own types (anonymous objects it returns) must not keep its unloadable assembly alive.
    private static readonly ConditionalWeakTable<Type, PropertyInfo[]> PropertiesByType = new();

    // ---- parsing --------------------------------------------------------------------------------

    /// <summary>Parses UTF-8 JSON into the mutable DOM. <paramref name="source"/> names the input in errors.</summary>
    public static object? Parse(ReadOnlyMemory<byte> utf8, string? source = null)
    {
        var reader = new Utf8JsonReader(utf8.Span, ReaderOptions);
        try
        {
            if (!reader.Read()) throw new JsonException("The input is empty.", null, 0, 0);
            var names = new NameTable();
            var value = ReadValue(ref reader, names);
            if (reader.Read()) throw new JsonException("Unexpected text after the JSON value.", null, reader.CurrentState.Options.MaxDepth, reader.TokenStartIndex);
            return value;
        }
        catch (JsonException e)
        {
            throw Malformed(e, source);
        }
    }

    public static object? Parse(string json, string? source = null) => Parse(Encoding.UTF8.GetBytes(json), source);

    /// <summary>
    /// Parses a top-level JSON object keeping every object or array member as <see cref="RawJson"/>
    /// (validated, not materialized). Used for state files, whose <c>data</c> may be very large.
    /// </summary>
    public static JsObject ParseStateObject(ReadOnlyMemory<byte> utf8, string? source = null)
    {
        var span = utf8.Span;
        var reader = new Utf8JsonReader(span, ReaderOptions);
        try
        {
            if (!reader.Read()) throw new JsonException("The input is empty.");
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new FerryInputException("FERRY101", "State must be a JSON object such as {\"data\": …}.",
                    new SourceLocation(source ?? "state", 1, 1), "Wrap the value: {\"data\": <your value>}.");
            var result = new JsObject();
            var names = new NameTable();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = names.Get(ref reader);
                reader.Read();
                object? value;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var end = (int)reader.BytesConsumed;
                    value = new RawJson(utf8[start..end]);
                }
                else
                {
                    value = ReadValue(ref reader, names);
                }
                result.Set(name, value);
            }
            if (reader.Read()) throw new JsonException("Unexpected text after the JSON value.");
            return result;
        }
        catch (JsonException e)
        {
            throw Malformed(e, source);
        }
    }

    private static FerryInputException Malformed(JsonException e, string? source)
    {
        var line = (int)(e.LineNumber ?? 0) + 1;
        var col = (int)(e.BytePositionInLine ?? 0) + 1;
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return new FerryInputException("FERRY100", $"Malformed JSON: {message}",
            new SourceLocation(source ?? "input", line, col), "Fix the JSON at that position (a JSON linter shows the exact problem).");
    }

    internal static object? ReadValue(ref Utf8JsonReader reader, NameTable names)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = names.Get(ref reader);
                    reader.Read();
                    var v = ReadValue(ref reader, names);
                    if (obj.Has(name)) obj.Set(name, v); else obj.AddNew(name, v);
                }
                return obj;
            case JsonTokenType.StartArray:
                var arr = new JsArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) arr.AddRaw(ReadValue(ref reader, names));
                return arr;
            case JsonTokenType.String: return reader.GetString();
            case JsonTokenType.Number: return ReadNumber(ref reader);
            case JsonTokenType.True: return true;
            case JsonTokenType.False: return false;
            case JsonTokenType.Null: return null;
            default: throw new JsonException($"Unexpected token {reader.TokenType}.");
        }
    }

    internal static object ReadNumber(ref Utf8JsonReader reader)
    {
        if (reader.TryGetInt32(out var i)) return i;
        if (reader.TryGetInt64(out var l)) return l;
        var span = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        if (span.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && reader.TryGetDecimal(out var d)) return d;
        return reader.GetDouble();
    }

    // ---- writing --------------------------------------------------------------------------------

    public static void Write(Utf8JsonWriter writer, object? value) => Write(writer, value, null);

    /// <summary>Raw members larger than this go straight to the stream instead of through the writer's buffer.</summary>
    private const int DirectCopyThreshold = 1 << 20;

    private static void Write(Utf8JsonWriter writer, object? value, Stream? direct)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case double: writer.WriteNullValue(); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case RawJson raw when direct is not null && raw.Utf8.Length > DirectCopyThreshold:
                // A million-record array would otherwise be copied into the writer's buffer first (its size again in
                // memory). Copy all but the last byte to the stream; the writer writes that byte, so it still knows a
                // value ended (commas, indentation) — it refuses an empty raw value.
                writer.Flush();
                direct.Write(raw.Utf8.Span[..^1]);
                writer.WriteRawValue(raw.Utf8.Span[^1..], skipInputValidation: true);
                break;
            case RawJson raw: writer.WriteRawValue(raw.Utf8.Span, skipInputValidation: true); break;
            case JsObject o:
                writer.WriteStartObject();
                for (var k = 0; k < o.Count; k++)
                {
                    writer.WritePropertyName(o.KeyAt(k));
                    Write(writer, o.ValueAt(k), direct);
                }
                writer.WriteEndObject();
                break;
            case JsArray a:
                writer.WriteStartArray();
                for (var k = 0; k < a.Count; k++) Write(writer, a.GetUnmaterialized(k), direct);
                writer.WriteEndArray();
                break;
            default: Write(writer, From(value), direct); break;
        }
    }

    public static byte[] ToUtf8(object? value, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, value);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a state value to a stream (raw JSON members are copied, not re-parsed).</summary>
    public static void WriteTo(Stream stream, object? value, bool indented = false)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        Write(writer, value, stream);
    }

    public static string ToJson(object? value, bool indented = false) => Encoding.UTF8.GetString(ToUtf8(value, indented));

    // ---- conversion from CLR values -------------------------------------------------------------

    /// <summary>Deepest nesting a value converted into state may have (a value that contains itself stops here).</summary>
    public const int MaxDepth = 256;

    /// <summary>Converts any CLR value (anonymous object, record, list, dictionary, date…) into a JSON state value.</summary>
    public static object? From(object? value) => From(value, 0);

    private static object? From(object? value, int depth)
    {
        if (depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new JsonAccessException($"A value stored in state is nested deeper than {MaxDepth} levels; does it contain itself? Store a copy without the cycle.");
        switch (value)
        {
            case null or string or bool or int or long or double or decimal or JsObject or JsArray or RawJson: return value;
            case float f: return (double)f;
            case short or byte or sbyte or ushort: return Convert.ToInt32(value, CultureInfo.InvariantCulture);
            case uint u: return (long)u;
            case ulong ul: return ul <= long.MaxValue ? (long)ul : (decimal)ul;
            case char c: return c.ToString();
            case DateTime dt: return dt.ToString("O", CultureInfo.InvariantCulture);
            case DateTimeOffset dto: return dto.ToString("O", CultureInfo.InvariantCulture);
            case DateOnly d: return d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case TimeOnly t: return t.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
            case TimeSpan ts: return ts.ToString("c", CultureInfo.InvariantCulture);
            case Guid g: return g.ToString();
            case Enum e: return e.ToString();
            case JsonElement el: return Parse(Encoding.UTF8.GetBytes(el.GetRawText()));
            case System.Text.Json.Nodes.JsonNode node: return Parse(node.ToJsonString());
            case IDictionary<string, object?> dict:
                var fromDict = new JsObject(dict.Count);
                foreach (var (k, v) in dict) fromDict.Set(k, From(v, depth + 1));
                return fromDict;
            case IDictionary map:
                var fromMap = new JsObject(map.Count);
                foreach (DictionaryEntry entry in map) fromMap.Set(Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "", From(entry.Value, depth + 1));
                return fromMap;
            case IEnumerable items:
                var array = new JsArray();
                foreach (var item in items) array.Add(From(item, depth + 1));
                return array;
            default:
                var type = value.GetType();
                if (type.Namespace is { } ns && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal) || ns.StartsWith("Microsoft.", StringComparison.Ordinal)))
                    throw new JsonAccessException($"A {type.Name} cannot be stored in state: state holds JSON (text, numbers, true/false, lists, objects). Store the parts you need, e.g. its Message or ToString().");
                var props = PropertiesByType.GetValue(type, static t =>
                    t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0 && p.CanRead).ToArray());
                var obj = new JsObject(props.Length);
                foreach (var p in props) obj.Set(p.Name, From(p.GetValue(value), depth + 1));
                return obj;
        }
    }

    /// <summary>A deep copy of a state value (raw JSON is shared: it is immutable).</summary>
    public static object? Clone(object? value) => value switch
    {
        JsObject o => o.Clone(),
        JsArray a => a.Clone(),
        _ => value,
    };

    internal static object? DetachOrCopy(object? value, object newParent)
    {
        switch (value)
        {
            case JsObject o when o.Parent is not null || IsAncestorOrSelf(o, newParent): return o.Clone();
            case JsArray a when a.Parent is not null || IsAncestorOrSelf(a, newParent): return a.Clone();
            default: return value;
        }
    }

    private static bool IsAncestorOrSelf(object candidate, object? node)
    {
        while (node is not null)
        {
            if (ReferenceEquals(candidate, node)) return true;
            node = node switch { JsObject o => o.Parent, JsArray a => a.Parent, _ => null };
        }
        return false;
    }

    internal static void Orphan(object? value)
    {
        switch (value)
        {
            case JsObject o: o.Parent = null; break;
            case JsArray a: a.Parent = null; break;
        }
    }

    // ---- comparison -----------------------------------------------------------------------------

    /// <summary>JSON equality (numbers compare by value, raw JSON by content).</summary>
    public static bool DeepEquals(object? a, object? b) => Subset(a, b, exact: true, "$") is null;

    /// <summary>
    /// Checks that <paramref name="expected"/> is contained in <paramref name="actual"/>: objects may have
    /// extra members, arrays must have the same length. Returns null, or the JSON path of the first difference
    /// with what was expected and found.
    /// </summary>
    public static string? FindSubsetMismatch(object? expected, object? actual, string path = "$") => Subset(expected, actual, exact: false, path);

    private static string? Subset(object? expected, object? actual, bool exact, string path)
    {
        if (expected is RawJson re) expected = re.Materialize();
        if (actual is RawJson ra) actual = ra.Materialize();
        switch (expected)
        {
            case JsObject eo:
                if (actual is not JsObject ao) return $"{path}: expected an object, found {Describe(actual)}";
                if (exact && eo.Count != ao.Count) return $"{path}: expected {eo.Count} members, found {ao.Count}";
                foreach (var key in eo.Keys)
                {
                    if (!ao.Has(key)) return $"{path}.{key}: missing (expected {Describe(eo[key])})";
                    var m = Subset(eo[key], ao[key], exact, $"{path}.{key}");
                    if (m is not null) return m;
                }
                return null;
            case JsArray ea:
                if (actual is not JsArray aa) return $"{path}: expected an array, found {Describe(actual)}";
                if (ea.Count != aa.Count) return $"{path}: expected {ea.Count} elements, found {aa.Count}";
                for (var i = 0; i < ea.Count; i++)
                {
                    var m = Subset(ea[i], aa[i], exact, $"{path}[{i}]");
                    if (m is not null) return m;
                }
                return null;
            default:
                return ScalarEquals(expected, actual) ? null : $"{path}: expected {Describe(expected)}, found {Describe(actual)}";
        }
    }

    private static bool ScalarEquals(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b))
        {
            return Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture);
        }
        return a.Equals(b);
    }

    private static bool IsNumber(object v) => v is int or long or double or decimal;

    private static string Describe(object? v)
    {
        var json = ToJson(v);
        return json.Length > 80 ? json[..77] + "..." : json;
    }

    // ---- property-name interning ----------------------------------------------------------------

    /// <summary>Reuses one string per distinct property name while parsing (a million records share ten keys).</summary>
    internal sealed class NameTable
    {
        private readonly (byte[] Utf8, string Name)?[] _slots = new (byte[], string)?[512];

        public string Get(ref Utf8JsonReader reader)
        {
            if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > 64) return reader.GetString()!;
            var span = reader.ValueSpan;
            var slot = (int)((uint)HashCode(span) % (uint)_slots.Length);
            var entry = _slots[slot];
            if (entry is { } e && span.SequenceEqual(e.Utf8)) return e.Name;
            var name = reader.GetString()!;
            _slots[slot] = (span.ToArray(), name);
            return name;
        }

        private static int HashCode(ReadOnlySpan<byte> s)
        {
            var h = 17;
            foreach (var b in s) h = (h * 31) + b;
            return h;
        }
    }
}
