using Ferry.Server.Auth;
using Ferry.Server.Projects;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>A project's summary and its workflows, as its current version declares them, with the URLs its webhooks listen on.</summary>
internal static class WorkflowsApi
{
    public static RouteGroupBuilder MapWorkflowsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/projects/{project}", async (string project, HttpRequest request, FerryStore store, DeployedProjects projects, CancellationToken ct) =>
            {
                var current = await projects.GetCurrentAsync(project, ct);
                if (current is null) return NoProject(project);
                var record = (await store.ListProjectsAsync(ct)).FirstOrDefault(p => p.Name == project);
                if (await SpecAsync(projects, project, current.Version, ct) is not { } spec) return NoLoad(project, current.Version);
                var credentials = await store.ListCredentialsAsync(project, ct);
                var workflows = spec.Workflows.Select(w => Workflow(spec, w, request)).ToArray();
                return Results.Ok(new
                {
                    name = spec.Name,
                    description = spec.Description,
                    currentVersion = current.Version,
                    deployedAt = current.CreatedAt,
                    deployedBy = current.Author,
                    createdAt = record?.CreatedAt,
                    enabled = spec.Workflows.Any(w => w.Enabled),
                    workflows,
                    credentials = spec.Credentials.Select(c => new { name = c.Name, adaptor = c.Adaptor, configured = credentials.Any(s => s.Name == c.Name) }),
                });
            })
            .WithName("GetProject").WithTags("Projects")
            .WithSummary("A project's current version, workflows with their triggers and intake URLs, credentials (names only) and whether it is enabled.")
            .RequireProjectRole(ProjectRole.Viewer);

        api.MapGet("/projects/{project}/workflows", async (string project, HttpRequest request, DeployedProjects projects, CancellationToken ct) =>
            {
                var current = await projects.GetCurrentAsync(project, ct);
                if (current is null) return NoProject(project);
                if (await SpecAsync(projects, project, current.Version, ct) is not { } spec) return NoLoad(project, current.Version);
                return Results.Ok(spec.Workflows.Select(w => Workflow(spec, w, request)));
            })
            .WithName("ListWorkflows").WithTags("Projects")
            .WithSummary("The workflows of a project's current version: steps, triggers (with intake URLs), limits and retry policy.")
            .RequireProjectRole(ProjectRole.Viewer);
        return api;
    }

    private static IResult NoProject(string project) =>
        Problems.NotFound($"No project '{project}' is deployed here. GET /api/projects lists the deployed ones; POST /api/projects/{project}/versions deploys it.", "project");

    private static async Task<ProjectSpec?> SpecAsync(DeployedProjects projects, string project, int version, CancellationToken ct)
    {
        try
        {
            return (await projects.GetAsync(project, version, ct)).Project;
        }
        catch (Diagnostics.FerryInputException)
        {
            return null;
        }
    }

    private static IResult NoLoad(string project, int version) =>
        Problems.Of(StatusCodes.Status409Conflict, "Version does not load",
            $"The current version ({version}) of project '{project}' does not validate on this server any more (its runs end 'exception' with the reason). Deploy a fixed version.", "project");

    private static object Workflow(ProjectSpec project, WorkflowSpec w, HttpRequest request) => new
    {
        name = w.Name,
        description = w.Description,
        enabled = w.Enabled,
        steps = w.Steps.Select(s => new { id = s.Id, name = s.Name, adaptor = s.Adaptor, credential = s.Credential }),
        triggers = w.Triggers.Select(t => Trigger(project, w, t, request)),
        concurrency = w.Concurrency,
        ordered = w.Ordered,
        retry = w.Retry is { } r ? new { attempts = r.Attempts, backoffSeconds = r.Backoff.TotalSeconds, maxBackoffSeconds = r.MaxBackoff.TotalSeconds } : null,
        timeoutSeconds = w.Timeout?.TotalSeconds,
    };

    private static object Trigger(ProjectSpec project, WorkflowSpec w, TriggerSpec t, HttpRequest request)
    {
        var webhook = t.Type == TriggerType.Webhook;
        var path = t.Path ?? $"/i/{Uri.EscapeDataString(project.Name)}/{Uri.EscapeDataString(w.Name)}/{Uri.EscapeDataString(t.Name)}";
        return new
        {
            name = t.Name,
            type = t.Type.ToString().ToLowerInvariant(),
            enabled = t.Enabled && w.Enabled,
            disabledReason = t.DisabledReason,
            url = webhook ? $"{request.Scheme}://{request.Host}{request.PathBase}{path}" : null,
            path = webhook ? path : null,
            auth = webhook ? t.Auth : null,
            reply = webhook ? t.Reply : null,
            replyTimeoutSeconds = webhook ? (t.ReplyTimeout ?? Webhooks.WebhookIntake.DefaultReplyTimeout).TotalSeconds : (double?)null,
            contentTypes = webhook ? t.ContentTypes : null,
            cron = t.Cron,
            timezone = t.Type == TriggerType.Cron ? t.Timezone ?? "UTC" : null,
            maxBodyBytes = webhook ? t.MaxBodyBytes ?? Webhooks.WebhookRequestReader.DefaultMaxBodyBytes : (long?)null,
        };
    }
}
