using System.Collections.Concurrent;
using System.Reflection;
using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Spec;

namespace Ferry.Engine;

public sealed class WorkspaceOptions
{
    public required AdaptorCatalog Catalog { get; init; }

    /// <summary>Disk cache of compiled steps (null: memory only).</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>How file paths appear in messages (the CLI makes them relative to the current folder).</summary>
    public Func<string, string> DisplayPath { get; init; } = p => p;

    /// <summary>Builds step code in a child process (the server, to keep Roslyn out of its memory); null: in this process.</summary>
    public Scripting.CompilerProcess? CompilerProcess { get; init; }
}

/// <summary>
/// A project loaded, validated and compiled: every problem in ferry.yaml, step code, conditions and mapping specs
/// is found at once (and thrown together), and each workflow becomes a <see cref="WorkflowPlan"/> ready to run.
/// </summary>
public sealed class ProjectWorkspace
{
    private static readonly ConcurrentDictionary<string, StepCompiler> Compilers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkflowPlan> _plans;

    private ProjectWorkspace(ProjectSpec project, Dictionary<string, WorkflowPlan> plans, IReadOnlyList<Diagnostic> warnings)
    {
        Project = project;
        _plans = plans;
        Warnings = warnings;
    }

    public ProjectSpec Project { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public static ProjectWorkspace Open(string projectPath, WorkspaceOptions options)
    {
        var load = ProjectLoader.Load(projectPath, new ProjectLoadOptions { KnownAdaptors = options.Catalog.Names.ToArray() });
        var problems = load.Diagnostics.ToList();
        if (load.Project is null || problems.Any(p => p.IsError && p.Code is "FERRY001" or "FERRY002" or "FERRY003"))
            throw new FerryInputException(problems);
        var project = load.Project;
        var planner = new WorkflowPlanner(project, Compiler(options), options);
        var plans = new Dictionary<string, WorkflowPlan>(StringComparer.Ordinal);
        foreach (var workflow in project.Workflows)
        {
            var plan = planner.Plan(workflow, problems);
            if (plan is not null) plans[workflow.Name] = plan;
        }
        if (problems.Any(p => p.IsError)) throw new FerryInputException(Distinct(problems));
        return new ProjectWorkspace(project, plans, problems);
    }

    /// <summary>A one-step project around a single .csx file (<c>ferry run job.csx -a http</c>).</summary>
    public static ProjectWorkspace ForJob(string csxPath, string? adaptorName, WorkspaceOptions options)
    {
        var full = Path.GetFullPath(csxPath);
        var display = options.DisplayPath(full);
        if (!File.Exists(full))
            throw new FerryInputException("FERRY403", $"Step file '{display}' does not exist.", null, "Check the path, or run a project folder instead.");
        AdaptorDescriptor? adaptor = null;
        if (adaptorName is not null && !options.Catalog.TryGet(adaptorName, out adaptor))
            throw new FerryInputException("FERRY040", $"Unknown adaptor '{adaptorName}'.", null,
                $"{Suggestions.DidYouMean(adaptorName, options.Catalog.Names)} Known adaptors: {string.Join(", ", options.Catalog.Names.Order(StringComparer.Ordinal))}.".Trim());
        var stepId = Path.GetFileNameWithoutExtension(full);
        var location = new SourceLocation(display, 1, 1);
        var step = new StepSpec
        {
            Id = stepId,
            Adaptor = adaptor?.Name,
            Credential = adaptor is { CredentialFields.Count: > 0 } ? adaptor.Name : null,
            Code = File.ReadAllText(full),
            CodeFile = display,
            CodeLocation = location,
            Location = location,
        };
        var workflow = new WorkflowSpec { Name = stepId, Steps = [step], Location = location };
        var project = new ProjectSpec
        {
            Name = stepId,
            Directory = Path.GetDirectoryName(full)!,
            SpecFile = full,
            Workflows = [workflow],
            Credentials = step.Credential is null ? [] : [new CredentialSpec(step.Credential, adaptor!.Name, location)],
        };
        var problems = new List<Diagnostic>();
        var plan = new WorkflowPlanner(project, Compiler(options), options).Plan(workflow, problems);
        if (plan is null || problems.Any(p => p.IsError)) throw new FerryInputException(Distinct(problems));
        return new ProjectWorkspace(project, new Dictionary<string, WorkflowPlan> { [workflow.Name] = plan }, problems);
    }

    /// <summary>The plan of a workflow (null: the only, or else the first, workflow).</summary>
    public WorkflowPlan Plan(string? workflow)
    {
        if (workflow is null) return _plans[Project.Workflows[0].Name];
        if (_plans.TryGetValue(workflow, out var plan)) return plan;
        throw new FerryInputException("FERRY404", $"Project '{Project.Name}' has no workflow '{workflow}'.", null,
            $"{Suggestions.DidYouMean(workflow, _plans.Keys)} Workflows: {string.Join(", ", Project.Workflows.Select(w => w.Name))}.".Trim());
    }

    /// <summary>Checks that every credential the plan's steps use has values, with the fields its adaptor requires.</summary>
    public static IReadOnlyList<Diagnostic> CheckCredentials(IReadOnlyDictionary<string, JsObject> credentials, WorkflowPlan plan, string source)
    {
        var problems = new List<Diagnostic>();
        foreach (var group in plan.Steps.Where(s => s.Credential is not null).GroupBy(s => s.Credential!, StringComparer.Ordinal))
        {
            var step = group.First();
            if (!credentials.TryGetValue(group.Key, out var values))
            {
                problems.Add(new Diagnostic("FERRY301",
                    $"Step '{step.Id}' uses credential '{group.Key}' ({step.Adaptor?.Name}), but {source} gives no values for it.", step.Location,
                    $"Pass --credentials creds.json with \"{group.Key}\": {{ {FieldsExample(step.Adaptor)} }} (ferry docs {step.Adaptor?.Name} lists the fields)."));
                continue;
            }
            if (step.Adaptor is not null) problems.AddRange(step.Adaptor.ValidateCredential(group.Key, values, source));
        }
        return problems;
    }

    private static string FieldsExample(AdaptorDescriptor? adaptor)
    {
        var fields = adaptor?.CredentialFields.Where(f => f.Required).ToList() ?? [];
        if (fields.Count == 0) fields = adaptor?.CredentialFields.Take(4).ToList() ?? [];
        return string.Join(", ", fields.Select(f => $"\"{f.Name}\": …"));
    }

    private static StepCompiler Compiler(WorkspaceOptions options) =>
        Compilers.GetOrAdd(options.CacheDirectory ?? "", _ => new StepCompiler(new StepCompilerOptions
        {
            CacheDirectory = options.CacheDirectory,
            ApiAssemblies = ApiAssemblies(options.Catalog),
            Process = options.CompilerProcess,
        }));

    internal static IReadOnlyList<Assembly> ApiAssemblies(AdaptorCatalog catalog) =>
        new[] { typeof(JsObject).Assembly }.Concat(catalog.All.Select(a => a.Type.Assembly)).Distinct().ToArray();

    private static List<Diagnostic> Distinct(List<Diagnostic> problems) => problems.Distinct().ToList();
}
