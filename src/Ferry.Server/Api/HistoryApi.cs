using System.Globalization;
using System.Text.Json.Nodes;
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
                return Results.Ok(await store.ListWorkOrdersAsync(new WorkOrderQuery(q["project"], q["workflow"], status, since, until, limit, q["after"]), ct));
            }
            catch (ArgumentException e)
            {
                return Problems.Of(400, "Bad query", e.Message, e.ParamName ?? "query");
            }
        });

        api.MapGet("/work-orders/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetWorkOrderAsync(id, ct) is { } order
                ? Results.Ok(new { workOrder = order, runs = await store.ListRunsAsync(id, ct) })
                : Problems.NotFound($"No work order {id}.", "id"));

        api.MapPost("/work-orders/{id:guid}/retry", async (Guid id, string? fromStep, int? version, FerryStore store, RunSignal signal, CancellationToken ct) =>
        {
            if (await store.GetWorkOrderAsync(id, ct) is null) return Problems.NotFound($"No work order {id}.", "id");
            try
            {
                var run = await store.RetryAsync(id, fromStep, version, ct);
                signal.Pulse();
                return Results.Accepted($"/api/runs/{run.RunId}", new { workOrderId = run.WorkOrderId, runId = run.RunId });
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return Problems.Of(409, "Cannot retry", e.Message, fromStep is null ? "id" : "fromStep");
            }
        });

        api.MapGet("/runs/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetRunAsync(id, ct) is { } run
                ? Results.Ok(new { run, steps = await store.ListStepRunsAsync(id, ct) })
                : Problems.NotFound($"No run {id}.", "id"));

        api.MapGet("/runs/{id:guid}/logs", async (Guid id, long? after, int? limit, FerryStore store, CancellationToken ct) =>
        {
            if (limit is < 1 or > 5000) return Problems.Of(400, "Bad paging", "'limit' must be from 1 to 5000.", "limit");
            if (await store.GetRunAsync(id, ct) is null) return Problems.NotFound($"No run {id}.", "id");
            return Results.Ok(await store.ListLogsAsync(id, after ?? 0, limit ?? 1000, ct));
        });

        api.MapPost("/runs/{id:guid}/cancel", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetRunAsync(id, ct) is null ? Problems.NotFound($"No run {id}.", "id")
            : await store.CancelAsync(id, ct) ? Results.Accepted() : Problems.Of(409, "Cannot cancel", "The run has already ended.", "id"));

        api.MapGet("/dataclips/{id:guid}", async (Guid id, FerryStore store, CancellationToken ct) =>
            await store.GetDataclipAsync(id, ct) is { } json
                ? Results.Ok(JsonNode.Parse(json))
                : Problems.NotFound($"No dataclip {id} (unknown, or wiped by the retention policy).", "id"));
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
