using System.Globalization;
using System.Security.Cryptography;
using Ferry.Server.Auth;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>
/// Authentication and authorisation of every <c>/api</c> request, as middleware after routing so that no endpoint,
/// however it was mapped, escapes it. The bearer token (an API token or a login session; only its SHA-256 is stored)
/// names a user; the endpoint's <see cref="AccessRequirement"/> says what that user needs. No or bad token → 401 that
/// says why (unknown, expired at …, revoked at …, user disabled); authenticated but not allowed → 403 naming the role
/// needed; an endpoint that declares no requirement → 403 (fail closed). A run, work order or dataclip the caller
/// cannot see answers the same 404 as one that does not exist.
/// </summary>
internal sealed class ApiAuth(RequestDelegate next, FerryStore store)
{
    // The store comes through the constructor (a singleton), not InvokeAsync: a service parameter there makes every
    // request, /api or not, create a DI scope to resolve it.
    public async Task InvokeAsync(HttpContext http)
    {
        if (!http.Request.Path.StartsWithSegments("/api"))
        {
            await next(http);
            return;
        }
        var endpoint = http.GetEndpoint();
        var requirement = endpoint?.Metadata.GetMetadata<AccessRequirement>();
        if (requirement?.Level == AccessLevel.Anonymous)
        {
            await next(http);
            return;
        }
        var (caller, refusal) = await AuthenticateAsync(http, store);
        if (caller is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Of(StatusCodes.Status401Unauthorized, "Unauthorized", refusal!, "Authorization").ExecuteAsync(http);
            return;
        }
        caller.Attach(http);
        if (endpoint is not RouteEndpoint route)
        {
            await next(http); // no such endpoint (404) or wrong method (405)
            return;
        }
        var denied = requirement is null
            ? Problems.Of(StatusCodes.Status403Forbidden, "Forbidden",
                $"The endpoint {route.RoutePattern.RawText} declares no access requirement, so it is refused for everyone (fail closed). " +
                "Its author must add .RequireProjectRole(…), .RequireServerAdmin() or .RequireSignedIn() to it.", "endpoint")
            : await AuthorizeAsync(http, store, caller, requirement);
        if (denied is not null)
        {
            await denied.ExecuteAsync(http);
            return;
        }
        await next(http);
    }

    private static async Task<(Caller? Caller, string? Refusal)> AuthenticateAsync(HttpContext http, FerryStore store)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return (null, "Send 'Authorization: Bearer <token>' with an API token, or sign in with POST /api/auth/login.");
        var token = header[scheme.Length..].Trim();
        if (!ApiTokens.TryGetId(token, out var id)) return (null, "The token is not a Ferry token (they start with 'ferry_' and have 49 characters).");
        var record = await store.GetApiTokenAsync(id, http.RequestAborted);
        if (record is null || !ApiTokens.Verify(token, Convert.FromHexString(record.HashHex)))
            return (null, "The token is unknown. Sign in again (POST /api/auth/login) or ask for a new API token.");
        var now = store.Clock.GetUtcNow();
        if (record.RevokedAt is { } revoked)
            return (null, $"The token {record.Id} was revoked at {Time(revoked)}. Sign in again (POST /api/auth/login) or create a new API token (POST /api/tokens).");
        if (record.ExpiresAt is { } expires && expires <= now)
            return (null, $"The token {record.Id} expired at {Time(expires)}. Sign in again (POST /api/auth/login) or create a new API token (POST /api/tokens).");
        var username = record.Username ?? "admin";
        var user = await store.GetUserAsync(username, http.RequestAborted);
        if (user is null || user.Disabled)
            return (null, $"The token {record.Id} belongs to user '{username}', who is {(user is null ? "no longer on this server" : "disabled")}. Ask a server admin.");
        var roles = new Dictionary<string, ProjectRole>(StringComparer.Ordinal);
        foreach (var member in await store.ListMembershipsAsync(username, http.RequestAborted))
        {
            if (ProjectRoles.TryParse(member.Role, out var role)) roles[member.Project] = role;
        }
        return (new Caller(username, user.IsServerAdmin, record, roles), null);
    }

    private static async Task<IResult?> AuthorizeAsync(HttpContext http, FerryStore store, Caller caller, AccessRequirement requirement)
    {
        switch (requirement.Level)
        {
            case AccessLevel.SignedIn:
                return null;
            case AccessLevel.ServerAdmin:
                return caller.IsServerAdmin ? null : Forbidden($"This needs a server admin; '{caller.Username}' is not one. Ask a server admin (PATCH /api/users/{caller.Username} with serverAdmin: true).");
        }
        if (requirement.From is ProjectFrom.Route or ProjectFrom.Query)
        {
            var project = requirement.From == ProjectFrom.Route ? http.GetRouteValue("project") as string : (string?)http.Request.Query["project"];
            if (project is null) return requirement.From == ProjectFrom.Query ? null : Forbidden("This endpoint has no {project} to check access against.");
            return caller.Has(project, requirement.Role) ? null : Forbidden(NeedsRole(caller, project, requirement.Role));
        }
        if (!Guid.TryParse(http.GetRouteValue("id") as string, out var id)) return Problems.NotFound("The id is not a valid id.", "id");
        var (what, resourceProject) = requirement.From switch
        {
            ProjectFrom.WorkOrder => ($"No work order {id}.", (await store.GetWorkOrderAsync(id, http.RequestAborted))?.Project),
            ProjectFrom.Run => ($"No run {id}.", (await store.GetRunAsync(id, http.RequestAborted))?.Project),
            _ => ($"No dataclip {id} (unknown, or wiped by the retention policy).", await store.GetDataclipProjectAsync(id, http.RequestAborted)),
        };
        // Unknown, or in a project the caller has no role in: the same 404, so ids never reveal what exists.
        if (resourceProject is null || (!caller.IsServerAdmin && caller.RoleIn(resourceProject) is null)) return Problems.NotFound(what, "id");
        return caller.Has(resourceProject, requirement.Role) ? null : Forbidden(NeedsRole(caller, resourceProject, requirement.Role));
    }

    private static string NeedsRole(Caller caller, string project, ProjectRole role) =>
        $"This needs the {role.Name()} role in project '{project}'; '{caller.Username}' has " +
        (caller.RoleIn(project) is { } have ? $"the {have.Name()} role" : "no role there") +
        $". Ask an admin or owner of the project (PUT /api/projects/{project}/members/{caller.Username}), or a server admin.";

    private static IResult Forbidden(string detail) => Problems.Of(StatusCodes.Status403Forbidden, "Forbidden", detail, "Authorization");

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The first start (no user and no token yet): creates the server admin <c>admin</c> (no password: set one with
    /// PATCH /api/users/admin) and an API token for it, returned to be shown once. Null on every later start.
    /// </summary>
    public static async Task<string?> BootstrapAsync(FerryStore store, CancellationToken ct)
    {
        if (await store.CountApiTokensAsync(ct) > 0) return null;
        var created = ApiTokens.Create();
        try
        {
            var stored = await store.BootstrapAsync("admin",
                new NewToken(created.Id, Convert.ToHexString(created.Hash), "admin", "initial admin token", TokenKinds.Api, null), ct);
            return stored ? created.Token : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(created.Hash);
        }
    }
}
