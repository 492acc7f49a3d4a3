using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Engine;

/// <summary>Final states of a run (DESIGN §1). The queue adds available/claimed/started/lost on the server.</summary>
public enum RunStatus { Success, Failed, Crashed, Cancelled, Killed, Exception }

public enum StepStatus { Success, Failed, Crashed, Killed, Cancelled }

/// <summary>Why a step failed, as users read it: message and where in their code.</summary>
public sealed record StepFailure(string Type, string Message, SourceLocation? Location = null)
{
    public override string ToString() => Location is null ? Message : $"{Location}: {Message}";
}

/// <summary>One step run: status, timing, memory, and its input/output states.</summary>
public sealed class StepRunResult
{
    public required string StepId { get; init; }

    public required StepStatus Status { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required TimeSpan Duration { get; init; }

    /// <summary>Bytes the step allocated (approximate).</summary>
    public long AllocatedBytes { get; init; }

    public StepFailure? Error { get; init; }

    /// <summary>The state the step received (configuration already stripped).</summary>
    public JsObject? Input { get; init; }

    /// <summary>The state the step passed on (configuration stripped, secrets scrubbed).</summary>
    public JsObject? Output { get; init; }
}

public sealed class RunResult
{
    public required RunStatus Status { get; init; }

    /// <summary>The final state: the last leaf's output, or an object keyed by leaf step id when several leaves ran.</summary>
    public required JsObject FinalState { get; init; }

    public required IReadOnlyList<StepRunResult> Steps { get; init; }

    public required IReadOnlyList<LogEntry> Log { get; init; }

    public required TimeSpan Duration { get; init; }

    /// <summary>Why the run did not succeed (the first failing leaf, or the killing/crashing step).</summary>
    public StepFailure? Error { get; init; }

    public bool CursorChanged { get; init; }

    public object? Cursor { get; init; }
}

public enum RunEventKind { StepStarted, StepFinished }

/// <summary>Progress as a run goes (the CLI prints it; the server streams it).</summary>
public sealed record RunEvent(RunEventKind Kind, string StepId, StepRunResult? Result = null);
