using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Spec;

namespace Ferry.Engine;

/// <summary>A step's compiled code as the engine sees it: run it, and explain its exceptions.</summary>
public sealed record StepCode(
    Func<StepGlobals, Task<object?>> Run,
    Func<Exception, StepFailure> Describe);

/// <summary>What a declarative mapping did to the state: null when it passed, else why the step fails.</summary>
public sealed record MapOutcome(string? Failure, string Summary);

/// <summary>A step ready to run: everything loaded and compiled (built by the workflow planner).</summary>
public sealed class PlannedStep
{
    public required string Id { get; init; }

    public AdaptorDescriptor? Adaptor { get; init; }

    public string? Credential { get; init; }

    /// <summary>Declarative mapping applied before <see cref="Code"/>.</summary>
    public Func<JsObject, MapOutcome>? Map { get; init; }

    public StepCode? Code { get; init; }

    public IReadOnlyList<PlannedEdge> Next { get; init; } = [];

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    public long MemoryLimit { get; init; } = 512L * 1024 * 1024;

    /// <summary>Where <see cref="Timeout"/> is set and how to change it (added to the error of a step killed by it).</summary>
    public string? TimeoutSource { get; init; }

    /// <summary>Where <see cref="MemoryLimit"/> is set and how to change it (added to the error of a step killed by it).</summary>
    public string? MemorySource { get; init; }

    public SourceLocation? Location { get; init; }
}

public sealed class PlannedEdge
{
    public required string Target { get; init; }

    public EdgeConditionKind Kind { get; init; } = EdgeConditionKind.Always;

    /// <summary>The compiled C# condition when <see cref="Kind"/> is Expression.</summary>
    public Func<JsObject, ExecutionBudget, bool>? Condition { get; init; }

    public string? Expression { get; init; }

    public bool Disabled { get; init; }

    public SourceLocation? Location { get; init; }
}

/// <summary>One workflow, compiled and linked, reusable for any number of runs.</summary>
public sealed class WorkflowPlan
{
    private readonly Dictionary<string, PlannedStep> _byId;

    public WorkflowPlan(string project, string workflow, IReadOnlyList<PlannedStep> steps, IReadOnlyList<PlannedEdge> entryEdges)
    {
        Project = project;
        Workflow = workflow;
        Steps = steps;
        EntryEdges = entryEdges;
        _byId = steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    public string Project { get; }

    public string Workflow { get; }

    public IReadOnlyList<PlannedStep> Steps { get; }

    /// <summary>Edges from the trigger into the workflow (always or expressions).</summary>
    public IReadOnlyList<PlannedEdge> EntryEdges { get; }

    /// <summary>The run's time limit from the workflow's <c>timeout</c> (default 5 minutes); see <see cref="RunOptions.Timeout"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Where <see cref="Timeout"/> is set and how to change it, for the error of a run it stops.</summary>
    public string? TimeoutSource { get; init; }

    public PlannedStep? Find(string id) => _byId.GetValueOrDefault(id);
}
