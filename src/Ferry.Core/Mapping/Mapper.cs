using System.Text.Json;
using Ferry.Json;

namespace Ferry.Mapping;

/// <summary>Runs a <see cref="MappingSpec"/> over the records in a state (a <c>map:</c> step).</summary>
public static class Mapper
{
    /// <summary>
    /// Maps the records array at <see cref="MappingSpec.Source"/> and writes the result at <see cref="MappingSpec.Target"/>
    /// as raw JSON. Records that break a rule are never dropped silently: with <c>on_error: stop</c> the report is
    /// <see cref="MappingReport.Stopped"/> and state is left unchanged; with <c>skip</c> they are appended to
    /// <c>state.&lt;rejected&gt;</c> as <c>{index, rule, field, message, record}</c>. A source object (not an array)
    /// is mapped as one record and the target receives one object.
    /// </summary>
    public static MappingReport Apply(MappingSpec spec, JsObject state)
    {
        var compiled = spec.Compiled;
        var report = new MappingReport { Source = spec.Source, Target = spec.Target, RejectedPath = spec.Rejected, SpecFile = spec.File };
        var source = StatePath.Resolve(state, compiled.SourcePath);
        ReadOnlyMemory<byte> input;
        bool single;
        switch (source)
        {
            case RawJson raw when raw.Kind is JsonValueKind.Array or JsonValueKind.Object:
                input = raw.Utf8;
                single = raw.Kind == JsonValueKind.Object;
                break;
            case JsArray or JsObject:
                // Materialized records take the same streaming path, so there is one mapping implementation.
                input = Js.ToUtf8(source);
                single = source is JsObject;
                break;
            default:
                var found = source is null ? "nothing" : $"{Describe(source)} {Excerpt(Js.ToJson(source))}";
                report.Stopped = true;
                report.Add(new MappingIssue(-1, "", "source",
                    $"Mapping {spec.File} expects an array of records at state.{spec.Source}, but found {found}. " +
                    $"Check that the previous step puts its records at state.{spec.Source}, or set 'source:' in {spec.File} to where they are.", ""));
                return report;
        }

        var run = new MappingRun(compiled, input, spec.OnError, report);
        var (output, rejected) = run.Execute(single);
        if (report.Stopped) return report;

        StatePath.Set(state, compiled.TargetPath, output);
        if (rejected is { Count: > 0 })
        {
            if (StatePath.Get(state, compiled.RejectedPath) is JsArray existing)
            {
                foreach (var r in rejected) existing.Add(r);
            }
            else
            {
                StatePath.Set(state, compiled.RejectedPath, rejected);
            }
        }
        return report;
    }

    internal static string Describe(object? value) => value switch
    {
        null => "null",
        string => "a text",
        bool => "a boolean",
        JsObject => "an object",
        JsArray => "an array",
        RawJson r => r.Kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a text",
            JsonValueKind.Null => "null",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a number",
        },
        _ => "a number",
    };

    internal static string Excerpt(string text, int max = 200) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
