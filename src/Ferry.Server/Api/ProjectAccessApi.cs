using Ferry.Diagnostics;
using Ferry.Server.Auth;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>Members of a project and their roles. Admins manage members below owner; owners (and server admins) manage owners.</summary>
internal static class ProjectAccessApi
{
    public static RouteGroupBuilder MapProjectAccessApi(this RouteGroupBuilder api)
    {
        api.MapGet("/projects/{project}/members", async (string project, FerryStore store, CancellationToken ct) =>
            Results.Ok((await store.ListMembersAsync(project, ct)).Select(m => new { m.Username, m.Role, m.CreatedAt, m.UpdatedAt })))
            .RequireProjectRole(ProjectRole.Viewer);

        api.MapPut("/projects/{project}/members/{username}", async (string project, string username, HttpContext http, FerryStore store) =>
        {
            var (body, problem) = await AccessApi.ReadObjectAsync(http.Request, ["role"]);
            if (body is null) return problem!;
            if (!AccessApi.TryString(body, "role", required: true, out var roleName, out problem)) return problem!;
            if (!ProjectRoles.TryParse(roleName, out var role))
                return Problems.Of(400, "Unknown role", $"'{roleName}' is not a role. {Suggestions.DidYouMean(roleName!, ProjectRoles.Names)} Roles: {string.Join(", ", ProjectRoles.Names)}.".Replace("  ", " ", StringComparison.Ordinal), "role");
            if (await CheckAsync(http, store, project, username, role) is { } refused) return refused;
            var before = await store.SetMemberAsync(project, username, role.Name(),
                previous => Audit.Entry(http, "member.set", project, username, previous is null ? null : new { role = previous }, new { role = role.Name() }), http.RequestAborted);
            return Results.Ok(new { project, username, role = role.Name(), previousRole = before });
        }).RequireProjectRole(ProjectRole.Admin);

        api.MapDelete("/projects/{project}/members/{username}", async (string project, string username, HttpContext http, FerryStore store) =>
        {
            if (await CheckAsync(http, store, project, username, null) is { } refused) return refused;
            var before = await store.RemoveMemberAsync(project, username, previous => Audit.Entry(http, "member.remove", project, username, new { role = previous }, null), http.RequestAborted);
            if (before is null) return Problems.NotFound($"'{username}' is not a member of project '{project}'. GET /api/projects/{project}/members lists them.", "username");
            return Results.NoContent();
        }).RequireProjectRole(ProjectRole.Admin);
        return api;
    }

    /// <summary>The project and user exist; owners are managed only by owners; the last owner stays. <paramref name="role"/> null: removal.</summary>
    private static async Task<IResult?> CheckAsync(HttpContext http, FerryStore store, string project, string username, ProjectRole? role)
    {
        var ct = http.RequestAborted;
        if (await store.GetVersionAsync(project, null, ct) is null) return Problems.NotFound($"No project '{project}' is deployed here; deploy it first.", "project");
        if (await store.GetUserAsync(username, ct) is null) return Problems.NotFound($"No user '{username}'. A server admin creates users (POST /api/users).", "username");
        var members = await store.ListMembersAsync(project, ct);
        var current = members.FirstOrDefault(m => m.Username == username)?.Role;
        var caller = Caller.Of(http)!;
        var touchesOwner = role == ProjectRole.Owner || current == ProjectRole.Owner.Name();
        if (touchesOwner && !caller.Has(project, ProjectRole.Owner))
            return Problems.Of(403, "Forbidden", $"Making or changing an owner of project '{project}' needs the owner role; '{caller.Username}' has the {caller.RoleIn(project)?.Name() ?? "no"} role.", "role");
        if (current == ProjectRole.Owner.Name() && role != ProjectRole.Owner && members.Count(m => m.Role == ProjectRole.Owner.Name()) == 1)
            return Problems.Of(409, "Last owner", $"'{username}' is the only owner of project '{project}'; make another member owner first.", "username");
        return null;
    }
}
