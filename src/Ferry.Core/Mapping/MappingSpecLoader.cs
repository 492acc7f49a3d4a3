using System.Globalization;
using System.Text.RegularExpressions;
using Ferry.Diagnostics;
using Ferry.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ferry.Mapping;

/// <summary>
/// Loads mapping specs (docs/mapping.md) from YAML (<c>.yaml</c>/<c>.yml</c>) or CSV (<c>.csv</c>) into one
/// <see cref="MappingSpec"/>. Every problem is reported at once, each with file:line:col, in a
/// <see cref="FerryInputException"/>.
/// </summary>
public static partial class MappingSpecLoader
{
    private static readonly string[] TopKeys = ["description", "source", "target", "on_error", "rejected", "value_maps", "fields"];
    private static readonly string[] FieldKeys = ["target", "source", "value", "compute", "required", "transform", "format", "value_map", "default", "strict", "type", "notes"];
    private static readonly string[] ErrorModes = ["stop", "skip"];

    /// <summary>Loads a spec file; the format follows the extension (<c>.csv</c> is CSV, anything else YAML).</summary>
    public static MappingSpec Load(string path, string? displayPath = null)
    {
        var shown = displayPath ?? path;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FerryInputException("FERRY409", $"Cannot read mapping spec {shown}: {e.Message}", new SourceLocation(shown, 0, 0),
                "Check the path (relative to the project folder) and the file's permissions.");
        }
        return Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase) ? ParseCsv(text, shown) : ParseYaml(text, shown);
    }

    /// <summary>Parses a YAML mapping spec from text; <paramref name="displayPath"/> names it in errors.</summary>
    public static MappingSpec ParseYaml(string text, string displayPath)
    {
        var check = new SpecChecker(displayPath);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new FerryInputException("FERRY408", $"Mapping spec is not valid YAML: {message}", At(displayPath, e.Start),
                "Fix the YAML at that position (indentation and ':' after each key are the usual suspects).");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FerryInputException("FERRY402", "Mapping spec is empty or not a YAML mapping.", new SourceLocation(displayPath, 1, 1),
                "Start with 'fields:' and one entry per target field (see docs/mapping.md).");
        }

        string? source = null, target = null, rejected = null, description = null;
        var mode = MappingErrorMode.Stop;
        var maps = new Dictionary<string, ValueMapSpec>(StringComparer.Ordinal);
        var drafts = new List<FieldDraft>();
        var sawFields = false;
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = Scalar(keyNode) ?? "";
            var at = At(displayPath, keyNode.Start);
            switch (key)
            {
                case "description": description = Scalar(valueNode); break;
                case "source": source = check.CheckStatePath("source", ExpectText(check, valueNode, key), At(displayPath, valueNode.Start)); break;
                case "target": target = check.CheckStatePath("target", ExpectText(check, valueNode, key), At(displayPath, valueNode.Start)); break;
                case "rejected": rejected = check.CheckStatePath("rejected", ExpectText(check, valueNode, key), At(displayPath, valueNode.Start)); break;
                case "on_error":
                    var m = Scalar(valueNode)?.Trim().ToLowerInvariant();
                    if (m == "skip") mode = MappingErrorMode.Skip;
                    else if (m != "stop")
                    {
                        var hint = Suggestions.DidYouMean(m ?? "", ErrorModes);
                        check.Error("FERRY403", $"on_error is '{Scalar(valueNode)}'; it must be stop or skip.", At(displayPath, valueNode.Start),
                            (hint.Length > 0 ? hint + " " : "") + "stop fails the step at the first bad record; skip lists bad records in state.rejected and maps the rest.");
                    }
                    break;
                case "value_maps":
                    if (valueNode is not YamlMappingNode mapsNode)
                    {
                        check.Error("FERRY403", "value_maps must be a mapping of names to code lists.", At(displayPath, valueNode.Start), "Example: value_maps: { sex: { M: male, F: female } }");
                        break;
                    }
                    foreach (var (nameNode, mapNode) in mapsNode.Children)
                    {
                        var name = Scalar(nameNode) ?? "";
                        var map = ReadYamlMap(check, mapNode, name);
                        if (map is not null) maps[name] = map;
                    }
                    break;
                case "fields":
                    sawFields = true;
                    if (valueNode is not YamlSequenceNode seq)
                    {
                        check.Error("FERRY403", "fields must be a list, one entry per target field.", At(displayPath, valueNode.Start), "Write each field as '- target: …'.");
                        break;
                    }
                    foreach (var item in seq.Children) drafts.Add(ReadYamlField(check, item));
                    break;
                default:
                    check.UnknownKey(key, TopKeys, at, "the mapping spec");
                    break;
            }
        }
        if (!sawFields)
            check.Error("FERRY402", "Mapping spec has no 'fields:' list.", new SourceLocation(displayPath, 1, 1), "Add fields: with one '- target: …' entry per output field.");
        return Finish(check, drafts, maps, description, source, target, rejected, mode);
    }

    private static MappingSpec Finish(SpecChecker check, List<FieldDraft> drafts, Dictionary<string, ValueMapSpec> maps, string? description,
        string? source, string? target, string? rejected, MappingErrorMode mode)
    {
        var fields = new List<FieldMapping>();
        foreach (var d in drafts)
        {
            var f = check.Build(d, maps);
            if (f is not null) fields.Add(f);
        }
        check.CheckTargets(drafts);
        if (check.Diagnostics.Count > 0) throw new FerryInputException(check.Diagnostics);
        var spec = new MappingSpec
        {
            File = check.File,
            Description = description,
            Source = source ?? "data",
            Target = target ?? source ?? "data",
            Rejected = rejected ?? "rejected",
            OnError = mode,
            ValueMaps = maps,
            Fields = fields,
        };
        _ = spec.Compiled; // compile now, so a spec that loads also runs
        return spec;
    }

    private static FieldDraft ReadYamlField(SpecChecker check, YamlNode node)
    {
        var file = check.File;
        var draft = new FieldDraft { Location = At(file, node.Start) };
        if (node is not YamlMappingNode map)
        {
            check.Error("FERRY403", "A field must be a mapping such as '- target: patient.id'.", draft.Location, "Each entry under fields: has keys target, source, …");
            return draft;
        }
        foreach (var (keyNode, v) in map.Children)
        {
            var key = Scalar(keyNode) ?? "";
            var at = At(file, v.Start);
            switch (key)
            {
                case "target": draft.Target = (ExpectText(check, v, key) ?? "", at); break;
                case "source": draft.Source = (ExpectText(check, v, key) ?? "", at); break;
                case "compute": draft.Compute = (ExpectText(check, v, key) ?? "", at); break;
                case "value": draft.Value = (ToJson(v), at); break;
                case "default": draft.Default = (ToJson(v), at); break;
                case "notes": draft.Notes = Scalar(v); break;
                case "type": draft.Type = (ExpectText(check, v, key) ?? "", at); break;
                case "required": draft.Required = ExpectBool(check, v, key); break;
                case "strict": draft.Strict = ExpectBool(check, v, key); break;
                case "transform":
                    if (v is YamlSequenceNode ts) foreach (var t in ts.Children) draft.Transforms.Add((Scalar(t) ?? "", At(file, t.Start)));
                    else foreach (var t in (Scalar(v) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) draft.Transforms.Add((t, at));
                    break;
                case "format":
                    ReadYamlFormat(check, v, draft);
                    break;
                case "value_map":
                    if (v is YamlMappingNode) draft.InlineMap = ReadYamlMap(check, v, null);
                    else draft.ValueMapName = (ExpectText(check, v, key) ?? "", at);
                    break;
                default:
                    check.UnknownKey(key, FieldKeys, At(file, keyNode.Start), "a field");
                    break;
            }
        }
        return draft;
    }

    private static void ReadYamlFormat(SpecChecker check, YamlNode v, FieldDraft draft)
    {
        var file = check.File;
        if (v is YamlScalarNode s)
        {
            draft.DateFrom.Add((s.Value ?? "", At(file, v.Start)));
            return;
        }
        if (v is not YamlMappingNode m)
        {
            check.Error("FERRY403", "format must be a date format or { from: …, to: … }.", At(file, v.Start), "Example: format: { from: MM/dd/yyyy, to: yyyy-MM-dd }");
            return;
        }
        foreach (var (k, fv) in m.Children)
        {
            switch (Scalar(k))
            {
                case "from":
                    if (fv is YamlSequenceNode list) foreach (var f in list.Children) draft.DateFrom.Add((Scalar(f) ?? "", At(file, f.Start)));
                    else draft.DateFrom.Add((Scalar(fv) ?? "", At(file, fv.Start)));
                    break;
                case "to":
                    draft.DateTo = (Scalar(fv) ?? "", At(file, fv.Start));
                    break;
                default:
                    check.UnknownKey(Scalar(k) ?? "", ["from", "to"], At(file, k.Start), "format");
                    break;
            }
        }
    }

    private static ValueMapSpec? ReadYamlMap(SpecChecker check, YamlNode node, string? name)
    {
        var at = At(check.File, node.Start);
        if (node is not YamlMappingNode m)
        {
            check.Error("FERRY403", $"Value map{(name is null ? "" : $" '{name}'")} must be a mapping of codes to values.", at, "Example: { M: male, F: female }");
            return null;
        }
        var entries = new List<KeyValuePair<string, object?>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var code = Scalar(k) ?? "";
            if (!seen.Add(code))
            {
                check.Error("FERRY404", $"Code '{code}' appears twice in value map{(name is null ? "" : $" '{name}'")}.", At(check.File, k.Start), "Keep one entry per code.");
                continue;
            }
            entries.Add(new(code, ToJson(v)));
        }
        return new ValueMapSpec { Name = name, Entries = entries, Location = at };
    }

    // ---- YAML helpers ---------------------------------------------------------------------------------

    internal static SourceLocation At(string file, Mark mark) => new(file, (int)mark.Line, (int)mark.Column);

    private static string? Scalar(YamlNode node) => node is YamlScalarNode s ? s.Value : null;

    private static string? ExpectText(SpecChecker check, YamlNode node, string key)
    {
        if (node is YamlScalarNode s) return s.Value;
        check.Error("FERRY403", $"'{key}' must be a single value, not a list or mapping.", At(check.File, node.Start));
        return null;
    }

    private static bool ExpectBool(SpecChecker check, YamlNode node, string key)
    {
        var text = Scalar(node)?.Trim() ?? "";
        if (TypeConversion.TryBoolean(text, out var b)) return b;
        check.Error("FERRY403", $"'{key}' is '{text}'; it must be true or false.", At(check.File, node.Start));
        return false;
    }

    /// <summary>YAML to JSON state values: plain scalars are typed (null, booleans, numbers), quoted ones are text.</summary>
    private static object? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode s:
                var text = s.Value ?? "";
                if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return text;
                if (text is "" or "~" or "null" or "Null" or "NULL") return null;
                if (text is "true" or "True" or "TRUE") return true;
                if (text is "false" or "False" or "FALSE") return false;
                if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
                if (NumberPattern().IsMatch(text) && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
                return text;
            case YamlSequenceNode seq:
                var array = new JsArray();
                foreach (var item in seq.Children) array.Add(ToJson(item));
                return array;
            case YamlMappingNode map:
                var obj = new JsObject();
                foreach (var (k, v) in map.Children) obj.Set(Scalar(k) ?? "", ToJson(v));
                return obj;
            default:
                return null;
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex NumberPattern();
}
