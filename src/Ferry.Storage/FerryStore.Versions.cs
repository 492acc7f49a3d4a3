using System.Data.Common;
using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

public sealed partial class FerryStore
{
    private const string VersionColumns = "v.project, v.version, v.bundle, v.spec_hash, v.author, v.created_at, p.current_version";

    /// <summary>Stores a deploy as the next version of <paramref name="project"/> (1 for a new project) and makes it current,
    /// with the <paramref name="audit"/> entry made of the new version in the same transaction.</summary>
    public Task<VersionRecord> SaveVersionAsync(string project, string bundleJson, string specHash, string? author, Func<VersionRecord, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(project);
        ArgumentException.ThrowIfNullOrWhiteSpace(bundleJson);
        var now = Now;
        return WriteAsync(async scope =>
        {
            // The upsert locks the project row (PostgreSQL) so two deploys of one project number their versions in turn.
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO projects (name, current_version, created_at, updated_at) VALUES (@project, 0, @now, @now)
                ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at
                """, new { project, now = _dialect.Time(now) }, scope, ct));
            var version = 1 + await scope.Connection.ExecuteScalarAsync<int>(Cmd(
                "SELECT COALESCE(MAX(version), 0) FROM versions WHERE project = @project", new { project }, scope, ct));
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO versions (project, version, bundle, spec_hash, author, created_at)
                VALUES (@project, @version, @bundleJson, @specHash, @author, @now)
                """, new { project, version, bundleJson, specHash, author, now = _dialect.Time(now) }, scope, ct));
            await scope.Connection.ExecuteAsync(Cmd(
                "UPDATE projects SET current_version = @version WHERE name = @project", new { project, version }, scope, ct));
            var saved = new VersionRecord(project, version, bundleJson, specHash, author, now, IsCurrent: true);
            await InsertAuditAsync(scope, audit?.Invoke(saved), ct);
            return saved;
        }, ct);
    }

    /// <summary>One version of a project; <paramref name="version"/> null means the current one. Null when unknown.</summary>
    public async Task<VersionRecord?> GetVersionAsync(string project, int? version = null, CancellationToken ct = default)
    {
        var sql = version is null
            ? $"SELECT {VersionColumns} FROM versions v JOIN projects p ON p.name = v.project WHERE v.project = @project AND v.version = p.current_version"
            : $"SELECT {VersionColumns} FROM versions v JOIN projects p ON p.name = v.project WHERE v.project = @project AND v.version = @version";
        var rows = await ReadAsync(sql, new { project, version }, MapVersion, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>All versions of a project, newest first.</summary>
    public Task<IReadOnlyList<VersionRecord>> ListVersionsAsync(string project, CancellationToken ct = default) =>
        ReadAsync($"SELECT {VersionColumns} FROM versions v JOIN projects p ON p.name = v.project WHERE v.project = @project ORDER BY v.version DESC",
            new { project }, MapVersion, ct);

    /// <summary>Every deployed project, by name.</summary>
    public Task<IReadOnlyList<ProjectRecord>> ListProjectsAsync(CancellationToken ct = default) =>
        ReadAsync("SELECT name, current_version, created_at, updated_at FROM projects ORDER BY name", null,
            r => new ProjectRecord(r.GetString(0), r.GetInt32(1), _dialect.ReadTime(r, 2), _dialect.ReadTime(r, 3)), ct);

    private VersionRecord MapVersion(DbDataReader r) => new(
        r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), StringOrNull(r, 4), _dialect.ReadTime(r, 5), r.GetInt32(1) == r.GetInt32(6));

    private const string CursorQuery = "SELECT value FROM cursors WHERE project = @project AND workflow = @workflow";

    /// <summary>The workflow's cursor (JSON text), or null when it has none yet.</summary>
    public async Task<string?> GetCursorAsync(string project, string workflow, CancellationToken ct = default)
    {
        var rows = await ReadAsync(CursorQuery, new { project, workflow }, r => r.GetString(0), ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Replaces the workflow's cursor (JSON text).</summary>
    public Task SetCursorAsync(string project, string workflow, string json, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(json);
        var now = Now;
        return WriteAsync(scope => UpsertCursorAsync(scope, project, workflow, json, now, ct), ct);
    }

    // ON CONFLICT … DO UPDATE is the same text in SQLite (3.24+) and PostgreSQL, so upserts need no dialect.
    private Task<int> UpsertCursorAsync(WriteScope scope, string project, string workflow, string json, DateTimeOffset now, CancellationToken ct) =>
        ExecuteStatementAsync(scope, """
            INSERT INTO cursors (project, workflow, value, updated_at) VALUES (@project, @workflow, @json, @now)
            ON CONFLICT (project, workflow) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, [("project", project), ("workflow", workflow), ("json", json), ("now", _dialect.Time(now))], ct);
}
