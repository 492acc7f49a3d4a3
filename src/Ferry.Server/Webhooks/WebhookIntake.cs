using Ferry.Json;
using Ferry.Server.Batching;
using Ferry.Server.Metrics;
using Ferry.Server.Queue;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server.Webhooks;

/// <summary>The trigger a webhook URL points at, with its credential's secret values (null for auth: none), and the deployed version and retry policy its work order gets.</summary>
public sealed record WebhookTarget(string Project, string Workflow, TriggerSpec Trigger, JsObject? Secrets, int Version = 0, RetrySpec? Retry = null);

/// <summary>One accepted request, ready to be stored as a work order and its first run.</summary>
public sealed record IntakeItem(WebhookTarget Target, WebhookInput Input, DateTime ReceivedAtUtc);

/// <summary>
/// The webhook endpoint: <c>POST /i/{project}/{workflow}/{trigger}</c>, or the trigger's custom <c>path</c>. Finds the
/// trigger (404 if none), reads the request with <see cref="WebhookRequestReader"/> (401/413/415/400/503), stores it
/// through a <see cref="GroupCommitter{TItem,TResult}"/> and answers <c>202 {"workOrderId","runId"}</c> only once its
/// batch is committed. A trigger with <c>reply: after_completion</c> then waits for the run (<see cref="RunCompletions"/>)
/// and answers 200 with the final state's <c>data</c>, 502 when the run did not succeed, or the 202 when its reply
/// timeout passes first. A failed commit answers 503: nothing was acknowledged, so the sender retries. Every outcome
/// is counted in <c>ferry_intake_requests_total</c>.
/// </summary>
public sealed class WebhookIntake : IAsyncDisposable
{
    public delegate ValueTask<WebhookTarget?> TargetResolver(string project, string workflow, string trigger, CancellationToken cancellationToken);

    /// <summary>Finds the trigger that claims a custom path (null: none does).</summary>
    public delegate ValueTask<WebhookRoute?> PathResolver(string path, CancellationToken cancellationToken);

    /// <summary>Longest wait of <c>reply: after_completion</c> when the trigger sets no <c>reply_timeout</c>.</summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly TargetResolver _resolve;
    private readonly PathResolver? _resolvePath;
    private readonly RunCompletions? _completions;
    private readonly GroupCommitter<IntakeItem, EnqueuedRun> _committer;
    private readonly FerryMetrics _metrics;

    /// <param name="resolve">Finds the deployed trigger and its secrets (the store's project versions).</param>
    /// <param name="commit">Stores a batch durably, returning the ids of each item's work order and run, in order.</param>
    /// <param name="completions">Where <c>after_completion</c> replies wait for their run; null answers them 202 at once.</param>
    /// <param name="resolvePath">Finds the trigger of a custom path; null serves no custom paths.</param>
    public WebhookIntake(TargetResolver resolve, Func<IReadOnlyList<IntakeItem>, CancellationToken, Task<IReadOnlyList<EnqueuedRun>>> commit,
        FerryMetrics metrics, int maxBatchSize = GroupCommitter<IntakeItem, EnqueuedRun>.DefaultMaxBatchSize,
        RunCompletions? completions = null, PathResolver? resolvePath = null)
    {
        _resolve = resolve;
        _resolvePath = resolvePath;
        _completions = completions;
        _committer = new GroupCommitter<IntakeItem, EnqueuedRun>(commit, maxBatchSize);
        _metrics = metrics;
    }

    /// <summary>Commits made so far (each covers one batch of requests).</summary>
    public long Commits => _committer.Commits;

    /// <summary><c>POST /i/{project}/{workflow}/{trigger}</c>.</summary>
    public async Task HandleAsync(HttpContext context, string project, string workflow, string trigger)
    {
        var target = await _resolve(project, workflow, trigger, context.RequestAborted);
        if (target is null)
        {
            await NotFoundAsync(context, "trigger", trigger,
                $"There is no webhook trigger '{trigger}' in workflow '{workflow}' of project '{project}'. Check the URL against the deployed project (ferry.yaml triggers).");
            return;
        }
        if (target.Trigger.Path is { } path)
        {
            // docs/spec.md: a webhook listens on /i/… or, when it has one, on its path: one URL per trigger.
            await NotFoundAsync(context, "trigger", trigger,
                $"Trigger '{trigger}' of workflow '{workflow}' in project '{project}' has a custom path: send to POST {path} instead.");
            return;
        }
        await AcceptAsync(context, target);
    }

