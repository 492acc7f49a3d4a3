using System.Collections.Concurrent;
using System.Globalization;
using Ferry.Deploy;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Storage;

namespace Ferry.Server.Projects;

/// <summary>A deployed project's current version: its spec, or why it does not load.</summary>
public sealed record CurrentProject(string Name, int Version, Spec.ProjectSpec? Spec, Exception? LoadError);

/// <summary>
/// Deployed project versions, validated and compiled once each: a deploy is refused unless the whole project
/// validates (the same checks as `ferry validate`), and runs find their version's plans here.
/// </summary>
public sealed class DeployedProjects(FerryStore store, ServerOptions options, WorkspaceOptions workspaceOptions)
{
    private readonly ConcurrentDictionary<(string Project, int Version), CachedWorkspace> _workspaces = new();
    private readonly ConcurrentDictionary<string, (VersionRecord? Version, long At)> _current = new(StringComparer.Ordinal);

    /// <summary>
    /// How long a compiled version other than a project's current one stays in memory after its last use (a run, a
    /// retry, a dry run). Then it is let go of, and its steps are unloaded unless another version shares their code:
    /// a server deployed to many times keeps only what it runs. A later run of that version loads it again, from the
    /// version folder and the compiled-step cache on disk (no compiler).
    /// </summary>
    public static readonly TimeSpan IdleVersionLifetime = TimeSpan.FromMinutes(2);

    /// <summary>A version's compiled workspace (loaded once) and when it was last asked for (UTC ticks).</summary>
    private sealed class CachedWorkspace(Lazy<Task<ProjectWorkspace>> load)
    {
        public Lazy<Task<ProjectWorkspace>> Load { get; } = load;

        public long LastUsed;
    }

    /// <summary>Versions compiled in memory now (for tests and diagnostics).</summary>
    public IReadOnlyList<(string Project, int Version)> Loaded => _workspaces.Keys.ToList();

    /// <summary>
    /// How long a project's current version is taken from memory on the intake path. A deploy in this process
    /// refreshes it at once; other processes on the same PostgreSQL see it within this time.
    /// </summary>
    public static readonly TimeSpan CurrentVersionCacheTime = TimeSpan.FromSeconds(2);

    /// <summary>Checks run on a validated project before it is stored (e.g. custom webhook paths free); they throw to refuse the deploy.</summary>
    public Func<Spec.ProjectSpec, CancellationToken, Task>? BeforeSave { get; set; }

