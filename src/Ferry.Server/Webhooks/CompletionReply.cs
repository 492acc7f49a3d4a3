using System.Text.Json;
using Ferry.Server.Queue;

namespace Ferry.Server.Webhooks;

/// <summary>
/// The answer of a <c>reply: after_completion</c> webhook once its run ended: 200 with the final state's <c>data</c>
/// (JSON; <c>null</c> when the state has none), or 502 Bad Gateway problem JSON when the run did not succeed — a status
/// source systems treat as "the far side failed, try again or alert", unlike a 4xx that blames their request. Both
/// carry the work order and run ids (body for the problem, <c>Ferry-Work-Order-Id</c>/<c>Ferry-Run-Id</c> headers).
/// </summary>
public static class CompletionReply
{
    public const string WorkOrderHeader = "Ferry-Work-Order-Id";
    public const string RunHeader = "Ferry-Run-Id";

    public static async Task WriteAsync(HttpResponse response, RunOutcome outcome, CancellationToken ct)
    {
        response.Headers[WorkOrderHeader] = outcome.WorkOrderId.ToString();
        response.Headers[RunHeader] = outcome.RunId.ToString();
        if (!outcome.Succeeded)
        {
            await WriteProblemAsync(response, "Run did not succeed",
                $"The request was stored as work order {outcome.WorkOrderId}, but its run {outcome.RunId} ended '{outcome.Status}': " +
                $"{outcome.Error ?? "no error was recorded"}. See GET /api/runs/{outcome.RunId} for its steps and logs; once the cause is fixed, " +
                $"POST /api/work-orders/{outcome.WorkOrderId}/retry runs it again (sending the request again makes a new work order).",
                outcome, ct);
            return;
        }

        using var state = outcome.OutputJson is null ? null : JsonDocument.Parse(outcome.OutputJson);
        var root = state?.RootElement;
        if (root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty("truncated", out var truncated) && truncated.ValueKind == JsonValueKind.True
            && !r.TryGetProperty("data", out _))
        {
            // The worker stored a note instead of a state over the dataclip limit: there is no data to send back.
            await WriteProblemAsync(response, "Reply too large",
                $"Run {outcome.RunId} succeeded, but its final state is larger than the server's dataclip limit, so it was not kept and cannot be " +
                "sent back. Make the workflow's final state smaller (e.g. return only ids), or raise the limit (ServerOptions.MaxDataclipBytes).",
                outcome, ct);
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(response.Body);
        if (root is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("data", out var data)) data.WriteTo(w);
        else w.WriteNullValue();
        await w.FlushAsync(ct);
    }

    private static async Task WriteProblemAsync(HttpResponse response, string title, string detail, RunOutcome outcome, CancellationToken ct)
    {
        response.StatusCode = StatusCodes.Status502BadGateway;
        response.ContentType = "application/problem+json";
        await using var w = new Utf8JsonWriter(response.Body);
        w.WriteStartObject();
        w.WriteString("type", "about:blank");
        w.WriteString("title", title);
        w.WriteNumber("status", StatusCodes.Status502BadGateway);
        w.WriteString("detail", detail);
        w.WriteString("field", "run");
        w.WriteString("workOrderId", outcome.WorkOrderId);
        w.WriteString("runId", outcome.RunId);
        w.WriteString("runStatus", outcome.Status);
        if (outcome.Error is null) w.WriteNull("error");
        else w.WriteString("error", outcome.Error);
        w.WriteEndObject();
        await w.FlushAsync(ct);
    }
}
