using Ferry.Server.Projects;
using Ferry.Spec;
using Ferry.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace Ferry.Server.Webhooks;

/// <summary>A custom webhook path and the trigger that claims it.</summary>
public sealed record WebhookRoute(string Path, string Project, string Workflow, string Trigger);

/// <summary>
/// Custom webhook paths (<c>path:</c> of webhook triggers) of every deployed project's current version: which trigger
/// a <c>POST /kobo/households</c> is for, and the check that refuses a deploy claiming a path another project serves.
/// Paths match as the spec validator compares them: case-insensitive, a trailing '/' ignored.
/// </summary>
public sealed class WebhookPaths(FerryStore store, DeployedProjects projects)
{
    private Snapshot _snapshot = Snapshot.Empty;

    /// <summary>
    /// The trigger claiming <paramref name="path"/>. A hit is served from memory for up to
    /// <see cref="DeployedProjects.CurrentVersionCacheTime"/>; a miss reads the project list again, so a path deployed
    /// a moment ago (in this process or another) is found at once.
    /// </summary>
    public async ValueTask<WebhookRoute?> FindAsync(string path, CancellationToken ct = default)
    {
        var key = Key(path);
        var snapshot = _snapshot;
        if (Environment.TickCount64 - snapshot.At < (long)DeployedProjects.CurrentVersionCacheTime.TotalMilliseconds
            && snapshot.Routes.TryGetValue(key, out var cached))
        {
            return cached;
        }
        snapshot = await RefreshAsync(ct);
        return snapshot.Routes.GetValueOrDefault(key);
    }

    /// <summary>
    /// Refuses (<see cref="WebhookPathConflictException"/>) a version of <paramref name="project"/> that claims a custom
    /// path another deployed project serves. Hooked into <see cref="DeployedProjects.BeforeSave"/>.
    /// </summary>
    public async Task EnsureUnclaimedAsync(ProjectSpec project, CancellationToken ct = default)
    {
        var snapshot = await RefreshAsync(ct);
        foreach (var wanted in RoutesOf(project))
        {
            if (snapshot.Routes.TryGetValue(Key(wanted.Path), out var owner) && owner.Project != project.Name)
                throw new WebhookPathConflictException(owner, wanted);
        }
    }

    /// <summary>The custom paths a project's spec declares.</summary>
    public static IEnumerable<WebhookRoute> RoutesOf(ProjectSpec project) =>
        from workflow in project.Workflows
        from trigger in workflow.Triggers
        where trigger.Type == TriggerType.Webhook && trigger.Path is not null
        select new WebhookRoute(trigger.Path!, project.Name, workflow.Name, trigger.Name);

    private static string Key(string path) => path.TrimEnd('/').ToLowerInvariant();

    private async Task<Snapshot> RefreshAsync(CancellationToken ct)
    {
        var previous = _snapshot;
        var current = await store.ListProjectsAsync(ct);
        var byProject = new Dictionary<string, (int Version, IReadOnlyList<WebhookRoute> Routes)>(StringComparer.Ordinal);
        foreach (var record in current.Where(p => p.CurrentVersion > 0))
        {
            if (previous.ByProject.TryGetValue(record.Name, out var known) && known.Version == record.CurrentVersion)
            {
                byProject[record.Name] = known;
                continue;
            }
            try
            {
                var workspace = await projects.GetAsync(record.Name, record.CurrentVersion, ct);
                byProject[record.Name] = (record.CurrentVersion, RoutesOf(workspace.Project).ToArray());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A version that no longer loads serves no webhooks (its runs report why); the others still route.
                byProject[record.Name] = (record.CurrentVersion, []);
            }
        }
        var routes = new Dictionary<string, WebhookRoute>(StringComparer.Ordinal);
        // Two projects claiming one path can only come from deploys racing in two processes: the first by name keeps it.
        foreach (var (_, entry) in byProject.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var route in entry.Routes) routes.TryAdd(Key(route.Path), route);
        }
        var snapshot = new Snapshot(byProject, routes, Environment.TickCount64);
        _snapshot = snapshot;
        return snapshot;
    }

    private sealed record Snapshot(IReadOnlyDictionary<string, (int Version, IReadOnlyList<WebhookRoute> Routes)> ByProject, IReadOnlyDictionary<string, WebhookRoute> Routes, long At)
    {
        public static Snapshot Empty { get; } = new(new Dictionary<string, (int, IReadOnlyList<WebhookRoute>)>(), new Dictionary<string, WebhookRoute>(), long.MinValue / 2);
    }
}

/// <summary>A deploy refused because a custom webhook path it declares is served by another deployed project (409).</summary>
public sealed class WebhookPathConflictException(WebhookRoute owner, WebhookRoute wanted) : Exception(
    $"Webhook path '{wanted.Path}' of trigger '{wanted.Trigger}' (workflow '{wanted.Workflow}') in project '{wanted.Project}' is already served by " +
    $"trigger '{owner.Trigger}' (workflow '{owner.Workflow}') of project '{owner.Project}'. A path can start only one trigger: give one of them " +
    $"another path in ferry.yaml, or first deploy a version of '{owner.Project}' without it.")
{
    public WebhookRoute Owner { get; } = owner;

    public WebhookRoute Wanted { get; } = wanted;
}

/// <summary>Answers <see cref="WebhookPathConflictException"/> from any endpoint that deploys (deploy, restore) with 409 problem JSON.</summary>
internal sealed class WebhookPathConflictHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not WebhookPathConflictException conflict) return false;
        httpContext.Response.StatusCode = StatusCodes.Status409Conflict;
        await Results.Problem(title: "Webhook path already served", detail: conflict.Message, statusCode: StatusCodes.Status409Conflict,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = "path",
                ["path"] = conflict.Wanted.Path,
                ["projects"] = new[] { conflict.Owner, conflict.Wanted },
            }).ExecuteAsync(httpContext);
        return true;
    }
}