    /// <summary>Splits <c>/i/{project}/{workflow}/{trigger}</c> into its three names (none empty); false for any other path.</summary>
    public static bool TrySplitPath(string? path, out string project, out string workflow, out string trigger)
    {
        project = workflow = trigger = "";
        if (path is null || !path.StartsWith("/i/", StringComparison.Ordinal)) return false;
        var rest = path.AsSpan(3);
        var first = rest.IndexOf('/');
        if (first <= 0) return false;
        var second = rest[(first + 1)..].IndexOf('/');
        if (second <= 0) return false;
        var last = rest[(first + 1 + second + 1)..];
        if (last.IsEmpty || last.Contains('/')) return false;
        project = rest[..first].ToString();
        workflow = rest.Slice(first + 1, second).ToString();
        trigger = last.ToString();
        return true;
    }

    /// <summary>A custom path (<c>path:</c> of a webhook trigger), e.g. <c>POST /kobo/households</c>.</summary>
    public async Task HandlePathAsync(HttpContext context, string path)
    {
        var route = _resolvePath is null ? null : await _resolvePath(path, context.RequestAborted);
        var target = route is null ? null : await _resolve(route.Project, route.Workflow, route.Trigger, context.RequestAborted);
        if (target is null)
        {
            await NotFoundAsync(context, "path", "",
                $"No webhook listens on POST {path}. Webhooks listen on /i/<project>/<workflow>/<trigger>, or on the 'path' of their trigger in a deployed project's ferry.yaml.");
            return;
        }
        await AcceptAsync(context, target);
    }

    private async Task AcceptAsync(HttpContext context, WebhookTarget target)
    {
        var ct = context.RequestAborted;
        var read = await WebhookRequestReader.ReadAsync(context, target.Trigger, target.Secrets, ct);
        if (read.Refusal is { } refusal)
        {
            _metrics.IntakeRecorded(refusal.Reason);
            await refusal.WriteAsync(context.Response, ct);
            return;
        }

        EnqueuedRun ids;
        try
        {
            ids = await _committer.SubmitAsync(new IntakeItem(target, read.Input!, DateTime.UtcNow), ct);
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
            await new WebhookRefusal(503, "Service Unavailable", $"The request could not be stored ({e.Message}). Nothing was accepted; send it again.",
                "request", target.Trigger.Name)
            { Reason = "" }.WriteAsync(context.Response, ct);
            return;
        }

        _metrics.IntakeRecorded("accepted");
        if (target.Trigger.Reply == "after_completion" && _completions is not null)
        {
            var outcome = await _completions.WaitAsync(ids.WorkOrderId, ids.RunId, target.Trigger.ReplyTimeout ?? DefaultReplyTimeout, ct);
            if (ct.IsCancellationRequested) return; // the sender went away; its input is stored and runs anyway
            if (outcome is not null)
            {
                await CompletionReply.WriteAsync(context.Response, outcome, ct);
                return;
            }
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        var body = AcceptedBody(ids);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, ct);
    }

    /// <summary><c>{"workOrderId":"…","runId":"…"}</c>, written straight into one array (sent with its length, no
    /// chunked encoding): every accepted webhook answers it.</summary>
    internal static byte[] AcceptedBody(EnqueuedRun ids)
    {
        ReadOnlySpan<byte> start = "{\"workOrderId\":\""u8, middle = "\",\"runId\":\""u8, end = "\"}"u8;
        var body = new byte[start.Length + 36 + middle.Length + 36 + end.Length];
        var span = body.AsSpan();
        start.CopyTo(span);
        ids.WorkOrderId.TryFormat(span[start.Length..], out var written, "D");
        span = span[(start.Length + written)..];
        middle.CopyTo(span);
        ids.RunId.TryFormat(span[middle.Length..], out written, "D");
        end.CopyTo(span[(middle.Length + written)..]);
        return body;
    }

    /// <summary>Stops taking requests and commits what was already read.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _committer.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _committer.DisposeAsync();

    private Task NotFoundAsync(HttpContext context, string field, string trigger, string detail)
    {
        _metrics.IntakeRecorded("not_found");
        return new WebhookRefusal(404, "Not Found", detail, field, trigger) { Reason = "not_found" }.WriteAsync(context.Response, context.RequestAborted);
    }
}
