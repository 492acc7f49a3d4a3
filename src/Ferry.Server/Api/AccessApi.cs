using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ferry.Diagnostics;
using Ferry.Server.Auth;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>Sign-in, the caller (<c>/me</c>), their API tokens, and users (server admins).</summary>
internal static partial class AccessApi
{
    /// <summary>How long a console session made by a password login lasts.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    public const int MinPasswordLength = 12;
    private const int MaxPasswordLength = 1024;

    // Verified when the username is unknown, so a wrong username costs as long as a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => PasswordHasher.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    public static RouteGroupBuilder MapAccessApi(this RouteGroupBuilder api)
    {
        api.MapPost("/auth/login", LoginAsync).AllowAnonymousAccess();

        api.MapPost("/auth/logout", async (HttpContext http, FerryStore store) =>
        {
            var caller = Caller.Of(http)!;
            await store.RevokeTokenAsync(caller.Token.Id, Audit.Entry(http, "logout", null, caller.Username, null, new { tokenId = caller.Token.Id, kind = caller.Token.Kind }), http.RequestAborted);
            return Results.NoContent();
        }).RequireSignedIn();

        api.MapGet("/me", (HttpContext http) =>
        {
            var caller = Caller.Of(http)!;
            return Results.Ok(new
            {
                username = caller.Username,
                serverAdmin = caller.IsServerAdmin,
                projects = caller.Roles.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => new { project = r.Key, role = r.Value.Name() }),
                token = TokenView(caller.Token),
            });
        }).RequireSignedIn();

        api.MapGet("/tokens", async (HttpContext http, FerryStore store) =>
            Results.Ok((await store.ListTokensAsync(Caller.Of(http)!.Username, store.Clock.GetUtcNow(), http.RequestAborted)).Select(TokenView))).RequireSignedIn();

        api.MapPost("/tokens", CreateTokenAsync).RequireSignedIn();

        api.MapDelete("/tokens/{id}", async (string id, HttpContext http, FerryStore store) =>
        {
            var caller = Caller.Of(http)!;
            var token = await store.GetApiTokenAsync(id, http.RequestAborted);
            if (token is null || (token.Username != caller.Username && !caller.IsServerAdmin))
                return Problems.NotFound($"You have no token with id '{id}'. GET /api/tokens lists yours.", "id");
            if (await store.RevokeTokenAsync(id, Audit.Entry(http, "token.revoke", null, id, TokenView(token), null), http.RequestAborted) is null)
                return Problems.Of(409, "Already revoked", $"Token {id} was revoked at {token.RevokedAt:O}; there is nothing to do.", "id");
            return Results.NoContent();
        }).RequireSignedIn();

