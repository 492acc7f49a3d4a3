using System.Globalization;
using System.Text.Json.Nodes;
using Ferry.Server.Auth;
using Ferry.Server.Queue;
using Ferry.Storage;

namespace Ferry.Server.Api;

/// <summary>Work orders, runs, step runs, logs and dataclips: filters and paging; retry and cancel.</summary>
internal static class HistoryApi
{
    public static RouteGroupBuilder MapHistoryApi(this RouteGroupBuilder api)
    {
        api.MapGet("/work-orders", async (HttpRequest request, FerryStore store, CancellationToken ct) =>
        {
            var q = request.Query;
            if (!TryTime(q["since"], out var since)) return Problems.Of(400, "Bad filter", "'since' must be an ISO 8601 time, e.g. 2026-11-22T00:00:00Z.", "since");
            if (!TryTime(q["until"], out var until)) return Problems.Of(400, "Bad filter", "'until' must be an ISO 8601 time.", "until");
            var limit = 50;
            if (q["limit"].Count > 0 && (!int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > WorkOrderQuery.MaxLimit))
                return Problems.Of(400, "Bad paging", $"'limit' must be a whole number from 1 to {WorkOrderQuery.MaxLimit}.", "limit");
            string? status = q["status"];
            if (status is not null && !RunStatus.All.Contains(status))
                return Problems.Of(400, "Bad filter", $"'status' must be one of {string.Join(", ", RunStatus.All)}.", "status");
            try
            {
                var visible = q["project"].Count == 0 ? Caller.Of(request.HttpContext)!.ProjectsWith(ProjectRole.Viewer) : null;
                return Results.Ok(await store.ListWorkOrdersAsync(new WorkOrderQuery(q["project"], q["workflow"], status, since, until, limit, q["after"]) { Projects = visible }, ct));
            }
            catch (ArgumentException e)
            {
                return Problems.Of(400, "Bad query", e.Message, e.ParamName ?? "query");
            }
        }).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.Query);

        api.MapGet("/work-orders/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetWorkOrderAsync(id, ct) is { } order
                ? Results.Ok(new { workOrder = order, runs = await store.ListRunsAsync(id, ct) })
                : Problems.NotFound($"No work order {id}.", "id")).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.WorkOrder);

        api.MapPost("/work-orders/{id:guid}/retry", async (Guid id, string? fromStep, int? version, HttpContext http, FerryStore store, RunSignal signal, CancellationToken ct) =>
        {
            if (await store.GetWorkOrderAsync(id, ct) is not { } order) return Problems.NotFound($"No work order {id}.", "id");
            try
            {
                var run = await store.RetryAsync(id, fromStep, version,
                    retried => Audit.Entry(http, "work_order.retry", order.Project, id.ToString(), new { status = order.Status, lastRunId = order.LastRunId }, new { runId = retried.RunId, fromStep, version }), ct);
                signal.Pulse();
                return Results.Accepted($"/api/runs/{run.RunId}", new { workOrderId = run.WorkOrderId, runId = run.RunId });
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return Problems.Of(409, "Cannot retry", e.Message, fromStep is null ? "id" : "fromStep");
            }
        }).RequireProjectRole(ProjectRole.Editor, ProjectFrom.WorkOrder);

        api.MapGet("/runs/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetRunAsync(id, ct) is { } run
                ? Results.Ok(new { run, steps = await store.ListStepRunsAsync(id, ct) })
                : Problems.NotFound($"No run {id}.", "id")).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.Run);

        api.MapGet("/runs/{id:guid}/logs", async (Guid id, long? after, int? limit, FerryStore store, CancellationToken ct) =>
        {
            if (limit is < 1 or > 5000) return Problems.Of(400, "Bad paging", "'limit' must be from 1 to 5000.", "limit");
            if (await store.GetRunAsync(id, ct) is null) return Problems.NotFound($"No run {id}.", "id");
            return Results.Ok(await store.ListLogsAsync(id, after ?? 0, limit ?? 1000, ct));
        }).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.Run);

        api.MapPost("/runs/{id:guid}/cancel", async (Guid id, HttpContext http, FerryStore store, CancellationToken ct) =>
        {
            if (await store.GetRunAsync(id, ct) is not { } before) return Problems.NotFound($"No run {id}.", "id");
            if (!await store.CancelAsync(id, Audit.Entry(http, "run.cancel", before.Project, id.ToString(), new { status = before.Status }, new { cancelRequested = true }), ct))
                return Problems.Of(409, "Cannot cancel", "The run has already ended.", "id");
            return Results.Accepted();
        }).RequireProjectRole(ProjectRole.Editor, ProjectFrom.Run);

        api.MapGet("/dataclips/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetDataclipAsync(id, ct) is { } json
                ? Results.Ok(JsonNode.Parse(json))
                : Problems.NotFound($"No dataclip {id} (unknown, or wiped by the retention policy).", "id")).RequireProjectRole(ProjectRole.Viewer, ProjectFrom.Dataclip);
        return api;
    }

    private static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text)) return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return false;
        time = t;
        return true;
    }
}
