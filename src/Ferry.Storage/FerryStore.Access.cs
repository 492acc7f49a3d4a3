using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

/// <summary>Credentials, users, project members, tokens and the audit log.</summary>
public sealed partial class FerryStore
{
    private const string TokenColumns = "id, hash, name, role, created_at, revoked_at, username, kind, expires_at";
    private const string UserColumns = "username, password_hash, is_admin, disabled, created_at, updated_at";
    private const string MemberColumns = "project, username, role, created_at, updated_at";

    /// <summary>The store's clock (token expiry is judged by it, so tests can move time).</summary>
    public TimeProvider Clock => _clock;

    /// <summary>Stores a credential's encrypted values (and <paramref name="audit"/>, in the same transaction).</summary>
    public Task SaveCredentialAsync(string project, string name, string adaptor, string envelope, AuditEntry? audit = null, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO credentials (project, name, adaptor, envelope, updated_at) VALUES (@project, @name, @adaptor, @envelope, @now)
                ON CONFLICT (project, name) DO UPDATE SET adaptor = excluded.adaptor, envelope = excluded.envelope, updated_at = excluded.updated_at
                """, new { project, name, adaptor, envelope, now = _dialect.Time(Now) }, scope, ct));
            await InsertAuditAsync(scope, audit, ct);
            return 0;
        }, ct);

    public async Task<IReadOnlyList<CredentialRecord>> ListCredentialsAsync(string project, CancellationToken ct = default) =>
        await ReadAsync("SELECT project, name, adaptor, envelope, updated_at FROM credentials WHERE project = @project ORDER BY name",
            new { project }, r => new CredentialRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), _dialect.ReadTime(r, 4)), ct);

    /// <summary>Deletes a credential; false when there was none. <paramref name="audit"/> is written with the deletion.</summary>
    public Task<bool> DeleteCredentialAsync(string project, string name, AuditEntry? audit = null, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            if (await scope.Connection.ExecuteAsync(Cmd("DELETE FROM credentials WHERE project = @project AND name = @name", new { project, name }, scope, ct)) == 0) return false;
            await InsertAuditAsync(scope, audit, ct);
            return true;
        }, ct);

    /// <summary>Stores a token of the first start's kind (an API token without user or expiry). Prefer <see cref="SaveTokenAsync"/>.</summary>
    public Task SaveApiTokenAsync(string id, string hashHex, string name, string role, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd(
                "INSERT INTO api_tokens (id, hash, name, role, created_at) VALUES (@id, @hashHex, @name, @role, @now)",
                new { id, hashHex, name, role, now = _dialect.Time(Now) }, scope, ct));
            return 0;
        }, ct);

    /// <summary>Stores a token of a user (its hash only), with the <paramref name="audit"/> entry made of it.</summary>
    public Task<ApiTokenRecord> SaveTokenAsync(NewToken token, Func<ApiTokenRecord, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token.Username);
        var now = Now;
        return WriteAsync(async scope =>
        {
            await InsertTokenAsync(scope, token, now, ct);
            var record = new ApiTokenRecord(token.Id, token.HashHex, token.Name, "user", now, null) { Username = token.Username, Kind = token.Kind, ExpiresAt = token.ExpiresAt };
            await InsertAuditAsync(scope, audit?.Invoke(record), ct);
            return record;
        }, ct);
    }

    public async Task<ApiTokenRecord?> GetApiTokenAsync(string id, CancellationToken ct = default)
    {
        var rows = await ReadAsync($"SELECT {TokenColumns} FROM api_tokens WHERE id = @id", new { id }, MapToken, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>A user's tokens that still work at <paramref name="at"/> (not revoked, not expired), newest first.</summary>
    public Task<IReadOnlyList<ApiTokenRecord>> ListTokensAsync(string username, DateTimeOffset at, CancellationToken ct = default) =>
        ReadAsync($"""
            SELECT {TokenColumns} FROM api_tokens
            WHERE username = @username AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @at)
            ORDER BY created_at DESC, id
            """, new { username, at = _dialect.Time(at) }, MapToken, ct);

    /// <summary>Revokes a token; the time it was revoked, or null when it is unknown or was already revoked.
    /// <paramref name="audit"/> is written only with a revocation.</summary>
    public Task<DateTimeOffset?> RevokeTokenAsync(string id, AuditEntry? audit = null, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync<DateTimeOffset?>(async scope =>
        {
            if (await scope.Connection.ExecuteAsync(Cmd("UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL",
                new { id, now = _dialect.Time(now) }, scope, ct)) == 0) return null;
            await InsertAuditAsync(scope, audit, ct);
            return now;
        }, ct);
    }

    public async Task<int> CountApiTokensAsync(CancellationToken ct = default) =>
        (await ReadAsync("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL", null, r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ct))[0];

    /// <summary>
    /// The first start: creates server admin <paramref name="username"/> and its token in one transaction, only when
    /// the database has no user and no token yet. False (nothing written) otherwise, also when another process won the race.
    /// </summary>
    public Task<bool> BootstrapAsync(string username, NewToken token, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(async scope =>
        {
            var existing = await scope.Connection.ExecuteScalarAsync<long>(Cmd(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM api_tokens)", null, scope, ct));
            if (existing > 0) return false;
            var inserted = await scope.Connection.ExecuteAsync(Cmd($"""
                INSERT INTO users ({UserColumns}) VALUES (@username, NULL, 1, 0, @now, @now) ON CONFLICT (username) DO NOTHING
                """, new { username, now = _dialect.Time(now) }, scope, ct));
            if (inserted == 0) return false;
            await InsertTokenAsync(scope, token with { Username = username }, now, ct);
            return true;
        }, ct);
    }

    /// <summary>Creates a user, with the <paramref name="audit"/> entry made of it; null (nothing written) when the username is taken.</summary>
    public Task<UserRecord?> CreateUserAsync(string username, string? passwordHash, bool isServerAdmin, Func<UserRecord, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        var now = Now;
        return WriteAsync<UserRecord?>(async scope =>
        {
            if (await scope.Connection.ExecuteAsync(Cmd($"""
                INSERT INTO users ({UserColumns}) VALUES (@username, @passwordHash, @admin, 0, @now, @now) ON CONFLICT (username) DO NOTHING
                """, new { username, passwordHash, admin = isServerAdmin ? 1 : 0, now = _dialect.Time(now) }, scope, ct)) == 0) return null;
            var user = new UserRecord(username, passwordHash, isServerAdmin, false, now, now);
            await InsertAuditAsync(scope, audit?.Invoke(user), ct);
            return user;
        }, ct);
    }

    public async Task<UserRecord?> GetUserAsync(string username, CancellationToken ct = default)
    {
        var rows = await ReadAsync($"SELECT {UserColumns} FROM users WHERE username = @username", new { username }, MapUser, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(CancellationToken ct = default) =>
        ReadAsync($"SELECT {UserColumns} FROM users ORDER BY username", null, MapUser, ct);

    /// <summary>Changes a user; the user as it is now, or null when unknown. <paramref name="audit"/> makes the audit
    /// entry from the user as it is now, written in the same transaction.</summary>
    public Task<UserRecord?> UpdateUserAsync(string username, UserChange change, Func<UserRecord, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd("""
                UPDATE users SET password_hash = COALESCE(@hash, password_hash), is_admin = COALESCE(@admin, is_admin),
                                 disabled = COALESCE(@disabled, disabled), updated_at = @now
                WHERE username = @username
                """, new
            {
                username,
                hash = change.PasswordHash,
                admin = change.IsServerAdmin is { } a ? a ? 1 : 0 : (int?)null,
                disabled = change.Disabled is { } d ? d ? 1 : 0 : (int?)null,
                now = _dialect.Time(now),
            }, scope, ct));
            var rows = await QueryAsync(scope.Connection, scope, $"SELECT {UserColumns} FROM users WHERE username = @username", new { username }, MapUser, ct);
            if (rows.Count == 0) return null;
            await InsertAuditAsync(scope, audit?.Invoke(rows[0]), ct);
            return rows[0];
        }, ct);
    }

    /// <summary>Gives <paramref name="username"/> <paramref name="role"/> in <paramref name="project"/>; the role it had before (null: none).
    /// <paramref name="audit"/> makes the audit entry from that role, written in the same transaction.</summary>
    public Task<string?> SetMemberAsync(string project, string username, string role, Func<string?, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        var now = _dialect.Time(Now);
        return WriteAsync(async scope =>
        {
            var before = await scope.Connection.ExecuteScalarAsync<string?>(Cmd(
                "SELECT role FROM project_members WHERE project = @project AND username = @username", new { project, username }, scope, ct));
            await scope.Connection.ExecuteAsync(Cmd($"""
                INSERT INTO project_members ({MemberColumns}) VALUES (@project, @username, @role, @now, @now)
                ON CONFLICT (project, username) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at
                """, new { project, username, role, now }, scope, ct));
            await InsertAuditAsync(scope, audit?.Invoke(before), ct);
            return before;
        }, ct);
    }

    /// <summary>Removes a member; the role it had, or null when it was not a member. <paramref name="audit"/> makes the
    /// audit entry from that role, written with the removal.</summary>
    public Task<string?> RemoveMemberAsync(string project, string username, Func<string, AuditEntry>? audit = null, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            var before = await scope.Connection.ExecuteScalarAsync<string?>(Cmd(
                "SELECT role FROM project_members WHERE project = @project AND username = @username", new { project, username }, scope, ct));
            if (before is not null)
            {
                await scope.Connection.ExecuteAsync(Cmd(
                    "DELETE FROM project_members WHERE project = @project AND username = @username", new { project, username }, scope, ct));
                await InsertAuditAsync(scope, audit?.Invoke(before), ct);
            }
            return before;
        }, ct);

    /// <summary>The members of a project, by username.</summary>
    public Task<IReadOnlyList<MemberRecord>> ListMembersAsync(string project, CancellationToken ct = default) =>
        ReadAsync($"SELECT {MemberColumns} FROM project_members WHERE project = @project ORDER BY username", new { project }, MapMember, ct);

    /// <summary>The projects a user is a member of, with the role, by project.</summary>
    public Task<IReadOnlyList<MemberRecord>> ListMembershipsAsync(string username, CancellationToken ct = default) =>
        ReadAsync($"SELECT {MemberColumns} FROM project_members WHERE username = @username ORDER BY project", new { username }, MapMember, ct);

    /// <summary>The project a dataclip belongs to (null when unknown), so access to it can be checked.</summary>
    public async Task<string?> GetDataclipProjectAsync(Guid id, CancellationToken ct = default)
    {
        var rows = await ReadAsync("SELECT project FROM dataclips WHERE id = @id", new { id = _dialect.Id(id) }, r => r.GetString(0), ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Appends one row to the audit log on its own, for an event that changes nothing else (a failed sign-in);
    /// a change passes its entry to the method that makes it, which writes both in one transaction. Returns its sequence number.</summary>
    public Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Action);
        return WriteAsync(async scope => (await InsertAuditAsync(scope, entry, ct))!.Value, ct);
    }

    /// <summary>Writes <paramref name="entry"/> (when not null) into the audit log inside the caller's transaction, so a
    /// change and its audit row are committed together or not at all. Returns the row's sequence number.</summary>
    private async Task<long?> InsertAuditAsync(WriteScope scope, AuditEntry? entry, CancellationToken ct)
    {
        if (entry is null) return null;
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Action);
        return await scope.Connection.ExecuteScalarAsync<long>(Cmd("""
            INSERT INTO audit_log (time, actor, action, project, target, before_json, after_json)
            VALUES (@now, @Actor, @Action, @Project, @Target, @BeforeJson, @AfterJson) RETURNING seq
            """, new { now = _dialect.Time(Now), entry.Actor, entry.Action, entry.Project, entry.Target, entry.BeforeJson, entry.AfterJson }, scope, ct));
    }

    /// <summary>Audit rows matching the filters, newest first (keyset paging like <see cref="ListWorkOrdersAsync"/>).</summary>
    /// <exception cref="ArgumentException">A filter value is out of range; the message names the field.</exception>
    public async Task<Page<AuditRecord>> ListAuditAsync(AuditQuery query, CancellationToken ct = default)
    {
        if (query.Limit is < 1 or > AuditQuery.MaxLimit)
        {
            throw new ArgumentException($"limit must be between 1 and {AuditQuery.MaxLimit}, got {query.Limit}.", nameof(query));
        }
        var after = PageAfter(query.After, nameof(query));
        var where = new StringBuilder("1 = 1");
        if (query.Project is not null) where.Append(" AND project = @project");
        if (query.Projects is not null) where.Append(" AND ").Append(_dialect.InList("project", "@projects"));
        if (query.Since is not null) where.Append(" AND time >= @since");
        if (after is not null) where.Append(" AND seq < @after");
        var rows = await ReadAsync(
            $"SELECT seq, time, actor, action, project, target, before_json, after_json FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT @take",
            new
            {
                project = query.Project,
                projects = query.Projects is null ? null : _dialect.List(query.Projects),
                since = _dialect.Time(query.Since),
                after,
                take = query.Limit + 1,
            },
            r => new AuditRecord(r.GetInt64(0), _dialect.ReadTime(r, 1), r.GetString(2), r.GetString(3), StringOrNull(r, 4), r.GetString(5), StringOrNull(r, 6), StringOrNull(r, 7)), ct);
        var items = rows.Take(query.Limit).ToList();
        return new Page<AuditRecord>(items, rows.Count > query.Limit ? items[^1].Seq.ToString(CultureInfo.InvariantCulture) : null);
    }

    private Task<int> InsertTokenAsync(WriteScope scope, NewToken token, DateTimeOffset now, CancellationToken ct) =>
        scope.Connection.ExecuteAsync(Cmd("""
            INSERT INTO api_tokens (id, hash, name, role, created_at, username, kind, expires_at)
            VALUES (@Id, @HashHex, @Name, 'user', @now, @Username, @Kind, @expires)
            """, new { token.Id, token.HashHex, token.Name, token.Username, token.Kind, now = _dialect.Time(now), expires = _dialect.Time(token.ExpiresAt) }, scope, ct));

    private ApiTokenRecord MapToken(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), _dialect.ReadTime(r, 4), ReadTimeOrNull(r, 5))
        {
            Username = StringOrNull(r, 6),
            Kind = r.GetString(7),
            ExpiresAt = ReadTimeOrNull(r, 8),
        };

    private UserRecord MapUser(DbDataReader r) =>
        new(r.GetString(0), StringOrNull(r, 1), r.GetInt32(2) != 0, r.GetInt32(3) != 0, _dialect.ReadTime(r, 4), _dialect.ReadTime(r, 5));

    private MemberRecord MapMember(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), _dialect.ReadTime(r, 3), _dialect.ReadTime(r, 4));
}
