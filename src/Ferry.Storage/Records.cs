namespace Ferry.Storage;

/// <summary>Run states (DESIGN §1). <c>available → claimed → started →</c> one of the final states.</summary>
public static class RunStatus
{
    public const string Available = "available";
    public const string Claimed = "claimed";
    public const string Started = "started";
    public const string Success = "success";
    public const string Failed = "failed";
    public const string Crashed = "crashed";
    public const string Cancelled = "cancelled";
    public const string Killed = "killed";
    public const string Exception = "exception";
    public const string Lost = "lost";

    /// <summary>Every state, in lifecycle order.</summary>
    public static IReadOnlyList<string> All { get; } = [Available, Claimed, Started, Success, Failed, Crashed, Cancelled, Killed, Exception, Lost];

    /// <summary>States a worker may report in <see cref="RunCompletion.Status"/>.</summary>
    public static IReadOnlyList<string> Completions { get; } = [Success, Failed, Crashed, Cancelled, Killed, Exception];

    /// <summary>True for a state that never changes again.</summary>
    public static bool IsFinal(string status) => status is Success or Failed or Crashed or Cancelled or Killed or Exception or Lost;
}

/// <summary>How a lost run is retried: <paramref name="Attempts"/> runs in all (1 = never retried), waiting
/// <paramref name="Backoff"/> × 2^(attempt−1) before each retry, at most <paramref name="MaxBackoff"/>.</summary>
public sealed record RetryPolicy(int Attempts, TimeSpan Backoff, TimeSpan MaxBackoff)
{
    /// <summary>One attempt, no retry.</summary>
    public static RetryPolicy None { get; } = new(1, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>The wait before attempt <paramref name="nextAttempt"/> (2 = the first retry).</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        if (nextAttempt <= 1 || Backoff <= TimeSpan.Zero) return TimeSpan.Zero;
        var exponent = Math.Min(nextAttempt - 2, 30);
        var ms = Backoff.TotalMilliseconds * Math.Pow(2, exponent);
        var max = MaxBackoff > TimeSpan.Zero ? MaxBackoff.TotalMilliseconds : double.MaxValue;
        return TimeSpan.FromMilliseconds(Math.Min(ms, max));
    }
}

/// <summary>One deployed version of a project: the bundle (spec, code, mappings, tests) as JSON.</summary>
public sealed record VersionRecord(string Project, int Version, string BundleJson, string SpecHash, string? Author, DateTimeOffset CreatedAt, bool IsCurrent);

