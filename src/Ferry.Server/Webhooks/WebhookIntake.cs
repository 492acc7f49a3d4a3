using System.Text.Json;
using Ferry.Json;
using Ferry.Server.Metrics;
using Ferry.Spec;

namespace Ferry.Server.Webhooks;

/// <summary>The trigger a webhook URL points at, with its credential's secret values (null for auth: none), and the deployed version and retry policy its work order gets.</summary>
public sealed record WebhookTarget(string Project, string Workflow, TriggerSpec Trigger, JsObject? Secrets, int Version = 0, RetrySpec? Retry = null);

/// <summary>One accepted request, ready to be stored as a work order and its first run.</summary>
public sealed record IntakeItem(WebhookTarget Target, WebhookInput Input, DateTime ReceivedAtUtc);

/// <summary>What the store made of an <see cref="IntakeItem"/>: the ids the 202 answer carries.</summary>
public sealed record IntakeReceipt(string WorkOrderId, string RunId);

/// <summary>
/// The webhook endpoint: <c>POST /i/{project}/{workflow}/{trigger}</c>. Finds the trigger (404 if none), reads the
/// request with <see cref="WebhookRequestReader"/> (401/413/415/400/503), stores it through a
/// <see cref="GroupCommitter{TItem,TResult}"/> and answers <c>202 {"workOrderId","runId"}</c> only once its batch is
/// committed. A failed commit answers 503: nothing was acknowledged, so the sender retries. Every outcome is counted
/// in <c>ferry_intake_requests_total</c>.
/// </summary>
public sealed class WebhookIntake : IAsyncDisposable
{
    public delegate ValueTask<WebhookTarget?> TargetResolver(string project, string workflow, string trigger, CancellationToken cancellationToken);

    private readonly TargetResolver _resolve;
    private readonly GroupCommitter<IntakeItem, IntakeReceipt> _committer;
    private readonly FerryMetrics _metrics;

    /// <param name="resolve">Finds the deployed trigger and its secrets (the store's project versions).</param>
    /// <param name="commit">Stores a batch durably, in one transaction, returning one receipt per item in order.</param>
    public WebhookIntake(TargetResolver resolve, Func<IReadOnlyList<IntakeItem>, CancellationToken, Task<IReadOnlyList<IntakeReceipt>>> commit,
        FerryMetrics metrics, int maxBatchSize = GroupCommitter<IntakeItem, IntakeReceipt>.DefaultMaxBatchSize)
    {
        _resolve = resolve;
        _committer = new GroupCommitter<IntakeItem, IntakeReceipt>(commit, maxBatchSize);
        _metrics = metrics;
    }

    /// <summary>Commits made so far (each covers one batch of requests).</summary>
    public long Commits => _committer.Commits;

    public async Task HandleAsync(HttpContext context, string project, string workflow, string trigger)
    {
        var ct = context.RequestAborted;
        var target = await _resolve(project, workflow, trigger, ct);
        if (target is null)
        {
            _metrics.IntakeRecorded("not_found");
            await Problem(context, 404, "Not Found", "trigger",
                $"There is no webhook trigger '{trigger}' in workflow '{workflow}' of project '{project}'. Check the URL against the deployed project (ferry.yaml triggers).");
            return;
        }

        var read = await WebhookRequestReader.ReadAsync(context, target.Trigger, target.Secrets, ct);
        if (read.Refusal is { } refusal)
        {
            _metrics.IntakeRecorded(refusal.Reason);
            await refusal.WriteAsync(context.Response, ct);
            return;
        }

        IntakeReceipt receipt;
        try
        {
            receipt = await _committer.SubmitAsync(new IntakeItem(target, read.Input!, DateTime.UtcNow), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _metrics.IntakeRecorded("cancelled");
            return; // the sender went away before the commit; it got no answer, so it will retry
        }
        catch (Exception e)
        {
            _metrics.IntakeRecorded("unavailable");
            context.Response.Headers.RetryAfter = "5";
            await Problem(context, 503, "Service Unavailable", "request",
                $"The request could not be stored ({e.Message}). Nothing was accepted; send it again.");
            return;
        }

        _metrics.IntakeRecorded("accepted");
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("workOrderId", receipt.WorkOrderId);
        w.WriteString("runId", receipt.RunId);
        w.WriteEndObject();
    }

    /// <summary>Stops taking requests and commits what was already read.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _committer.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _committer.DisposeAsync();

    private static Task Problem(HttpContext context, int status, string title, string field, string detail) =>
        new WebhookRefusal(status, title, detail, field, context.Request.RouteValues["trigger"] as string ?? "") { Reason = "" }
            .WriteAsync(context.Response, context.RequestAborted);
}
