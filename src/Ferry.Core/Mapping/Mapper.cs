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
    public static MappingReport Apply(MappingSpec spec, JsObject state) => Apply(spec, state, DefaultParallelThreshold);

    /// <summary>Inputs at least this large (bytes) are mapped in two halves on two threads when the machine has two cores.</summary>
    internal const int DefaultParallelThreshold = 4 << 20;

    internal static MappingReport Apply(MappingSpec spec, JsObject state, int parallelThreshold)
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

        var (output, rejected) = single ? MapSingle(compiled, input, spec.OnError, report) : MapArray(compiled, input, spec.OnError, report, parallelThreshold);
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

    private static (RawJson, JsArray?) MapSingle(CompiledMapping compiled, ReadOnlyMemory<byte> input, MappingErrorMode mode, MappingReport report)
    {
        var run = new MappingRun(compiled, input, mode, report);
        run.RunSingle();
        return (new RawJson(run.Output.ToArray()), run.Rejected);
    }

    private static (RawJson, JsArray?) MapArray(CompiledMapping compiled, ReadOnlyMemory<byte> input, MappingErrorMode mode, MappingReport report, int parallelThreshold)
    {
        var span = input.Span;
        var first = span.IndexOf((byte)'[') + 1;
        var split = input.Length >= parallelThreshold && Environment.ProcessorCount > 1 ? SplitCandidate(span, first + ((input.Length - first) / 2)) : -1;
        var run = new MappingRun(compiled, input, mode, report);
        if (split < 0)
        {
            run.RunRecords(first, -1);
            return (Join(run.Output, []), run.Rejected);
        }

        // The second half starts at a guessed record boundary. The first half proves the guess by arriving at exactly
        // that position record by record; if it does not (the guess was inside a text), it maps on to the end and the
        // second half's work is thrown away, so the result never depends on the guess.
        var report2 = new MappingReport { Source = report.Source, Target = report.Target, RejectedPath = report.RejectedPath, SpecFile = report.SpecFile };
        var run2 = new MappingRun(compiled, input, mode, report2);
        run.Next = run2;
        var second = Task.Run(() =>
        {
            try
            {
                run2.RunRecords(split, -1);
                return true;
            }
            catch (Exception)
            {
                // A wrong guess can start inside a text; whatever that raises, the first half maps on instead.
                return false;
            }
        });
        bool landed;
        try
        {
            landed = run.RunRecords(first, split) == split;
        }
        finally
        {
            if (report.Stopped) run2.Cancelled = true;
        }
        var secondOk = second.GetAwaiter().GetResult() && !run2.Cancelled;
        if (!landed || report.Stopped) return (Join(run.Output, []), run.Rejected);
        if (!secondOk)
        {
            run.RunRecords(split, -1);
            return (Join(run.Output, []), run.Rejected);
        }

        var offset = report.Read;
        report.Read += report2.Read;
        report.Mapped += report2.Mapped;
        report.Rejected += report2.Rejected;
        report.Stopped = report2.Stopped;
        foreach (var issue in report2.Issues) report.Add(issue with { RecordIndex = issue.RecordIndex + offset });
        var rejected = run.Rejected;
        if (run2.Rejected is { } more)
        {
            rejected ??= [];
            foreach (var entry in more)
            {
                var e = (JsObject)entry!;
                e.Set("index", (int)e.Get("index")! + offset);
                rejected.Add(e);
            }
        }
        return (Join(run.Output, run2.Output), rejected);
    }

    /// <summary>The first position at or after <paramref name="from"/> that looks like the start of a record: "}" "," "{".</summary>
    private static int SplitCandidate(ReadOnlySpan<byte> span, int from)
    {
        for (var i = from; i < span.Length - 1; i++)
        {
            if (span[i] != (byte)'{') continue;
            var k = i - 1;
            while (k > 0 && span[k] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') k--;
            if (span[k] != (byte)',') continue;
            k--;
            while (k > 0 && span[k] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') k--;
            if (span[k] == (byte)'}') return i;
        }
        return -1;
    }

    private static RawJson Join(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var both = a.Length > 0 && b.Length > 0;
        var result = GC.AllocateUninitializedArray<byte>(a.Length + b.Length + (both ? 3 : 2));
        result[0] = (byte)'[';
        a.CopyTo(result.AsSpan(1));
        var pos = 1 + a.Length;
        if (both) result[pos++] = (byte)',';
        b.CopyTo(result.AsSpan(pos));
        result[^1] = (byte)']';
        return new RawJson(result);
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
