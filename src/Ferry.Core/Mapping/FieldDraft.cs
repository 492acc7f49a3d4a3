using Ferry.Diagnostics;

namespace Ferry.Mapping;

/// <summary>A field as read from YAML or CSV, before validation; every attribute keeps where it was written.</summary>
internal sealed class FieldDraft
{
    public required SourceLocation Location { get; init; }

    public (string Text, SourceLocation At)? Target { get; set; }

    public (string Text, SourceLocation At)? Source { get; set; }

    public (object? Value, SourceLocation At)? Value { get; set; }

    public (string Text, SourceLocation At)? Compute { get; set; }

    public bool Required { get; set; }

    public bool Strict { get; set; }

    public List<(string Name, SourceLocation At)> Transforms { get; } = [];

    public List<(string Format, SourceLocation At)> DateFrom { get; } = [];

    public (string Format, SourceLocation At)? DateTo { get; set; }

    public (string Name, SourceLocation At)? ValueMapName { get; set; }

    public ValueMapSpec? InlineMap { get; set; }

    public (object? Value, SourceLocation At)? Default { get; set; }

    public (string Name, SourceLocation At)? Type { get; set; }

    public string? Notes { get; set; }
}

/// <summary>Validation shared by the YAML and CSV forms: every problem is collected, none stops the others.</summary>
internal sealed class SpecChecker(string file)
{
    public static readonly string[] TransformNames = ["trim", "upper", "lower"];

    public List<Diagnostic> Diagnostics { get; } = [];

    public string File { get; } = file;

    public void Error(string code, string message, SourceLocation? at, string? hint = null) =>
        Diagnostics.Add(new Diagnostic(code, message, at, hint));

    public void UnknownKey(string key, IEnumerable<string> known, SourceLocation at, string where)
    {
        var list = known.ToList();
        var hint = Suggestions.DidYouMean(key, list);
        Error("FERRY401", $"Unknown key '{key}' in {where}.", at,
            (hint.Length > 0 ? hint + " " : "") + $"Known keys: {string.Join(", ", list)}.");
    }

    public string? CheckStatePath(string key, string? text, SourceLocation? at)
    {
        if (text is null) return null;
        var segs = FieldPath.Parse(text, out var error);
        if (error is null && segs.Length > 0 && segs.Any(s => s.IsIndex) && key != "source")
            error = "use member names only (no [n])";
        if (error is null && segs.Length == 0) error = "the path is empty";
        if (error is not null)
        {
            Error("FERRY407", $"'{key}: {text}' is not a state path: {error}.", at, "Write a path such as data or data.rows.");
            return null;
        }
        return text;
    }