    /// <summary>
    /// Every project with a deployed version, with the spec of its current version; a version that no longer loads
    /// comes with its <see cref="CurrentProject.LoadError"/> instead, so one broken project never stops a pass over
    /// the others (limits, cron ticks, retention).
    /// </summary>
    public async Task<IReadOnlyList<CurrentProject>> ListCurrentAsync(CancellationToken ct = default)
    {
        var result = new List<CurrentProject>();
        foreach (var project in await store.ListProjectsAsync(ct))
        {
            if (project.CurrentVersion < 1) continue;
            try
            {
                result.Add(new CurrentProject(project.Name, project.CurrentVersion, (await GetAsync(project.Name, project.CurrentVersion, ct)).Project, null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                result.Add(new CurrentProject(project.Name, project.CurrentVersion, null, e));
            }
        }
        return result;
    }

    /// <summary>The current version of a project (null: none deployed), from memory for up to <see cref="CurrentVersionCacheTime"/>.</summary>
    public async Task<VersionRecord?> GetCurrentAsync(string project, CancellationToken ct = default)
    {
        var now = Environment.TickCount64;
        var known = _current.TryGetValue(project, out var cached);
        if (known && now - cached.At < (long)CurrentVersionCacheTime.TotalMilliseconds) return cached.Version;
        VersionRecord? version;
        try
        {
            version = await store.GetVersionAsync(project, null, ct);
        }
        catch (Exception) when (known && !ct.IsCancellationRequested)
        {
            // The database is unreachable: webhooks go on with the version last seen (their requests wait in the intake
            // journal), rather than failing for as long as the outage lasts.
            return cached.Version;
        }
        _current[project] = (version, now);
        return version;
    }

    /// <summary>Validates and stores a new version (unless identical to the current one); throws <see cref="FerryInputException"/> with every problem.
    /// <paramref name="audit"/> makes the audit entry from the new version, stored with it in one transaction.</summary>
    public async Task<(VersionRecord Version, bool Created)> DeployAsync(ProjectBundle bundle, string? author, string? expectedName = null, Func<VersionRecord, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        var staging = Path.Combine(options.DataDirectory, "staging", Guid.NewGuid().ToString("N"));
        try
        {
            bundle.WriteTo(staging);
            ProjectWorkspace workspace;
            try
            {
                workspace = ProjectWorkspace.Open(staging, workspaceOptions);
            }
            catch (FerryInputException e)
            {
                // Locations as the user knows them: relative to the project, not to the server's staging folder.
                throw new FerryInputException(e.Diagnostics.Select(d => d with
                {
                    Message = ProjectRelative(d.Message, staging),
                    Hint = d.Hint is null ? null : ProjectRelative(d.Hint, staging),
                    Location = d.Location is null ? null : d.Location with { File = ProjectRelative(d.Location.File, staging) },
                }).ToArray());
            }
            var name = workspace.Project.Name;
            if (expectedName is not null && name != expectedName)
                throw new FerryInputException("FERRY611", $"The bundle's ferry.yaml names project '{name}', not '{expectedName}'.", null, $"Deploy it to /api/projects/{name}/versions, or rename the project.");
            var current = await store.GetVersionAsync(name, null, ct);
            if (current is not null && current.SpecHash == bundle.Hash) return (current, false);
            if (BeforeSave is { } check) await check(workspace.Project, ct);
            var saved = await store.SaveVersionAsync(name, bundle.ToJson(), bundle.Hash, author, audit, ct);
            _current.TryRemove(name, out _);
            return (saved, true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Turns paths under a server folder into project-relative ones (<c>jobs/x.csx</c>) in a user-facing text.</summary>
    public static string ProjectRelative(string text, string folder)
    {
        // Locations are written with the full path, or relative to the working directory (as the CLI shows them).
        var full = Path.GetFullPath(folder);
        text = text.Replace(full + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative == full ? text : text.Replace(relative + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
    }

    /// <summary>The folder a version is compiled from (error texts of its runs are made relative to it).</summary>
    public string VersionFolder(string project, int version) =>
        Path.GetFullPath(Path.Combine(options.DataDirectory, "versions", project, version.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The compiled workspace of a version (compiled once, then cached while in use: <see cref="IdleVersionLifetime"/>).</summary>
    public Task<ProjectWorkspace> GetAsync(string project, int version, CancellationToken ct = default)
    {
        var now = options.Clock.GetUtcNow().UtcTicks;
        var key = (project, version);
        var cached = _workspaces.GetOrAdd(key, k => new CachedWorkspace(new Lazy<Task<ProjectWorkspace>>(() => LoadAsync(k.Project, k.Version))));
        Volatile.Write(ref cached.LastUsed, now);
        var load = cached.Load.Value;
        // A failed load (database unreachable, …) is not remembered: the next run of that version tries again.
        if (load.IsFaulted || load.IsCanceled) _workspaces.TryRemove(new KeyValuePair<(string, int), CachedWorkspace>(key, cached));
        return load.WaitAsync(ct);
    }

    /// <summary>
    /// Lets go of the versions not used for <see cref="IdleVersionLifetime"/>, except each project's current one (as
    /// last seen), and returns how many it let go of. <see cref="IdleVersionSweeper"/> calls it on a timer, so a server
    /// lets go whether or not anything runs. Runs still holding a dropped workspace finish with it.
    /// </summary>
    public int SweepIdleVersions()
    {
        var now = options.Clock.GetUtcNow().UtcTicks;
        var letGo = 0;
        foreach (var (key, cached) in _workspaces)
        {
            if (now - Volatile.Read(ref cached.LastUsed) < IdleVersionLifetime.Ticks) continue;
            if (_current.TryGetValue(key.Project, out var current) && current.Version?.Version == key.Version) continue;
            if (_workspaces.TryRemove(new KeyValuePair<(string, int), CachedWorkspace>(key, cached))) letGo++;
        }
        return letGo;
    }

    private async Task<ProjectWorkspace> LoadAsync(string project, int version)
    {
        var record = await store.GetVersionAsync(project, version)
            ?? throw new FerryInputException("FERRY610", $"Project '{project}' has no version {version}.");
        var folder = VersionFolder(project, version);
        if (!File.Exists(Path.Combine(folder, "ferry.yaml"))) ProjectBundle.FromJson(record.BundleJson, $"{project} v{version}").WriteTo(folder);
        return ProjectWorkspace.Open(folder, workspaceOptions);
    }
}
