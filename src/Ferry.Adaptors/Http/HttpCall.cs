using Ferry.Json;

namespace Ferry.Adaptors.Http;

/// <summary>One HTTP request as an adaptor describes it (before URL resolution, auth and retries).</summary>
internal sealed class HttpCall
{
    public required string Method { get; init; }

    /// <summary>A path under the base URL (<c>/patients</c>) or an absolute http(s) URL.</summary>
    public required string Target { get; init; }

    /// <summary>Added to the URL's query string; arrays repeat the name, nulls are left out.</summary>
    public JsObject? Query { get; init; }

    public JsObject? Headers { get; init; }

    public object? Body { get; init; }

    /// <summary>json (default), form (application/x-www-form-urlencoded) or text.</summary>
    public string BodyAs { get; init; } = "json";

    /// <summary>Overrides the body's media type.</summary>
    public string? ContentType { get; init; }

    /// <summary>auto (by Content-Type), json or text.</summary>
    public string ParseAs { get; init; } = "auto";

    public TimeSpan? Timeout { get; init; }

    public int? Retries { get; init; }

    /// <summary>When false, error statuses are returned as a reply instead of thrown.</summary>
    public bool ThrowOnError { get; init; } = true;

    /// <summary>The request as flow tests match and record it: method, path, query, headers, body (no credential values).</summary>
    public JsObject ToRecord()
    {
        var r = new JsObject();
        r.Set("method", Method);
        r.Set("path", Target);
        if (Query is { Count: > 0 }) r.Set("query", Query);
        if (Headers is { Count: > 0 }) r.Set("headers", Headers);
        if (Body is not null) r.Set("body", Body);
        return r;
    }
}

/// <summary>A response as step code sees it: <c>{ status, headers, body }</c>.</summary>
internal sealed record HttpReply(int Status, JsObject Headers, object? Body, Uri Url)
{
    public JsObject ToState()
    {
        var r = new JsObject(3);
        r.Set("status", Status);
        r.Set("headers", Headers);
        r.Set("body", Body);
        return r;
    }

    /// <summary>
    /// A canned or simulated response in test modes: a full <c>{ status, body, headers? }</c> object is used as is,
    /// anything else is the body of a 200 response.
    /// </summary>
    public static JsObject FromCanned(object? canned)
    {
        if (canned is JsObject o && o["status"] is int && o.Has("body") && o.Keys.All(k => k is "status" or "headers" or "body"))
        {
            if (o["headers"] is null) o.Set("headers", new JsObject());
            return o;
        }
        var r = new JsObject(3);
        r.Set("status", 200);
        r.Set("headers", new JsObject());
        r.Set("body", canned);
        return r;
    }
}
