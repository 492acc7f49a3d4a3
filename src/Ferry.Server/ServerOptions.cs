namespace Ferry.Server;

/// <summary>
/// How the server starts. Defaults are what <c>ferry serve</c> uses with no flags. Precedence (highest first):
/// command-line flags, then FERRY_DATA / FERRY_DATABASE / FERRY_URLS, then these defaults (docs/operations.md).
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Addresses Kestrel listens on, separated by ';' (default <c>http://localhost:4000</c>).</summary>
    public string Urls { get; set; } = "http://localhost:4000";

    /// <summary>Where the server keeps its files: the SQLite database, <c>master.key</c>, compiled versions (default <c>./.ferry</c>).</summary>
    public string DataDirectory { get; set; } = ".ferry";

    /// <summary>PostgreSQL connection string; null means the embedded SQLite database in <see cref="DataDirectory"/>.</summary>
    public string? Database { get; set; }

    /// <summary>
    /// Accepted webhook requests that may wait in the intake journal for the database (default 100,000). Beyond it,
    /// webhooks answer 503 with Retry-After until the database catches up.
    /// </summary>
    public int IntakeBacklog { get; set; } = 100_000;

    /// <summary>Runs executed at once by this process (default: 2 per core).</summary>
    public int Workers { get; set; } = Math.Max(2, Environment.ProcessorCount * 2);

    /// <summary>How long a claim lasts without a heartbeat before the janitor marks the run lost (default 30 s).</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an idle worker looks for work when no intake signal woke it (default 500 ms).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest dataclip stored; bigger states are replaced by a note with their size (default 10 MB).</summary>
    public int MaxDataclipBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Where step code is compiled at deploy: a child process (<c>ferry serve</c> sets it), or null for this process.</summary>
    public Scripting.CompilerProcess? CompilerProcess { get; set; }

    /// <summary>The clock of the store, the scheduler and the janitor (tests move it; production uses the system clock).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Project folders deployed (a new version when they changed) when the server starts.</summary>
    public IReadOnlyList<string> Deploy { get; set; } = [];

    /// <summary>
    /// Asked by <c>/readyz</c> on every probe: ready to take traffic (database reachable, migrations applied…)?
    /// Null means always ready.
    /// </summary>
    public Func<CancellationToken, Task<ReadinessReport>>? Readiness { get; set; }

    /// <summary>How often the scheduler leader looks for due cron ticks (default 1 s).</summary>
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the leader lease lasts without renewal; another <c>ferry serve</c> on the same database takes over after it (default 30 s).</summary>
    public TimeSpan LeaderLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the leader applies every project's retention policy (default 5 minutes).</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Days of run history kept for a project whose ferry.yaml sets no <c>retention.history_days</c> (default 90).</summary>
    public int DefaultHistoryDays { get; set; } = 90;

    /// <summary>How often compiled versions idle for <see cref="Projects.DeployedProjects.IdleVersionLifetime"/> are let go of
    /// and their memory given back (default 30 s; <see cref="Projects.IdleVersionSweeper"/>).</summary>
    public TimeSpan VersionSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a worker checks whether its running run was cancelled (default 1 s).</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long shutdown waits for in-flight runs (default 30 s); runs still going then are handed back to the queue
    /// (<c>available</c>) for another process or the next start.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The answer of a readiness check; <see cref="Detail"/> says what is not ready and is shown in the 503.</summary>
public sealed record ReadinessReport(bool IsReady, string Detail)
{
    public static ReadinessReport Ready { get; } = new(true, "ready");

    public static ReadinessReport NotReady(string detail) => new(false, detail);
}