    public FieldMapping? Build(FieldDraft d, IReadOnlyDictionary<string, ValueMapSpec> maps)
    {
        var ok = true;
        if (d.Target is not { } target || string.IsNullOrWhiteSpace(target.Text))
        {
            Error("FERRY402", "A field has no 'target'.", d.Location, "Every field names the output field it fills, e.g. target: patient.id.");
            return null;
        }
        var targetSegs = FieldPath.Parse(target.Text, out var targetError);
        if (targetError is null && targetSegs.Length > 0 && targetSegs[0].IsIndex) targetError = "it must start with a field name";
        if (targetError is not null)
        {
            Error("FERRY407", $"Target '{target.Text}' is not a field path: {targetError}.", target.At, "Use dots for nested fields and [n] for array items: patient.name[0].given.");
            ok = false;
        }

        var sources = new List<string>();
        if (d.Source is not null) sources.Add("source");
        if (d.Value is not null) sources.Add("value");
        if (d.Compute is not null) sources.Add("compute");
        if (sources.Count == 0 && d.Default is null)
        {
            Error("FERRY402", $"Field '{target.Text}' has no 'source', 'value' or 'compute'.", d.Location,
                "Say where the value comes from: source: <input field>, value: <constant>, or compute: \"{a} {b}\".");
            ok = false;
        }
        if (sources.Count > 1)
        {
            Error("FERRY403", $"Field '{target.Text}' has {string.Join(" and ", sources)}; it can have only one of them.", d.Location,
                "Keep the one that gives the value; use compute to combine fields.");
            ok = false;
        }
        if (d.Source is { } src)
        {
            var segs = FieldPath.Parse(src.Text, out var error);
            if (error is null && (segs.Length == 0 || segs[0].IsIndex)) error = "it must start with a field name";
            if (error is not null)
            {
                Error("FERRY407", $"Source '{src.Text}' of field '{target.Text}' is not a field path: {error}.", src.At, "Write a path such as case_id, patient.name or names[0].given.");
                ok = false;
            }
        }
        if (d.Compute is { } compute)
        {
            var template = Template.Parse(compute.Text, out var error);
            if (template is null)
            {
                Error("FERRY410", $"Compute template of field '{target.Text}' is invalid: {error}.", compute.At,
                    "Templates look like \"{first_name} {last_name}\" or \"{upper(trim(code))}\"; functions: " + string.Join(", ", Template.Functions) + ".");
                ok = false;
            }
            else
            {
                foreach (var p in template.Paths())
                {
                    var segs = FieldPath.Parse(p, out _);
                    if (segs.Length == 0 || segs[0].IsIndex)
                    {
                        Error("FERRY410", $"Compute template of field '{target.Text}' refers to '{p}', which does not start with a field name.", compute.At);
                        ok = false;
                    }
                }
            }
        }

        var type = FieldType.Any;
        if (d.Type is { } t)
        {
            var name = t.Name.Trim().ToLowerInvariant();
            var parsed = name switch
            {
                "string" or "text" => FieldType.String,
                "integer" or "int" => FieldType.Integer,
                "number" or "decimal" => FieldType.Number,
                "boolean" or "bool" => FieldType.Boolean,
                "date" or "datetime" => FieldType.Date,
                "" or "any" => FieldType.Any,
                _ => (FieldType?)null,
            };
            if (parsed is null)
            {
                var hint = Suggestions.DidYouMean(t.Name, TypeConversion.TypeNames);
                Error("FERRY403", $"Unknown type '{t.Name}' for field '{target.Text}'.", t.At, (hint.Length > 0 ? hint + " " : "") + "Types: " + string.Join(", ", TypeConversion.TypeNames) + ".");
                ok = false;
            }
            else
            {
                type = parsed.Value;
            }
        }

        var transforms = new List<string>();
        foreach (var (name, at) in d.Transforms)
        {
            var n = name.Trim().ToLowerInvariant();
            if (TransformNames.Contains(n)) transforms.Add(n);
            else
            {
                var hint = Suggestions.DidYouMean(name, TransformNames);
                Error("FERRY403", $"Unknown transform '{name}' for field '{target.Text}'.", at, (hint.Length > 0 ? hint + " " : "") + "Transforms: trim, upper, lower (for dates use format, for codes value_map).");
                ok = false;
            }
        }

        foreach (var (format, at) in d.DateFrom.Concat(d.DateTo is { } to ? [to] : []))
        {
            if (!DatePattern.TryGet(format, out _, out var error))
            {
                Error("FERRY406", $"Date format '{format}' of field '{target.Text}' is not usable: {error}.", at,
                    "Use .NET custom date formats such as MM/dd/yyyy, dd.MM.yyyy or yyyy-MM-ddTHH:mm:ss.");
                ok = false;
            }
        }
        if (d.DateTo is not null && d.DateFrom.Count == 0)
        {
            Error("FERRY402", $"Field '{target.Text}' has a 'to' date format but no 'from' format.", d.DateTo.Value.At,
                "Say how the source writes dates: format: { from: MM/dd/yyyy, to: yyyy-MM-dd }.");
            ok = false;
        }

        ValueMapSpec? map = d.InlineMap;
        string? mapName = null;
        if (d.ValueMapName is { } vm)
        {
            mapName = vm.Name;
            if (!maps.TryGetValue(vm.Name, out map))
            {
                var hint = Suggestions.DidYouMean(vm.Name, maps.Keys);
                Error("FERRY405", $"Field '{target.Text}' uses value map '{vm.Name}', which is not defined.", vm.At,
                    (hint.Length > 0 ? hint + " " : "") + (maps.Count > 0 ? $"Defined value maps: {string.Join(", ", maps.Keys)}." : "Define it under value_maps:, or write the map inline: value_map: { M: male, F: female }."));
                ok = false;
            }
        }

        object? value = null, defaultValue = null;
        if (d.Value is { } constant) ok &= Convert(target.Text, "value", constant.Value, type, constant.At, out value);
        if (d.Default is { } def) ok &= Convert(target.Text, "default", def.Value, type, def.At, out defaultValue);
        if (map is not null)
        {
            foreach (var (code, output) in map.Entries)
            {
                if (!TypeConversion.TryConvertConstant(output, type, out _, out var error))
                {
                    Error("FERRY403", $"Value map {(mapName is null ? "" : $"'{mapName}' ")}gives '{code}' → {Ferry.Json.Js.ToJson(output)}, but field '{target.Text}' is a {TypeConversion.Name(type)}: {error}.",
                        map.Location ?? d.Location, "Change the map's value or the field's type.");
                    ok = false;
                }
            }
        }
        if (!ok) return null;
        return new FieldMapping
        {
            Target = target.Text.Trim(),
            Source = d.Source?.Text.Trim(),
            HasValue = d.Value is not null,
            Value = value,
            Compute = d.Compute?.Text,
            Required = d.Required,
            Strict = d.Strict,
            Transforms = transforms,
            DateFrom = d.DateFrom.Select(f => f.Format).ToList(),
            DateTo = d.DateTo?.Format,
            ValueMapName = mapName,
            ValueMap = map,
            HasDefault = d.Default is not null,
            Default = defaultValue,
            Type = type,
            Notes = d.Notes,
            Location = d.Location,
        };
    }