        api.MapGet("/users", async (FerryStore store, CancellationToken ct) => Results.Ok((await store.ListUsersAsync(ct)).Select(UserView))).RequireServerAdmin();
        api.MapPost("/users", CreateUserAsync).RequireServerAdmin();
        api.MapGet("/users/{username}", async (string username, FerryStore store, LoginThrottle throttle, CancellationToken ct) =>
            await store.GetUserAsync(username, ct) is { } user
                ? Results.Ok(new
                {
                    user = UserView(user),
                    projects = (await store.ListMembershipsAsync(username, ct)).Select(m => new { m.Project, m.Role }),
                    signInPausedSeconds = Seconds(throttle.PausedFor(username)),
                })
                : Problems.NotFound($"No user '{username}'. GET /api/users lists them.", "username")).RequireServerAdmin();
        api.MapPatch("/users/{username}", UpdateUserAsync).RequireServerAdmin();
        api.MapDelete("/users/{username}/sign-in-pause", LiftSignInPauseAsync).RequireServerAdmin();
        return api;
    }

    private static async Task<IResult> LoginAsync(HttpContext http, FerryStore store, Audit audit, LoginThrottle throttle)
    {
        var (body, problem) = await ReadObjectAsync(http.Request, ["username", "password"]);
        if (body is null) return problem!;
        if (!TryString(body, "username", required: true, out var username, out problem) || !TryString(body, "password", required: true, out var password, out problem)) return problem!;
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.RetryAfter(username!, address) is { } wait)
        {
            var seconds = Seconds(wait)!.Value;
            await audit.RecordAsync(http, "login.throttled", null, Truncate(username!), null, new { address, retryAfterSeconds = seconds });
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Of(StatusCodes.Status429TooManyRequests, "Too many failed sign-ins",
                $"Sign-in for this user is paused for {seconds} s after too many failures ({LoginThrottle.FreeFailures} from this address, or {LoginThrottle.FreeFailuresPerUser} from any addresses, within {LoginThrottle.Window.TotalMinutes:0} minutes). " +
                "Wait, then try again; a server admin can lift the pause (DELETE /api/users/{username}/sign-in-pause) or set a new password (PATCH /api/users/{username}), which lifts it too.", "username");
        }
        var user = await store.GetUserAsync(username!, http.RequestAborted);
        var hash = user?.PasswordHash;
        var matches = PasswordHasher.Verify(password!, hash ?? DummyHash.Value) && hash is not null;
        if (user is null || !matches || user.Disabled)
        {
            var reason = user is null ? "unknown user" : !matches ? "wrong password" : "user disabled";
            throttle.Failed(username!, address);
            await audit.RecordAsync(http, "login.failed", null, Truncate(username!), null, new { reason });
            // One answer for every failure: it must not tell which usernames exist.
            return Problems.Of(StatusCodes.Status401Unauthorized, "Sign-in failed",
                "The username or password is wrong, or the user is disabled. Check both; a server admin can reset the password (PATCH /api/users/{username}).", "password");
        }
        throttle.Succeeded(username!, address);
        if (PasswordHasher.NeedsRehash(hash!)) await store.UpdateUserAsync(user.Username, new UserChange(PasswordHash: PasswordHasher.Hash(password!)), ct: http.RequestAborted);
        var expires = store.Clock.GetUtcNow() + SessionLifetime;
        var (token, record) = await IssueAsync(store, user.Username, "console session", TokenKinds.Session, expires,
            issued => Audit.Entry(user.Username, "login", null, user.Username, null, new { tokenId = issued.Id, expiresAt = expires }), http.RequestAborted);
        return Results.Ok(new { token, tokenId = record.Id, username = user.Username, expiresAt = expires });
    }

    private static async Task<IResult> CreateTokenAsync(HttpContext http, FerryStore store)
    {
        var (body, problem) = await ReadObjectAsync(http.Request, ["name", "expiresInDays"]);
        if (body is null) return problem!;
        if (!TryString(body, "name", required: true, out var name, out problem)) return problem!;
        if (name!.Length > 100) return Problems.Of(400, "Invalid token", "'name' must be at most 100 characters.", "name");
        DateTimeOffset? expires = null;
        if (body["expiresInDays"] is { } days)
        {
            if (days.GetValueKind() != JsonValueKind.Number || !days.AsValue().TryGetValue<int>(out var d) || d is < 1 or > 3650)
                return Problems.Of(400, "Invalid token", "'expiresInDays' must be a whole number of days from 1 to 3650 (leave it out for a token that does not expire).", "expiresInDays");
            expires = store.Clock.GetUtcNow().AddDays(d);
        }
        var caller = Caller.Of(http)!;
        var (token, record) = await IssueAsync(store, caller.Username, name, TokenKinds.Api, expires,
            issued => Audit.Entry(http, "token.create", null, issued.Id, null, TokenView(issued)), http.RequestAborted);
        return Results.Created($"/api/tokens/{record.Id}", new
        {
            id = record.Id,
            name,
            token,
            expiresAt = expires,
            note = "This is the only time the token is shown: the server keeps only its hash. Store it now.",
        });
    }

    private static async Task<IResult> CreateUserAsync(HttpContext http, FerryStore store)
    {
        var (body, problem) = await ReadObjectAsync(http.Request, ["username", "password", "serverAdmin"]);
        if (body is null) return problem!;
        if (!TryString(body, "username", required: true, out var username, out problem) || !TryString(body, "password", required: false, out var password, out problem)) return problem!;
        if (!UsernamePattern().IsMatch(username!))
            return Problems.Of(400, "Invalid user", "'username' must be 1–64 characters: lower-case letters, digits and . _ - @, starting with a letter or digit.", "username");
        if (password is not null && PasswordProblem(password) is { } bad) return bad;
        if (!TryBool(body, "serverAdmin", out var admin, out problem)) return problem!;
        var user = await store.CreateUserAsync(username!, password is null ? null : PasswordHasher.Hash(password), admin ?? false,
            created => Audit.Entry(http, "user.create", null, created.Username, null, AuditView(created)), http.RequestAborted);
        if (user is null) return Problems.Of(409, "User exists", $"There is already a user '{username}'. Change it with PATCH /api/users/{username}.", "username");
        return Results.Created($"/api/users/{user.Username}", UserView(user));
    }

    private static async Task<IResult> LiftSignInPauseAsync(string username, HttpContext http, FerryStore store, Audit audit, LoginThrottle throttle)
    {
        if (await store.GetUserAsync(username, http.RequestAborted) is null)
            return Problems.NotFound($"No user '{username}'. GET /api/users lists them.", "username");
        var paused = Seconds(throttle.Lift(username));
        await audit.RecordAsync(http, "user.sign-in-pause.lift", null, username, new { signInPausedSeconds = paused }, new { signInPausedSeconds = (int?)null });
        return Results.NoContent();
    }

    private static int? Seconds(TimeSpan? wait) => wait is { } w ? (int)Math.Ceiling(w.TotalSeconds) : null;

    private static async Task<IResult> UpdateUserAsync(string username, HttpContext http, FerryStore store, LoginThrottle throttle)
    {
        var (body, problem) = await ReadObjectAsync(http.Request, ["password", "serverAdmin", "disabled"]);
        if (body is null) return problem!;
        if (!TryString(body, "password", required: false, out var password, out problem) || !TryBool(body, "serverAdmin", out var admin, out problem)
            || !TryBool(body, "disabled", out var disabled, out problem)) return problem!;
        if (password is not null && PasswordProblem(password) is { } bad) return bad;
        var before = await store.GetUserAsync(username, http.RequestAborted);
        if (before is null) return Problems.NotFound($"No user '{username}'. GET /api/users lists them; POST /api/users creates one.", "username");
        var losesAdmin = before.IsServerAdmin && !before.Disabled && (admin == false || disabled == true);
        if (losesAdmin && (await store.ListUsersAsync(http.RequestAborted)).Count(u => u.IsServerAdmin && !u.Disabled) == 1)
            return Problems.Of(409, "Last server admin", $"'{username}' is the only enabled server admin; make another user a server admin first.", admin == false ? "serverAdmin" : "disabled");
        var after = await store.UpdateUserAsync(username, new UserChange(password is null ? null : PasswordHasher.Hash(password), admin, disabled),
            changed => Audit.Entry(http, "user.update", null, username, AuditView(before), AuditView(changed) with { PasswordChanged = password is not null }), http.RequestAborted);
        if (after is null) return Problems.NotFound($"No user '{username}'.", "username");
        // A new password set by an admin is how a locked-out owner gets back in: the pauses earned by the old one go.
        if (password is not null) throttle.Lift(username);
        return Results.Ok(UserView(after));
    }

    private static async Task<(string Token, ApiTokenRecord Record)> IssueAsync(FerryStore store, string username, string name, string kind, DateTimeOffset? expires,
        Func<ApiTokenRecord, AuditEntry> audit, CancellationToken ct)
    {
        var created = ApiTokens.Create();
        try
        {
            var record = await store.SaveTokenAsync(new NewToken(created.Id, Convert.ToHexString(created.Hash), username, name, kind, expires), audit, ct);
            return (created.Token, record);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(created.Hash);
        }
    }

    private static object TokenView(ApiTokenRecord t) => new { id = t.Id, name = t.Name, kind = t.Kind, createdAt = t.CreatedAt, expiresAt = t.ExpiresAt, revokedAt = t.RevokedAt };

    private static object UserView(UserRecord u) => new
    {
        username = u.Username,
        serverAdmin = u.IsServerAdmin,
        disabled = u.Disabled,
        hasPassword = u.PasswordHash is not null,
        createdAt = u.CreatedAt,
        updatedAt = u.UpdatedAt,
    };

    private sealed record UserAudit(bool ServerAdmin, bool Disabled, bool HasPassword, bool PasswordChanged = false);

    private static UserAudit AuditView(UserRecord u) => new(u.IsServerAdmin, u.Disabled, u.PasswordHash is not null);

    private static IResult? PasswordProblem(string password) =>
        password.Length is < MinPasswordLength or > MaxPasswordLength
            ? Problems.Of(400, "Weak password", $"'password' must be {MinPasswordLength} to {MaxPasswordLength} characters; a passphrase of a few words is easiest.", "password")
            : null;

    private static string Truncate(string text) => text.Length <= 100 ? text : text[..100] + "…";

    /// <summary>Reads a JSON object body; a problem naming the field for malformed JSON, a non-object or an unknown member (with "did you mean").</summary>
    internal static async Task<(JsonObject? Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, IReadOnlyList<string> allowed)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            return (null, Problems.Of(400, "Malformed JSON", $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", "body"));
        }
        if (node is not JsonObject body)
            return (null, Problems.Of(400, "Invalid body", $"The body must be a JSON object with {string.Join(", ", allowed.Select(a => $"'{a}'"))}.", "body"));
        foreach (var (key, _) in body)
        {
            if (!allowed.Contains(key))
                return (null, Problems.Of(400, "Unknown field", $"'{key}' is not a field here. {Suggestions.DidYouMean(key, allowed)} Fields: {string.Join(", ", allowed)}.".Replace("  ", " ", StringComparison.Ordinal), key));
        }
        return (body, null);
    }

    internal static bool TryString(JsonObject body, string name, bool required, out string? value, out IResult? problem)
    {
        value = null;
        problem = null;
        var node = body[name];
        if (node is null)
        {
            if (required) problem = Problems.Of(400, "Missing field", $"'{name}' is required.", name);
            return !required;
        }
        if (node.GetValueKind() != JsonValueKind.String || node.GetValue<string>().Length == 0)
        {
            problem = Problems.Of(400, "Invalid field", $"'{name}' must be a non-empty string.", name);
            return false;
        }
        value = node.GetValue<string>();
        return true;
    }

    private static bool TryBool(JsonObject body, string name, out bool? value, out IResult? problem)
    {
        value = null;
        problem = null;
        var node = body[name];
        if (node is null) return true;
        if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            problem = Problems.Of(400, "Invalid field", $"'{name}' must be true or false.", name);
            return false;
        }
        value = node.GetValue<bool>();
        return true;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._@-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex UsernamePattern();

    internal static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
