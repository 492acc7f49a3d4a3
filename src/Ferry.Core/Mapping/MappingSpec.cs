using Ferry.Diagnostics;

namespace Ferry.Mapping;

/// <summary>What a record that breaks a rule does to the mapping (<c>on_error</c>).</summary>
public enum MappingErrorMode
{
    /// <summary>The mapping stops at the first bad record and the step fails with its issues (the default).</summary>
    Stop,

    /// <summary>Bad records are left out of the output and listed in <c>state.&lt;rejected&gt;</c>.</summary>
    Skip,
}

/// <summary>The JSON type a field's value is converted to (<c>type</c>); <see cref="Any"/> keeps the source's type.</summary>
public enum FieldType { Any, String, Integer, Number, Boolean, Date }

/// <summary>
/// A loaded mapping spec (DESIGN §4): the machine-readable mapping spreadsheet. Load it with
/// <see cref="MappingSpecLoader"/>, run it with <see cref="Mapper.Apply(MappingSpec, Ferry.Json.JsObject)"/>, print it with <see cref="MappingDoc.Render"/>.
/// </summary>
public sealed class MappingSpec
{
    private CompiledMapping? _compiled;

    /// <summary>The file as shown in messages.</summary>
    public required string File { get; init; }

    public string? Description { get; init; }

    /// <summary>State path of the input records (default <c>data</c>).</summary>
    public string Source { get; init; } = "data";

    /// <summary>State path where the mapped records go (default: the source path, which is replaced).</summary>
    public string Target { get; init; } = "data";

    public MappingErrorMode OnError { get; init; } = MappingErrorMode.Stop;

    /// <summary>State path where skipped records are reported (default <c>rejected</c>).</summary>
    public string Rejected { get; init; } = "rejected";

    /// <summary>Named code lists, referred to by fields' <c>value_map</c>.</summary>
    public IReadOnlyDictionary<string, ValueMapSpec> ValueMaps { get; init; } = new Dictionary<string, ValueMapSpec>();

    /// <summary>Target fields in the order written (the output objects keep this order).</summary>
    public IReadOnlyList<FieldMapping> Fields { get; init; } = [];

    internal CompiledMapping Compiled => _compiled ??= new CompiledMapping(this);
}

/// <summary>One row of the mapping spreadsheet: how one target field gets its value.</summary>
public sealed class FieldMapping
{
    /// <summary>Target path in the output record; dots create nested objects, <c>[n]</c> arrays.</summary>
    public required string Target { get; init; }

    /// <summary>Source path in the input record (dots, <c>[n]</c>), or null for constants and computed fields.</summary>
    public string? Source { get; init; }

    /// <summary>True when the field is a constant (<see cref="Value"/>).</summary>
    public bool HasValue { get; init; }

    /// <summary>The constant JSON value written to every record.</summary>
    public object? Value { get; init; }

    /// <summary>A template such as <c>{first_name} {last_name}</c> or <c>{upper(trim(code))}</c>.</summary>
    public string? Compute { get; init; }

    /// <summary>A record without a value here (absent, null or empty text) breaks the rule <c>required</c>.</summary>
    public bool Required { get; init; }

    /// <summary>Text transforms applied in order: <c>trim</c>, <c>upper</c>, <c>lower</c>.</summary>
    public IReadOnlyList<string> Transforms { get; init; } = [];

    /// <summary>Accepted input date formats (<c>format.from</c>); the first that matches wins.</summary>
    public IReadOnlyList<string> DateFrom { get; init; } = [];

    /// <summary>Output date format (<c>format.to</c>).</summary>
    public string? DateTo { get; init; }

    /// <summary>The value map's name when it refers to a named map (null for inline maps).</summary>
    public string? ValueMapName { get; init; }

    /// <summary>The code list applied to the value (named or inline).</summary>
    public ValueMapSpec? ValueMap { get; init; }

    /// <summary>True when <see cref="Default"/> was given.</summary>
    public bool HasDefault { get; init; }

    /// <summary>Written when the source has no value, and for codes the value map does not know (unless <see cref="Strict"/>).</summary>
    public object? Default { get; init; }

    /// <summary>An unmapped code is a rule break even when a default is given.</summary>
    public bool Strict { get; init; }

    public FieldType Type { get; init; } = FieldType.Any;

    public string? Notes { get; init; }

    /// <summary>Where the field was written (YAML line:col, CSV row:column).</summary>
    public SourceLocation? Location { get; init; }
}

/// <summary>A code list: source codes (compared as text) and the values they become.</summary>
public sealed class ValueMapSpec
{
    public string? Name { get; init; }

    public required IReadOnlyList<KeyValuePair<string, object?>> Entries { get; init; }

    public SourceLocation? Location { get; init; }
}
