using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Json;
using Microsoft.CSharp.RuntimeBinder;

namespace Ferry.Scripting;

/// <summary>An exception of step code explained for the user: what happened and where (null when not in the step's own code).</summary>
public sealed record StepError(string Message, SourceLocation? Where)
{
    public override string ToString() => Where is null ? Message : $"{Where}: {Message}";
}

/// <summary>
/// Turns an exception thrown by step code into a readable message and the location of the innermost frame of the
/// user's code (from the step's PDB), mapped back to the .csx file or the ferry.yaml line.
/// </summary>
public static class StepErrors
{
    public static StepError Describe(Exception exception, CompiledStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Describe(exception, step.DebugFile, step.Location, step.Code);
    }

    public static StepError Describe(Exception exception, CompiledCondition condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return Describe(exception, condition.DebugFile, condition.Location, condition.Code);
    }

    private static StepError Describe(Exception exception, string debugFile, SourceLocation origin, string code)
    {
        var e = Unwrap(exception);
        SourceLocation? where = null;
        for (var current = e; current is not null && where is null; current = current.InnerException)
            where = FindUserFrame(current, debugFile, origin, code);
        return new StepError(Message(e), where);
    }

    /// <summary>The readable message for an exception of step code (no stack trace, no CLR jargon where avoidable).</summary>
    public static string Message(Exception exception)
    {
        var e = Unwrap(exception);
        return e switch
        {
            StepKilledException or JsonAccessException or SandboxViolationException => e.Message,
            RuntimeBinderException b => Binder(b.Message),
            NullReferenceException => "A value was null where the step used it (e.g. a member of a missing object). Check for null with ?. or ?? before using it.",
            _ => $"{e.GetType().Name}: {e.Message}",
        };
    }

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a: e = a.InnerExceptions[0]; continue;
                case System.Reflection.TargetInvocationException { InnerException: { } inner }: e = inner; continue;
                default: return e;
            }
        }
    }

    private static string Binder(string message)
    {
        var text = message
            .Replace("Ferry.Json.JsObject", "JSON object", StringComparison.Ordinal)
            .Replace("Ferry.Json.JsArray", "JSON array", StringComparison.Ordinal)
            .Replace("<null>", "null", StringComparison.Ordinal);
        if (text.StartsWith("Cannot perform runtime binding on a null reference", StringComparison.Ordinal))
            return "A value was null where the step used it (e.g. a member of a missing object: state.a.b when state.a is missing). Check for null with ?. or ?? before using it.";
        if (text.StartsWith("Cannot implicitly convert type", StringComparison.Ordinal) || text.StartsWith("Cannot convert type", StringComparison.Ordinal))
            return text + " Convert the JSON value explicitly (e.g. int.Parse(x), (string)x, Convert.ToDecimal(x)) after checking its type.";
        if (text.StartsWith("Operator", StringComparison.Ordinal))
            return text + " Check the JSON values' types (a number may arrive as text); convert them before combining.";
        return text;
    }

    private static SourceLocation? FindUserFrame(Exception e, string debugFile, SourceLocation origin, string code)
    {
        var trace = new StackTrace(e, fNeedFileInfo: true);
        foreach (var frame in trace.GetFrames())
        {
            var file = frame.GetFileName();
            if (file is null || !file.EndsWith(debugFile, StringComparison.Ordinal)) continue;
            var line = frame.GetFileLineNumber();
            if (line <= 0) continue;
            return StepCompiler.MapLocation(origin, line, FirstColumn(code, line));
        }
        return null;
    }

    /// <summary>Instrumentation shifts columns in the PDB, so a run-time location points at the line's first non-blank character.</summary>
    private static int FirstColumn(string code, int line)
    {
        var lines = code.Split('\n');
        if (line > lines.Length) return 1;
        var text = lines[line - 1];
        var i = 0;
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i + 1;
    }
}
