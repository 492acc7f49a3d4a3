using System.Text.Json.Nodes;
using Ferry.Deploy;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Server.Auth;
using Ferry.Server.Projects;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>Projects, versions (deploy) and credentials.</summary>
internal static class ProjectsApi
{
    public static RouteGroupBuilder MapProjectsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/projects", async (HttpContext http, FerryStore store, CancellationToken ct) =>
        {
            var visible = Caller.Of(http)!.ProjectsWith(ProjectRole.Viewer);
            return Results.Ok((await store.ListProjectsAsync(ct)).Where(p => visible is null || visible.Contains(p.Name)));
        }).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.Query);

        api.MapGet("/projects/{project}/versions", async (string project, FerryStore store, CancellationToken ct) =>
            Results.Ok((await store.ListVersionsAsync(project, ct)).Select(v => new { v.Project, v.Version, v.SpecHash, v.Author, v.CreatedAt, v.IsCurrent }))).RequireProjectRole(ProjectRole.Viewer);

        api.MapGet("/projects/{project}/versions/current", (string project, FerryStore store, CancellationToken ct) => Version(project, null, store, ct)).RequireProjectRole(ProjectRole.Viewer);
        api.MapGet("/projects/{project}/versions/{version:int}", (string project, int version, FerryStore store, CancellationToken ct) => Version(project, version, store, ct)).RequireProjectRole(ProjectRole.Viewer);

        api.MapPost("/projects/{project}/versions", async (string project, HttpRequest request, DeployedProjects projects, FerryStore store, CancellationToken ct) =>
        {
            string body;
            using (var reader = new StreamReader(request.Body)) body = await reader.ReadToEndAsync(ct);
            try
            {
                var bundle = ProjectBundle.FromJson(body, "request body");
                var previous = await store.GetVersionAsync(project, null, ct);
                var (version, created) = await projects.DeployAsync(bundle, request.HttpContext.Items["ferry.user"] as string, project,
                    v => Audit.Entry(request.HttpContext, "version.deploy", project, $"v{v.Version}",
                        previous is null ? null : new { version = previous.Version, previous.SpecHash }, new { version = v.Version, v.SpecHash }), ct);
                // The deployer of a new project becomes its owner (only server admins may create projects).
                if (created && previous is null && Caller.Of(request.HttpContext) is { } caller && caller.RoleIn(project) is null)
                {
                    await store.SetMemberAsync(project, caller.Username, ProjectRole.Owner.Name(),
                        before => Audit.Entry(request.HttpContext, "member.set", project, caller.Username, before is null ? null : new { role = before }, new { role = ProjectRole.Owner.Name() }), ct);
                }
                var result = new { version.Project, version.Version, version.SpecHash, version.CreatedAt, created };
                return created ? Results.Created($"/api/projects/{project}/versions/{version.Version}", result) : Results.Ok(result);
            }
            catch (FerryInputException e)
            {
                return Problems.Invalid(e, "body");
            }
        }).RequireProjectRole(ProjectRole.Editor);

        api.MapGet("/projects/{project}/credentials", async (string project, FerryStore store, CancellationToken ct) =>
            Results.Ok((await store.ListCredentialsAsync(project, ct)).Select(c => new { c.Name, c.Adaptor, c.UpdatedAt }))).RequireProjectRole(ProjectRole.Viewer);

        api.MapDelete("/projects/{project}/credentials/{name}", async (string project, string name, HttpContext http, FerryStore store, ProjectCredentials credentials, CancellationToken ct) =>
        {
            var before = await CredentialAudit.DescribeAsync(credentials, store, project, name, ct);
            if (!await credentials.DeleteAsync(project, name, Audit.Entry(http, "credential.delete", project, name, before, null), ct))
                return Problems.NotFound($"Project '{project}' has no credential '{name}' set. GET /api/projects/{project}/credentials lists them.", "name");
            return Results.NoContent();
        }).RequireProjectRole(ProjectRole.Admin);

        api.MapPut("/projects/{project}/credentials/{name}", async (string project, string name, HttpRequest request, FerryStore store, DeployedProjects projects, ProjectCredentials credentials, CancellationToken ct) =>
        {
            var current = await store.GetVersionAsync(project, null, ct);
            if (current is null) return Problems.NotFound($"No project '{project}' is deployed here; deploy it first.", "project");
            var spec = (await projects.GetAsync(project, current.Version, ct)).Project.FindCredential(name);
            if (spec is null) return Problems.NotFound($"Project '{project}' declares no credential '{name}' in ferry.yaml.", "name");
            string body;
            using (var reader = new StreamReader(request.Body)) body = await reader.ReadToEndAsync(ct);
            try
            {
                if (Js.Parse(body, "request body") is not JsObject values)
                    return Problems.Of(400, "Invalid credential", "The body must be a JSON object of the credential's fields.", "body");
                var before = await CredentialAudit.DescribeAsync(credentials, store, project, name, ct);
                await credentials.SaveAsync(project, name, spec.Adaptor, values,
                    Audit.Entry(request.HttpContext, "credential.set", project, name, before, new { adaptor = spec.Adaptor, fields = values.Keys.Order(StringComparer.Ordinal).ToArray() }), ct);
                return Results.NoContent();
            }
            catch (FerryInputException e)
            {
                return Problems.Invalid(e, "body");
            }
        }).RequireProjectRole(ProjectRole.Admin);
        return api;
    }

    private static async Task<IResult> Version(string project, int? version, FerryStore store, CancellationToken ct)
    {
        var record = await store.GetVersionAsync(project, version, ct);
        if (record is null) return Problems.NotFound(version is null ? $"No project '{project}' is deployed here." : $"Project '{project}' has no version {version}.", version is null ? "project" : "version");
        var bundle = JsonNode.Parse(record.BundleJson);
        return Results.Ok(new { record.Project, record.Version, record.SpecHash, record.Author, record.CreatedAt, record.IsCurrent, bundle });
    }
}