public sealed record ProjectRecord(string Name, int CurrentVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A request to run <paramref name="Workflow"/> on one input. <paramref name="AvailableAt"/> delays the first run.</summary>
/// <param name="Ids">The work order's and first run's ids when the caller already gave them out (the intake journal
/// answers 202 with them before the work order reaches the store); null: the store makes new ones.</param>
/// <param name="ReceivedAt">When the input arrived (created_at of the work order and run); null: now.</param>
/// <param name="InputUtf8">The input as UTF-8 JSON, instead of <paramref name="InputJson"/> (pass null there): a
/// webhook's state is bytes already, and on SQLite they are stored as they are.</param>
public sealed record NewWorkOrder(
    string Project,
    string Workflow,
    string Trigger,
    int Version,
    string? InputJson,
    RetryPolicy? Retry = null,
    string? StartStep = null,
    string? RequestMetaJson = null,
    DateTimeOffset? AvailableAt = null,
    EnqueuedRun? Ids = null,
    DateTimeOffset? ReceivedAt = null,
    ReadOnlyMemory<byte>? InputUtf8 = null);

public sealed record EnqueuedRun(Guid WorkOrderId, Guid RunId);

/// <summary>What a worker may take. Limits count runs that are claimed or started; an ordered workflow runs one
/// run at a time, in arrival order.</summary>
public sealed record ClaimRequest(
    string WorkerId,
    TimeSpan Lease,
    IReadOnlyDictionary<string, int>? ProjectLimits = null,
    IReadOnlyDictionary<(string Project, string Workflow), int>? WorkflowLimits = null,
    IReadOnlySet<(string Project, string Workflow)>? OrderedWorkflows = null);

/// <summary>A run a worker holds. <paramref name="AvailableAt"/>: when it became claimable (claim latency = claim time − this).</summary>
public sealed record ClaimedRun(Guid RunId, Guid WorkOrderId, string Project, string Workflow, int Version, int Attempt, string InputJson, string? StartStep, DateTimeOffset LeaseUntil,
    DateTimeOffset AvailableAt)
{
    /// <summary>The dataclip <see cref="InputJson"/> was read from (pass it on in <see cref="RunCompletion.InputDataclipId"/>).</summary>
    public Guid? InputDataclipId { get; init; }

    /// <summary>The workflow's cursor (JSON) when the run was claimed; null when it has none.</summary>
    public string? CursorJson { get; init; }
}

public sealed record StepRunData(
    string StepId,
    string Status,
    DateTimeOffset StartedAt,
    long DurationMs,
    long AllocatedBytes,
    string? Error,
    string? InputJson,
    string? OutputJson);

public sealed record LogLineData(DateTimeOffset Time, string Level, string? StepId, string Message);

/// <summary>
/// The end of a run, written in one transaction with its step runs, logs, dataclips and, when the run moved it, the
/// workflow's cursor (so the next run of the flow never reads a cursor older than the last completed run's).
/// </summary>
public sealed record RunCompletion(
    Guid RunId,
    string WorkerId,
    string Status,
    DateTimeOffset FinishedAt,
    string? Error,
    string? OutputJson,
    IReadOnlyList<StepRunData> Steps,
    IReadOnlyList<LogLineData> Logs)
{
    /// <summary>The workflow's new cursor (JSON), stored only when the completion is accepted; null leaves it as it is.</summary>
    public string? CursorJson { get; init; }

    /// <summary>
    /// The run's input dataclip and its text (<see cref="ClaimedRun.InputDataclipId"/>, <see cref="ClaimedRun.InputJson"/>):
    /// a step input or output with exactly this text refers to that dataclip instead of storing a copy (the first
    /// step's input usually is the run's input). Both null: every dataclip of the completion is stored.
    /// </summary>
    public Guid? InputDataclipId { get; init; }

    /// <inheritdoc cref="InputDataclipId"/>
    public string? InputJson { get; init; }
}

/// <summary>A run whose lease ran out; <paramref name="RetryRunId"/> is the new run when its policy allowed a retry.</summary>
public sealed record LostRun(Guid RunId, Guid WorkOrderId, string Project, string Workflow, int Attempt, Guid? RetryRunId, DateTimeOffset? RetryAt);

public sealed record WorkOrderRecord(
    Guid Id,
    string Project,
    string Workflow,
    string Trigger,
    int Version,
    string Status,
    Guid InputDataclipId,
    string? RequestMetaJson,
    RetryPolicy Retry,
    Guid LastRunId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record RunRecord(
    Guid Id,
    Guid WorkOrderId,
    string Project,
    string Workflow,
    int Version,
    int Attempt,
    string Status,
    string? StartStep,
    Guid InputDataclipId,
    Guid? OutputDataclipId,
    DateTimeOffset AvailableAt,
    DateTimeOffset? ClaimedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? WorkerId,
    DateTimeOffset? LeaseUntil,
    bool CancelRequested,
    string? Error,
    DateTimeOffset CreatedAt);

public sealed record StepRunRecord(
    Guid Id,
    Guid RunId,
    int Ordinal,
    string StepId,
    string Status,
    DateTimeOffset StartedAt,
    long DurationMs,
    long AllocatedBytes,
    string? Error,
    Guid? InputDataclipId,
    Guid? OutputDataclipId);

public sealed record LogLineRecord(long Seq, Guid RunId, DateTimeOffset Time, string Level, string? StepId, string Message);

/// <summary>Filters for <see cref="FerryStore.ListWorkOrdersAsync"/>; newest first. <paramref name="After"/> is the
/// <see cref="Page{T}.Next"/> token of the previous page.</summary>
public sealed record WorkOrderQuery(
    string? Project = null,
    string? Workflow = null,
    string? Status = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    int Limit = 50,
    string? After = null)
{
    public const int MaxLimit = 500;

    /// <summary>When not null, only work orders of these projects (a caller's visible projects).</summary>
    public IReadOnlyCollection<string>? Projects { get; init; }
}

/// <summary>One page of results; <paramref name="Next"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// A project's retention policy. <paramref name="Mode"/>: <c>retain_all</c> (keep dataclips for
/// <paramref name="DataclipPeriod"/>), <c>retain_with_errors</c> (wipe dataclips of successful work orders at once,
/// keep the others for the period) or <c>erase_all</c> (wipe every dataclip once its work order is final).
/// <paramref name="HistoryPeriod"/>: delete finished work orders (runs, steps, logs, dataclips) older than this.
/// Null periods keep forever.
/// </summary>
public sealed record RetentionPolicy(string Mode, TimeSpan? HistoryPeriod = null, TimeSpan? DataclipPeriod = null)
{
    public const string RetainAll = "retain_all";
    public const string RetainWithErrors = "retain_with_errors";
    public const string EraseAll = "erase_all";

    public static IReadOnlyList<string> Modes { get; } = [RetainAll, RetainWithErrors, EraseAll];
}

/// <summary>What one retention pass did; call again while <paramref name="WorkOrdersDeleted"/> reached the pass limit.</summary>
public sealed record RetentionResult(int DataclipsWiped, int WorkOrdersDeleted);
