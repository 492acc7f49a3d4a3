namespace Ferry.Storage;

/// <summary>A stored credential: its values are an encrypted envelope the server's vault opens.</summary>
public sealed record CredentialRecord(string Project, string Name, string Adaptor, string Envelope, DateTimeOffset UpdatedAt);

/// <summary>
/// A token as stored: the SHA-256 of the token (hex), never the token. <see cref="Username"/> is whose rights it
/// carries; <see cref="Kind"/> is <see cref="TokenKinds.Api"/> or <see cref="TokenKinds.Session"/> (a console login).
/// <see cref="Role"/> is kept from schema 3 and is <c>user</c> for tokens made since: a token acts with its user's roles.
/// </summary>
public sealed record ApiTokenRecord(string Id, string HashHex, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public string? Username { get; init; }

    public string Kind { get; init; } = TokenKinds.Api;

    /// <summary>Null: never expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

public static class TokenKinds
{
    /// <summary>Created with <c>POST /api/tokens</c> (or the first start); shown once.</summary>
    public const string Api = "api";

    /// <summary>Created by a password login; ends at logout or after 12 hours.</summary>
    public const string Session = "session";
}

/// <summary>A token to store: only its id (a lookup key that is safe to show) and hash.</summary>
public sealed record NewToken(string Id, string HashHex, string Username, string Name, string Kind, DateTimeOffset? ExpiresAt);

/// <summary>A person or tool. <see cref="PasswordHash"/> null: no password login (tokens only).</summary>
public sealed record UserRecord(string Username, string? PasswordHash, bool IsServerAdmin, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>What to change on a user; null members stay as they are.</summary>
public sealed record UserChange(string? PasswordHash = null, bool? IsServerAdmin = null, bool? Disabled = null);

/// <summary>A user's role in a project: <c>viewer</c>, <c>editor</c>, <c>admin</c> or <c>owner</c>.</summary>
public sealed record MemberRecord(string Project, string Username, string Role, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One change to record. Before/after are JSON without secret values (names of credential fields only).</summary>
public sealed record AuditEntry(string Actor, string Action, string? Project, string Target, string? BeforeJson = null, string? AfterJson = null);

public sealed record AuditRecord(long Seq, DateTimeOffset Time, string Actor, string Action, string? Project, string Target, string? BeforeJson, string? AfterJson);

/// <summary>
/// Filters for <see cref="FerryStore.ListAuditAsync"/>, newest first. <paramref name="Projects"/> (when not null)
/// limits rows to those projects (a project admin's view; rows without a project are then left out).
/// <paramref name="After"/> is the <see cref="Page{T}.Next"/> token of the previous page.
/// </summary>
public sealed record AuditQuery(
    string? Project = null,
    IReadOnlyCollection<string>? Projects = null,
    DateTimeOffset? Since = null,
    int Limit = 50,
    string? After = null)
{
    public const int MaxLimit = 500;
}
