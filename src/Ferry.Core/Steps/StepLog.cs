using Ferry.Json;

namespace Ferry.Steps;

public enum LogLevel { Debug, Info, Warn, Error }

/// <summary>One structured log line: time, level, step and message (credential values already scrubbed).</summary>
public sealed record LogEntry(DateTimeOffset Time, LogLevel Level, string? StepId, string Message);

/// <summary>Collects a run's log lines, scrubbing secrets on the way in, and forwards them to a live sink.</summary>
public sealed class RunLog(SecretScrubber scrubber, Action<LogEntry>? sink = null, LogLevel minimum = LogLevel.Debug)
{
    private readonly List<LogEntry> _entries = [];
    private readonly Lock _gate = new();

    public SecretScrubber Scrubber { get; } = scrubber;

    public IReadOnlyList<LogEntry> Entries
    {
        get { lock (_gate) return _entries.ToArray(); }
    }

    public void Write(LogLevel level, string? stepId, string message)
    {
        if (level < minimum) return;
        var entry = new LogEntry(DateTimeOffset.UtcNow, level, stepId, Scrubber.Scrub(message));
        lock (_gate) _entries.Add(entry);
        sink?.Invoke(entry);
    }

    public StepLog ForStep(string? stepId) => new(this, stepId);
}

/// <summary>The <c>log</c> global of step code: <c>log.Info("…")</c>, <c>Warn</c>, <c>Error</c>, <c>Debug</c>. Objects are written as JSON.</summary>
[StepApi]
public sealed class StepLog
{
    private readonly RunLog _run;
    private readonly string? _stepId;

    internal StepLog(RunLog run, string? stepId)
    {
        _run = run;
        _stepId = stepId;
    }

    public void Debug(object? message) => _run.Write(LogLevel.Debug, _stepId, Text(message));

    public void Info(object? message) => _run.Write(LogLevel.Info, _stepId, Text(message));

    public void Warn(object? message) => _run.Write(LogLevel.Warn, _stepId, Text(message));

    public void Error(object? message) => _run.Write(LogLevel.Error, _stepId, Text(message));

    private static string Text(object? message) => message switch
    {
        null => "null",
        string s => s,
        JsObject or JsArray or RawJson => Js.ToJson(message),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ when message.GetType().IsPrimitive => message.ToString() ?? "",
        _ => Js.ToJson(message),
    };
}
