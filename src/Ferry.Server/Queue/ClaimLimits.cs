using Ferry.Server.Projects;
using Ferry.Storage;

namespace Ferry.Server.Queue;

/// <summary>The concurrency limits of every project's current version, as the store's claim takes them.</summary>
public sealed record ClaimLimitSet(
    IReadOnlyDictionary<string, int> ProjectLimits,
    IReadOnlyDictionary<(string Project, string Workflow), int> WorkflowLimits,
    IReadOnlySet<(string Project, string Workflow)> OrderedWorkflows,
    IReadOnlyDictionary<string, int> Versions)
{
    public static ClaimLimitSet Empty { get; } = new(new Dictionary<string, int>(), new Dictionary<(string, string), int>(),
        new HashSet<(string, string)>(), new Dictionary<string, int>());

    /// <summary>Whether any project has a limit (claims without limits skip the counting entirely).</summary>
    public bool Any => ProjectLimits.Count > 0 || WorkflowLimits.Count > 0 || OrderedWorkflows.Count > 0;

    /// <summary>True when <paramref name="run"/> is of a version newer than these limits were built from (or of an unknown project).</summary>
    public bool IsOlderThan(ClaimedRun run) => !Versions.TryGetValue(run.Project, out var version) || run.Version > version;

    /// <summary>Whether <paramref name="project"/> has a project limit or a workflow with a limit or ordered mode.</summary>
    public bool Limits(string project) => ProjectLimits.ContainsKey(project)
        || WorkflowLimits.Keys.Any(k => k.Project == project) || OrderedWorkflows.Any(k => k.Project == project);

    public ClaimRequest For(string workerId, TimeSpan lease) => Any
        ? new ClaimRequest(workerId, lease, ProjectLimits, WorkflowLimits, OrderedWorkflows)
        : new ClaimRequest(workerId, lease);
}

/// <summary>
/// Builds claim limits from ferry.yaml: the project's <c>concurrency</c>, each workflow's <c>concurrency</c> and
/// <c>ordered</c> (the global limit is the number of workers). Cached and refreshed every
/// <see cref="RefreshInterval"/>, and at once when a worker claims a run of a version newer than the cache knows
/// (a deploy): such a run is handed back and claimed again under the new limits, so a deploy's limits hold from its
/// first run.
/// </summary>
public sealed partial class ClaimLimits(DeployedProjects projects, ILogger<ClaimLimits> logger) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ClaimLimitSet _current = ClaimLimitSet.Empty;
    private long _loadedAt = long.MinValue / 2;

    /// <summary>The limits, refreshed first when older than <see cref="RefreshInterval"/>.</summary>
    public async ValueTask<ClaimLimitSet> GetAsync(CancellationToken ct)
    {
        if (Environment.TickCount64 - Volatile.Read(ref _loadedAt) < (long)RefreshInterval.TotalMilliseconds) return Volatile.Read(ref _current);
        return await RefreshAsync(ct, onlyIfStale: true);
    }

    /// <summary>Reloads the limits from every project's current version.</summary>
    public async Task<ClaimLimitSet> RefreshAsync(CancellationToken ct, bool onlyIfStale = false)
    {
        var asked = Environment.TickCount64;
        await _gate.WaitAsync(ct);
        try
        {
            // Another worker refreshed while this one waited: use its result.
            if (Volatile.Read(ref _loadedAt) >= asked || (onlyIfStale && Environment.TickCount64 - _loadedAt < (long)RefreshInterval.TotalMilliseconds)) return _current;
            var projectLimits = new Dictionary<string, int>(StringComparer.Ordinal);
            var workflowLimits = new Dictionary<(string, string), int>();
            var ordered = new HashSet<(string, string)>();
            var versions = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var project in await projects.ListCurrentAsync(ct))
            {
                versions[project.Name] = project.Version;
                if (project.Spec is not { } spec)
                {
                    // A version that does not load cannot run either; its runs end `exception` with the reason.
                    LogLoadFailed(logger, project.Name, project.Version, project.LoadError!);
                    continue;
                }
                if (spec.Concurrency is { } limit) projectLimits[project.Name] = limit;
                foreach (var workflow in spec.Workflows)
                {
                    if (workflow.Concurrency is { } flowLimit) workflowLimits[(project.Name, workflow.Name)] = flowLimit;
                    if (workflow.Ordered) ordered.Add((project.Name, workflow.Name));
                }
            }
            var set = new ClaimLimitSet(projectLimits, workflowLimits, ordered, versions);
            Volatile.Write(ref _current, set);
            Volatile.Write(ref _loadedAt, Environment.TickCount64);
            return set;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The concurrency limits of {Project} v{Version} could not be read")]
    private static partial void LogLoadFailed(ILogger logger, string project, int version, Exception e);
}