    private bool Convert(string target, string key, object? value, FieldType type, SourceLocation at, out object? converted)
    {
        if (TypeConversion.TryConvertConstant(value, type, out converted, out var error)) return true;
        Error("FERRY403", $"The {key} of field '{target}' does not fit its type: {error}.", at, $"Write a {TypeConversion.Name(type)}, or change the field's type.");
        return false;
    }

    /// <summary>Two fields writing the same target, one writing inside the other, or an array and object at one place are errors.</summary>
    public void CheckTargets(IReadOnlyList<FieldDraft> drafts)
    {
        var fields = drafts.Where(d => d.Target is { } t && FieldPath.Parse(t.Text, out var e).Length > 0 && e is null)
            .Select(d => (Target: d.Target!.Value.Text.Trim(), d.Location)).ToList();
        var paths = fields.Select(f => FieldPath.Parse(f.Target, out _)).ToArray();
        for (var i = 0; i < fields.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                var (a, b) = (paths[i], paths[j]);
                var k = 0;
                while (k < a.Length && k < b.Length && a[k] == b[k]) k++;
                string? problem = null;
                if (k == a.Length && k == b.Length) problem = $"Target '{fields[i].Target}' is written twice (also at {fields[j].Location}).";
                else if (k == a.Length || k == b.Length)
                    problem = $"Targets '{fields[i].Target}' and '{fields[j].Target}' (at {fields[j].Location}) overlap: one would be a value and an object at once.";
                else if (a[k].IsIndex != b[k].IsIndex)
                    problem = $"Targets '{fields[i].Target}' and '{fields[j].Target}' (at {fields[j].Location}) make '{FieldPath.Format(a.Take(k))}' both an array and an object.";
                if (problem is not null)
                    Error("FERRY404", problem, fields[i].Location, "Each target field has one row; combine values with compute or coalesce(), or rename one target.");
            }
        }
    }
}
