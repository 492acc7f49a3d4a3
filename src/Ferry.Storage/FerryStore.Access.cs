using Dapper;

namespace Ferry.Storage;

/// <summary>A stored credential: its values are an encrypted envelope the server's vault opens.</summary>
public sealed record CredentialRecord(string Project, string Name, string Adaptor, string Envelope, DateTimeOffset UpdatedAt);

/// <summary>An API token as stored: the SHA-256 of the token (hex), never the token.</summary>
public sealed record ApiTokenRecord(string Id, string HashHex, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed partial class FerryStore
{
    public Task SaveCredentialAsync(string project, string name, string adaptor, string envelope, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO credentials (project, name, adaptor, envelope, updated_at) VALUES (@project, @name, @adaptor, @envelope, @now)
                ON CONFLICT (project, name) DO UPDATE SET adaptor = excluded.adaptor, envelope = excluded.envelope, updated_at = excluded.updated_at
                """, new { project, name, adaptor, envelope, now = _dialect.Time(Now) }, scope, ct));
            return 0;
        }, ct);

    public async Task<IReadOnlyList<CredentialRecord>> ListCredentialsAsync(string project, CancellationToken ct = default) =>
        await ReadAsync("SELECT project, name, adaptor, envelope, updated_at FROM credentials WHERE project = @project ORDER BY name",
            new { project }, r => new CredentialRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), _dialect.ReadTime(r, 4)), ct);

    public Task<bool> DeleteCredentialAsync(string project, string name, CancellationToken ct = default) =>
        WriteAsync(async scope => await scope.Connection.ExecuteAsync(Cmd(
            "DELETE FROM credentials WHERE project = @project AND name = @name", new { project, name }, scope, ct)) > 0, ct);

    public Task SaveApiTokenAsync(string id, string hashHex, string name, string role, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd(
                "INSERT INTO api_tokens (id, hash, name, role, created_at) VALUES (@id, @hashHex, @name, @role, @now)",
                new { id, hashHex, name, role, now = _dialect.Time(Now) }, scope, ct));
            return 0;
        }, ct);

    public async Task<ApiTokenRecord?> GetApiTokenAsync(string id, CancellationToken ct = default)
    {
        var rows = await ReadAsync("SELECT id, hash, name, role, created_at, revoked_at FROM api_tokens WHERE id = @id", new { id },
            r => new ApiTokenRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), _dialect.ReadTime(r, 4), ReadTimeOrNull(r, 5)), ct);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<int> CountApiTokensAsync(CancellationToken ct = default) =>
        (await ReadAsync("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL", null, r => Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), ct))[0];
}
