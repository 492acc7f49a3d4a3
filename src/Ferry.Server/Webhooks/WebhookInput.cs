using System.Text.Json;

namespace Ferry.Server.Webhooks;

/// <summary>
/// An accepted webhook request: the state JSON a run starts from,
/// <c>{ "data": body, "request": { "method", "path", "headers", "query" } }</c>, as UTF-8 bytes.
/// </summary>
/// <param name="StateJson">The initial state, UTF-8 JSON.</param>
/// <param name="BodyBytes">Size of the request body as received.</param>
/// <param name="BodyKind">How the body was read: json, form, xml or text.</param>
public sealed record WebhookInput(byte[] StateJson, long BodyBytes, string BodyKind);

/// <summary>
/// A refused webhook request: the HTTP status, an RFC 9457 problem body that names the offending field, and any
/// headers the answer must carry (<c>WWW-Authenticate</c> for Basic).
/// </summary>
public sealed record WebhookRefusal(int Status, string Title, string Detail, string Field, string Trigger)
{
    /// <summary>Extra response headers, e.g. <c>WWW-Authenticate</c>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A short, stable reason for metrics and the UI: unauthorized, too_large, unsupported_media_type, malformed, disabled, misconfigured.</summary>
    public required string Reason { get; init; }

    /// <summary>The problem document (<c>application/problem+json</c>).</summary>
    public byte[] ToProblemJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("type", "about:blank");
            w.WriteString("title", Title);
            w.WriteNumber("status", Status);
            w.WriteString("detail", Detail);
            w.WriteString("field", Field);
            w.WriteString("trigger", Trigger);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Writes the refusal as the response (status, headers, problem JSON).</summary>
    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken = default)
    {
        response.StatusCode = Status;
        foreach (var (name, value) in Headers) response.Headers[name] = value;
        response.ContentType = "application/problem+json";
        await response.Body.WriteAsync(ToProblemJson(), cancellationToken);
    }
}

/// <summary>Either an accepted <see cref="WebhookInput"/> or a <see cref="WebhookRefusal"/>.</summary>
public readonly record struct WebhookReadResult(WebhookInput? Input, WebhookRefusal? Refusal)
{
    public bool IsAccepted => Input is not null;
}
