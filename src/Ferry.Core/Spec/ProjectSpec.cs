using Ferry.Diagnostics;

namespace Ferry.Spec;

/// <summary>A loaded <c>ferry.yaml</c> (DESIGN §2). Every element keeps where it was written, for error messages.</summary>
public sealed class ProjectSpec
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Absolute path of the project folder.</summary>
    public required string Directory { get; init; }

    /// <summary>Absolute path of ferry.yaml.</summary>
    public required string SpecFile { get; init; }

    /// <summary>Declared credentials: names and adaptor kinds only (values never live in ferry.yaml).</summary>
    public IReadOnlyList<CredentialSpec> Credentials { get; init; } = [];

    public IReadOnlyList<WorkflowSpec> Workflows { get; init; } = [];

    /// <summary>Run history retention (server). Null means the server default (retain_all, 90 days).</summary>
    public RetentionSpec? Retention { get; init; }

    /// <summary>Most runs of this project at once on a server; null means no project limit.</summary>
    public int? Concurrency { get; init; }

    public CredentialSpec? FindCredential(string name) => Credentials.FirstOrDefault(c => c.Name == name);

    public WorkflowSpec? FindWorkflow(string name) => Workflows.FirstOrDefault(w => w.Name == name);

    /// <summary>Project-relative path (as written in ferry.yaml) to a full path.</summary>
    public string Resolve(string relativePath) => Path.GetFullPath(Path.Combine(Directory, relativePath));
}

public sealed record CredentialSpec(string Name, string Adaptor, SourceLocation Location);

public sealed record RetentionSpec(string Policy, int? HistoryDays, int? DataclipDays, SourceLocation Location);

public sealed record RetrySpec(int Attempts, TimeSpan Backoff, TimeSpan MaxBackoff);

public sealed class WorkflowSpec
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<TriggerSpec> Triggers { get; init; } = [];

    /// <summary>Steps in the order written; the first is where trigger edges go by default.</summary>
    public IReadOnlyList<StepSpec> Steps { get; init; } = [];

    /// <summary>Most concurrent runs of this workflow on a server (null: no workflow limit).</summary>
    public int? Concurrency { get; init; }

    /// <summary>One run at a time, in arrival order.</summary>
    public bool Ordered { get; init; }

    public RetrySpec? Retry { get; init; }

    /// <summary>Run time budget (default 5 minutes); a step over it ends as killed.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Memory budget per step run in bytes (default 512 MB).</summary>
    public long? MemoryLimit { get; init; }

    public bool Enabled { get; init; } = true;

    public required SourceLocation Location { get; init; }

    public StepSpec? FindStep(string id) => Steps.FirstOrDefault(s => s.Id == id);
}

public enum TriggerType { Webhook, Cron, Manual }

public sealed class TriggerSpec
{
    public required string Name { get; init; }

    public required TriggerType Type { get; init; }

    /// <summary>Cron expression (5 fields, or 6 with seconds).</summary>
    public string? Cron { get; init; }

    /// <summary>IANA time zone of the cron schedule (default UTC).</summary>
    public string? Timezone { get; init; }

    /// <summary>Webhook auth: "api-key", "basic" or "none" (default "none").</summary>
    public string Auth { get; init; } = "none";

    /// <summary>Credential that holds the webhook's api_key or username/password.</summary>
    public string? Credential { get; init; }

    /// <summary>Custom intake path (webhook), e.g. "/commcare/forms".</summary>
    public string? Path { get; init; }

    /// <summary>"before_start" (default: 202 once stored) or "after_completion" (final data).</summary>
    public string Reply { get; init; } = "before_start";

    public TimeSpan? ReplyTimeout { get; init; }

    /// <summary>Largest accepted body in bytes (default 10 MB).</summary>
    public long? MaxBodyBytes { get; init; }

    /// <summary>Accepted body kinds: json, form, xml, text (default json only).</summary>
    public IReadOnlyList<string> ContentTypes { get; init; } = ["json"];

    public bool Enabled { get; init; } = true;

    public string? DisabledReason { get; init; }

    /// <summary>Edges from the trigger; empty means "always" into the workflow's first step.</summary>
    public IReadOnlyList<EdgeSpec> Next { get; init; } = [];

    public required SourceLocation Location { get; init; }
}

public sealed class StepSpec
{
    public required string Id { get; init; }

    public string? Name { get; init; }

    /// <summary>Adaptor kind (its global in the code); null for a pure-code or pure-mapping step.</summary>
    public string? Adaptor { get; init; }

    public string? Credential { get; init; }

    /// <summary>The step's C# code (read from <see cref="CodeFile"/> when the spec names a file).</summary>
    public string? Code { get; init; }

    /// <summary>Project-relative .csx path, or null for inline code.</summary>
    public string? CodeFile { get; init; }

    /// <summary>Where line 1 of <see cref="Code"/> is: the .csx file at 1:1, or the line of an inline block in ferry.yaml.</summary>
    public SourceLocation? CodeLocation { get; init; }

    /// <summary>Project-relative mapping spec path (.yaml or .csv), applied before <see cref="Code"/>.</summary>
    public string? Map { get; init; }

    /// <summary>Where the <c>map:</c> path is written in ferry.yaml.</summary>
    public SourceLocation? MapLocation { get; init; }

    public IReadOnlyList<EdgeSpec> Next { get; init; } = [];

    /// <summary>Step time budget (overrides the workflow's).</summary>
    public TimeSpan? Timeout { get; init; }

    public required SourceLocation Location { get; init; }
}

public enum EdgeConditionKind { Always, OnSuccess, OnFailure, Expression }

public sealed class EdgeSpec
{
    public required string Target { get; init; }

    public EdgeConditionKind Condition { get; init; } = EdgeConditionKind.Always;

    /// <summary>C# boolean expression over <c>state</c> when <see cref="Condition"/> is Expression.</summary>
    public string? Expression { get; init; }

    public string? Label { get; init; }

    public bool Disabled { get; init; }

    /// <summary>
    /// For an expression: where its text starts in ferry.yaml (after an opening quote; the first content line of a
    /// block), so a compile error at expression column c is at Location.Column + c - 1. Otherwise where the target is named.
    /// </summary>
    public required SourceLocation Location { get; init; }

    /// <summary>Where the target step id is written (null: same as <see cref="Location"/>).</summary>
    public SourceLocation? TargetLocation { get; init; }
}
