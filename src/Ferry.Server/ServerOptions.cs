namespace Ferry.Server;

/// <summary>
/// How the server starts. Defaults are what <c>ferry serve</c> uses with no flags (see docs/operations.md).
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Addresses Kestrel listens on, separated by ';' (default <c>http://localhost:4000</c>).</summary>
    public string Urls { get; set; } = "http://localhost:4000";

    /// <summary>Where the server keeps its files: the SQLite database and <c>master.key</c> (default <c>./.ferry</c>).</summary>
    public string DataDirectory { get; set; } = ".ferry";

    /// <summary>
    /// Asked by <c>/readyz</c> on every probe: ready to take traffic (database reachable, migrations applied…)?
    /// Null means always ready.
    /// </summary>
    public Func<CancellationToken, Task<ReadinessReport>>? Readiness { get; set; }
}

/// <summary>The answer of a readiness check; <see cref="Detail"/> says what is not ready and is shown in the 503.</summary>
public sealed record ReadinessReport(bool IsReady, string Detail)
{
    public static ReadinessReport Ready { get; } = new(true, "ready");

    public static ReadinessReport NotReady(string detail) => new(false, detail);
}
