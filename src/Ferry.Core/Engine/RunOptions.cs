using Ferry.Adaptors;
using Ferry.Json;
using Ferry.Steps;
using Ferry.Testing;

namespace Ferry.Engine;

/// <summary>One run's input and settings. Everything has a default except the input state.</summary>
public sealed class RunOptions
{
    public JsObject Input { get; init; } = new();

    /// <summary>Start at this step instead of the trigger's first step (<c>--start</c>).</summary>
    public string? StartStep { get; init; }

    /// <summary>Run only this step, following no edges (<c>--only</c>).</summary>
    public string? OnlyStep { get; init; }

    public ExecutionMode Mode { get; init; } = ExecutionMode.Live;

    /// <summary>Required when <see cref="Mode"/> is not Live.</summary>
    public TestModeRecorder? Recorder { get; init; }

    /// <summary>Credential values by name (from a credentials file or the server's encrypted store).</summary>
    public IReadOnlyDictionary<string, JsObject> Credentials { get; init; } = new Dictionary<string, JsObject>();

    public Cursor Cursor { get; init; } = new();

    /// <summary>Receives each log line as it is written (already scrubbed).</summary>
    public Action<LogEntry>? OnLog { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Debug;

    public Action<RunEvent>? OnEvent { get; init; }

    /// <summary>Keep a snapshot of every step's input state (the server stores them as dataclips).</summary>
    public bool CaptureStepInputs { get; init; }

    /// <summary>Cancels the run: the running step is stopped and the run ends <c>cancelled</c>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Time limit of the whole run (the server passes the workflow's <see cref="WorkflowPlan.Timeout"/>): when it
    /// passes, the running step is stopped and the run ends <c>killed</c>. Null: only each step's own time budget.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Where <see cref="Timeout"/> is set and how to change it, added to the error of a run it stops
    /// (e.g. <see cref="WorkflowPlan.TimeoutSource"/>).</summary>
    public string? TimeoutSource { get; init; }
}
