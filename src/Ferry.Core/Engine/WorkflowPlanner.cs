using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Mapping;
using Ferry.Scripting;
using Ferry.Spec;

namespace Ferry.Engine;

/// <summary>Turns a workflow spec into a runnable plan: compiles step code and conditions, loads mapping specs.</summary>
internal sealed class WorkflowPlanner(ProjectSpec project, StepCompiler compiler, WorkspaceOptions options)
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);
    private const long DefaultMemory = 512L * 1024 * 1024;

    public WorkflowPlan? Plan(WorkflowSpec workflow, List<Diagnostic> problems)
    {
        var before = problems.Count(p => p.IsError);
        var steps = workflow.Steps.Select(s => PlanStep(workflow, s, problems)).ToArray();
        var trigger = workflow.Triggers.FirstOrDefault(t => t.Next.Count > 0);
        var entry = trigger?.Next.Select(e => PlanEdge(e, problems)).ToArray() ?? [];
        return problems.Count(p => p.IsError) > before ? null : new WorkflowPlan(project.Name, workflow.Name, steps, entry)
        {
            Timeout = workflow.Timeout ?? DefaultTimeout,
            TimeoutSource = workflow.Timeout is { } limit
                ? $"The limit is 'timeout: {SpecValues.FormatDuration(limit)}' of workflow '{workflow.Name}' ({workflow.Location}); raise it there if runs need longer."
                : $"The limit is the default ({SpecValues.FormatDuration(DefaultTimeout)}); set 'timeout:' on workflow '{workflow.Name}' ({workflow.Location}) to change it.",
        };
    }

    private PlannedStep PlanStep(WorkflowSpec workflow, StepSpec step, List<Diagnostic> problems)
    {
        AdaptorDescriptor? adaptor = null;
        if (step.Adaptor is not null) options.Catalog.TryGet(step.Adaptor, out adaptor);
        return new PlannedStep
        {
            Id = step.Id,
            Adaptor = adaptor,
            Credential = step.Credential,
            Code = step.Code is null ? null : CompileCode(step, adaptor, problems),
            Map = step.Map is null ? null : LoadMapping(step, problems),
            Next = step.Next.Select(e => PlanEdge(e, problems)).ToArray(),
            Timeout = step.Timeout ?? workflow.Timeout ?? DefaultTimeout,
            TimeoutSource = TimeoutSource(workflow, step),
            MemoryLimit = workflow.MemoryLimit ?? DefaultMemory,
            MemorySource = workflow.MemoryLimit is { } memory
                ? $"The limit is 'memory: {Megabytes(memory)}' of workflow '{workflow.Name}' ({workflow.Location}); raise it there, or process the data in smaller pieces."
                : $"The limit is the default ({Megabytes(DefaultMemory)}); set 'memory:' on workflow '{workflow.Name}' ({workflow.Location}) to change it, or process the data in smaller pieces.",
            Location = step.Location,
        };
    }

    private static string TimeoutSource(WorkflowSpec workflow, StepSpec step) => (step.Timeout, workflow.Timeout) switch
    {
        ({ } own, _) => $"The limit is 'timeout: {SpecValues.FormatDuration(own)}' of step '{step.Id}' ({step.Location}); raise it there if the step needs longer.",
        (null, { } inherited) => $"The limit is 'timeout: {SpecValues.FormatDuration(inherited)}' of workflow '{workflow.Name}' ({workflow.Location}); raise it there, or set 'timeout:' on step '{step.Id}' alone.",
        _ => $"The limit is the default ({SpecValues.FormatDuration(DefaultTimeout)}); set 'timeout:' on step '{step.Id}' ({step.Location}) or on workflow '{workflow.Name}' to change it.",
    };

    private static string Megabytes(long bytes) => $"{bytes / (1024.0 * 1024):0.#}MB";

    private StepCode? CompileCode(StepSpec step, AdaptorDescriptor? adaptor, List<Diagnostic> problems)
    {
        var result = compiler.CompileStep(step.Code!, step.CodeLocation ?? step.Location, adaptor?.Type, adaptor?.Name);
        problems.AddRange(result.Diagnostics);
        if (!result.Success || result.Step is null) return null;
        var compiled = result.Step;
        return new StepCode(compiled.RunAsync, e =>
        {
            var error = StepErrors.Describe(e, compiled);
            return new StepFailure(FailureType(e), error.Message, error.Where);
        });
    }

    private static string FailureType(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        return e switch
        {
            SandboxViolationException => "SandboxViolation",
            StepKilledException => "Killed",
            _ => e.GetType().Name,
        };
    }

    private Func<JsObject, MapOutcome>? LoadMapping(StepSpec step, List<Diagnostic> problems)
    {
        var path = project.Resolve(step.Map!);
        MappingSpec spec;
        try
        {
            spec = MappingSpecLoader.Load(path, options.DisplayPath(path));
        }
        catch (FerryInputException e)
        {
            problems.AddRange(e.Diagnostics);
            return null;
        }
        return state =>
        {
            var report = Mapper.Apply(spec, state);
            var summary = $"Mapped {report.Mapped:N0} of {report.Read:N0} records with {step.Map}" +
                          (report.Rejected > 0 ? $"; {report.Rejected:N0} rejected (see state.{spec.Rejected})" : "") + ".";
            if (!report.Stopped) return new MapOutcome(null, summary);
            var first = report.Issues.Take(5).Select(i => $"record {i.RecordIndex}: field '{i.Field}' broke rule '{i.Rule}': {i.Message} (record: {i.RecordExcerpt})");
            return new MapOutcome(report.FailureMessage ?? $"Mapping {step.Map} stopped: {string.Join("; ", first)}", summary);
        };
    }

    private PlannedEdge PlanEdge(EdgeSpec edge, List<Diagnostic> problems)
    {
        Func<JsObject, ExecutionBudget, bool>? condition = null;
        if (edge.Condition == EdgeConditionKind.Expression && !string.IsNullOrWhiteSpace(edge.Expression))
        {
            var result = compiler.CompileCondition(edge.Expression, edge.Location);
            problems.AddRange(result.Diagnostics);
            if (result.Success && result.Condition is { } compiled) condition = compiled.Evaluate;
        }
        return new PlannedEdge
        {
            Target = edge.Target,
            Kind = edge.Condition,
            Condition = condition,
            Expression = edge.Expression,
            Disabled = edge.Disabled,
            Location = edge.Location,
        };
    }
}
