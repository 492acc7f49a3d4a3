using System.Text;
using Ferry.Json;
using Ferry.Server.Api;
using Ferry.Server.Projects;
using Ferry.Server.Queue;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server.Webhooks;

/// <summary>
/// <c>POST /i/{project}/{workflow}/{trigger}</c>: checks the request against its trigger, stores it durably (group
/// commit with other requests), and only then answers 202 with the work order and run ids. Nothing is acknowledged
/// before it is committed; if the commit fails the caller gets 503 and may retry.
/// </summary>
public static class WebhookEndpoints
{
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/i/{project}/{workflow}/{trigger}", Receive).DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    private static async Task Receive(HttpContext http, string project, string workflow, string trigger,
        FerryStore store, DeployedProjects projects, ProjectCredentials credentials, WebhookIntake intake)
    {
        var ct = http.RequestAborted;
        var version = await store.GetVersionAsync(project, null, ct);
        if (version is null)
        {
            await Refuse(http, 404, "Unknown project", $"No project '{project}' is deployed here.", "project");
            return;
        }
        var workspace = await projects.GetAsync(project, version.Version, ct);
        var spec = workspace.Project.FindWorkflow(workflow);
        var triggerSpec = spec?.Triggers.FirstOrDefault(t => t.Name == trigger && t.Type == TriggerType.Webhook);
        if (spec is null || triggerSpec is null)
        {
            await Refuse(http, 404, "Unknown trigger", $"Project '{project}' v{version.Version} has no webhook trigger '{trigger}' in workflow '{workflow}'.", spec is null ? "workflow" : "trigger");
            return;
        }
        JsObject? secrets = null;
        if (triggerSpec.Auth != "none")
        {
            var values = triggerSpec.Credential is null ? null : (await credentials.LoadAsync(project, ct)).GetValueOrDefault(triggerSpec.Credential);
            if (values is null)
            {
                await Refuse(http, 503, "Trigger not ready", $"The trigger needs {triggerSpec.Auth} auth, but its credential '{triggerSpec.Credential}' has no values on this server. Set them with PUT /api/projects/{project}/credentials/{triggerSpec.Credential}.", "trigger");
                return;
            }
            secrets = values;
        }
        var read = await WebhookRequestReader.ReadAsync(http, triggerSpec, secrets, ct);
        if (read.Refusal is { } refusal)
        {
            intake.Refused(project, workflow, trigger, refusal.Status);
            await refusal.WriteAsync(http.Response, ct);
            return;
        }
        var order = new NewWorkOrder(project, workflow, trigger, version.Version, Encoding.UTF8.GetString(read.Input!.StateJson),
            Retry: spec.Retry is { } r ? new RetryPolicy(r.Attempts, r.Backoff, r.MaxBackoff) : null);
        EnqueuedRun enqueued;
        try
        {
            enqueued = await intake.SubmitAsync(order, ct);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            intake.Refused(project, workflow, trigger, 503);
            await Refuse(http, 503, "Not stored", "The request could not be stored, so it was not accepted. Send it again.", "body");
            return;
        }
        http.Response.StatusCode = StatusCodes.Status202Accepted;
        await http.Response.WriteAsJsonAsync(new { workOrderId = enqueued.WorkOrderId, runId = enqueued.RunId }, ct);
    }

    private static async Task Refuse(HttpContext http, int status, string title, string detail, string field) =>
        await Problems.Of(status, title, detail, field).ExecuteAsync(http);
}

/// <summary>Durable intake: one database commit for every batch of concurrent webhook requests, then the workers are woken.</summary>
public sealed class WebhookIntake : IAsyncDisposable
{
    private readonly GroupCommitter<NewWorkOrder, EnqueuedRun> _committer;
    private readonly RunSignal _signal;

    public WebhookIntake(FerryStore store, RunSignal signal)
    {
        _signal = signal;
        _committer = new GroupCommitter<NewWorkOrder, EnqueuedRun>(async (batch, ct) =>
        {
            var runs = await store.EnqueueAsync(batch, ct);
            _signal.Pulse(batch.Count);
            return runs;
        });
    }

    public long Accepted => Interlocked.Read(ref _accepted);

    public long RefusedCount => Interlocked.Read(ref _refused);

    private long _accepted;
    private long _refused;

    public async Task<EnqueuedRun> SubmitAsync(NewWorkOrder order, CancellationToken ct)
    {
        var run = await _committer.SubmitAsync(order, ct);
        Interlocked.Increment(ref _accepted);
        return run;
    }

    public void Refused(string project, string workflow, string trigger, int status) => Interlocked.Increment(ref _refused);

    public Task StopAsync(CancellationToken ct) => _committer.StopAsync(ct);

    public ValueTask DisposeAsync() => _committer.DisposeAsync();
}
