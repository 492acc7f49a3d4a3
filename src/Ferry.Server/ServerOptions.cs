namespace Ferry.Server;

/// <summary>
/// Settings of `ferry serve`, with their defaults. Order of precedence (highest first): command-line flags, then
/// environment variables (FERRY_DATA, FERRY_DATABASE, FERRY_URLS), then these defaults.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Data folder: the SQLite database, the master key file, compiled versions. Default <c>./.ferry</c>.</summary>
    public string DataDirectory { get; init; } = ".ferry";

    /// <summary>PostgreSQL connection string; null means the embedded SQLite database in <see cref="DataDirectory"/>.</summary>
    public string? Database { get; init; }

    public string Urls { get; init; } = "http://localhost:4000";

    /// <summary>Runs executed at once by this process.</summary>
    public int Workers { get; init; } = Math.Max(2, Environment.ProcessorCount * 2);

    /// <summary>How long a claim lasts without a heartbeat before the janitor marks the run lost.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an idle worker looks for work when no intake signal woke it.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest dataclip stored; bigger states are replaced by a note with their size.</summary>
    public int MaxDataclipBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>Project folders deployed (as new versions, when they changed) when the server starts.</summary>
    public IReadOnlyList<string> Deploy { get; init; } = [];
}
