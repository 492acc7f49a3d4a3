using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Ferry.Adaptors.Common;
using Ferry.Json;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Ferry.Adaptors.Http;

/// <summary>
/// Sends <see cref="HttpCall"/>s for an adaptor: resolves the URL against the base URL, adds authentication (only for
/// the base URL's origin, so a next-page link to another host never receives the credential), retries transient
/// failures with exponential backoff honouring <c>Retry-After</c>, applies a per-attempt timeout and turns the
/// answer into JSON state values. Shared by every REST-based adaptor.
/// </summary>
internal sealed class HttpTransport(AdaptorContext context, HttpSettings settings)
{
    private const int ExcerptLength = 500;

    public HttpSettings Settings => settings;

    private string Adaptor => context.AdaptorName;

    /// <summary>Replaces credential values (the step's and this adaptor's own) with <c>***</c>.</summary>
    public string Scrub(string text) => context.Scrubber.Scrub(settings.Secrets.Scrub(text));

    /// <summary>The absolute URL for a path or URL plus query values.</summary>
    public Uri Resolve(string operation, string target, JsObject? query)
    {
        Uri uri;
        if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            uri = absolute;
        }
        else if (settings.BaseUrl is null)
        {
            throw new AdaptorException(Adaptor, operation,
                $"{Adaptor}.{operation}(\"{target}\"): the path is relative and the credential has no baseUrl. " +
                "Add \"baseUrl\" to the credential (e.g. \"https://example.org/api\") or pass an absolute URL.");
        }
        else
        {
            // Joined as text, not with URI rules: base "https://h/api" + "/patients" is "https://h/api/patients".
            var b = settings.BaseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
            var t = target.TrimStart('/');
            uri = new Uri(t.Length == 0 ? b : t.StartsWith('?') ? b + t : b + "/" + t);
            if (settings.BaseUrl.Query.Length > 1 && !uri.Query.Contains(settings.BaseUrl.Query[1..], StringComparison.Ordinal))
                uri = AppendQuery(uri, settings.BaseUrl.Query[1..]);
        }
        return query is null || query.Count == 0 ? uri : AppendQuery(uri, QueryString(query));
    }

    /// <summary>Sends the call with retries and timeout; throws <see cref="HttpAdaptorException"/> on failure.</summary>
    public async Task<HttpReply> SendAsync(string operation, HttpCall call, CancellationToken cancellationToken)
    {
        var url = Resolve(operation, call.Target, call.Query);
        return await SendAsync(operation, call, url, cancellationToken);
    }

    /// <summary>Sends the call to an already-resolved URL (next-page links).</summary>
    public async Task<HttpReply> SendAsync(string operation, HttpCall call, Uri url, CancellationToken cancellationToken)
    {
        var sameOrigin = settings.BaseUrl is null || Uri.Compare(url, settings.BaseUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        if (sameOrigin && settings.Auth.QueryName is { } qn && settings.Auth.QueryValue is { } qv)
            url = AppendQuery(url, Uri.EscapeDataString(qn) + "=" + Uri.EscapeDataString(qv));
        var shownUrl = Scrub(url.ToString());
        var timeout = call.Timeout ?? settings.Timeout;
        var retries = Math.Max(0, call.Retries ?? settings.Retries);
        var content = BuildContent(operation, call);
        var attempts = 0;
        var watch = Stopwatch.StartNew();

        var builder = new ResiliencePipelineBuilder<HttpAttempt>();
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpAttempt>
            {
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryDelay,
                MaxDelay = settings.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
                OnRetry = args =>
                {
                    var why = args.Outcome.Exception is { } e ? Describe(e, timeout) : $"status {args.Outcome.Result!.Status}";
                    context.Log.Warn($"{Adaptor} {call.Method} {shownUrl}: {why}; retry {args.AttemptNumber + 1} of {retries} in {args.RetryDelay.TotalSeconds:0.###} s.");
                    return ValueTask.CompletedTask;
                },
            });
        }
        builder.AddTimeout(timeout);
        var pipeline = builder.Build();

        HttpAttempt result;
        try
        {
            result = await pipeline.ExecuteAsync(async ct =>
            {
                attempts++;
                using var request = new HttpRequestMessage(new HttpMethod(call.Method), url) { Content = content.Create() };
                ApplyHeaders(request, call, sameOrigin);
                using var response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                return new HttpAttempt((int)response.StatusCode, response.ReasonPhrase ?? "", ReadHeaders(response), body,
                    response.Content.Headers.ContentType?.MediaType, RetryAfter(response), response.RequestMessage?.RequestUri ?? url);
            }, cancellationToken);
        }
        catch (TimeoutRejectedException e)
        {
            throw Failure(operation, call, shownUrl, null, "", attempts,
                $"timed out after {timeout.TotalSeconds:0.###} s{AttemptText(attempts)}. Raise timeoutSeconds (option or credential) if the server is slow, or check that it is up.", e);
        }
        catch (HttpRequestException e)
        {
            throw Failure(operation, call, shownUrl, null, "", attempts,
                $"could not reach the server{AttemptText(attempts)}: {e.Message}. Check the URL and that the server is reachable from here.", e);
        }
        context.Log.Debug($"{Adaptor} {call.Method} {shownUrl} -> {result.Status} in {watch.ElapsedMilliseconds} ms");

        if (result.Status is < 200 or > 299 && call.ThrowOnError)
        {
            var excerpt = Excerpt(result.Body);
            var gaveUp = result.RetryAfter is { } ra && ra > settings.MaxRetryDelay && IsTransientStatus(result.Status)
                ? $" The server asked to retry after {ra.TotalSeconds:0} s, longer than the {settings.MaxRetryDelay.TotalSeconds:0} s cap (maxRetryDelaySeconds)."
                : "";
            throw Failure(operation, call, shownUrl, result.Status, excerpt, attempts,
                $"failed with {result.Status} {result.Reason}{AttemptText(attempts)}.{gaveUp}{(excerpt.Length > 0 ? $" Response: {excerpt}" : "")} {NextStep(result.Status)}", null);
        }
        return new HttpReply(result.Status, result.Headers, Parse(operation, call, shownUrl, result), result.Url);
    }

    private bool IsTransient(Outcome<HttpAttempt> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } r } => IsTransientStatus(r.Status) && (r.RetryAfter is null || r.RetryAfter <= settings.MaxRetryDelay),
        _ => false,
    };

    private static bool IsTransientStatus(int status) => status is 408 or 429 or >= 500 and <= 599 && status != 501 && status != 505;

    private static string AttemptText(int attempts) => attempts > 1 ? $" after {attempts} attempts" : "";

    private static string Describe(Exception e, TimeSpan timeout) => e is TimeoutRejectedException
        ? $"no answer within {timeout.TotalSeconds:0.###} s"
        : e.Message;

    private static string NextStep(int status) => status switch
    {
        400 or 422 => "Check the request body and query against the API's documentation.",
        401 => "Check the credential (username/password, token or apiKey).",
        403 => "The credential is valid but not allowed to do this; ask the system's administrator for access.",
        404 => "Check the path and the credential's baseUrl.",
        408 or 429 => "The server is busy or rate-limiting; retry later or raise retries/maxRetryDelaySeconds.",
        >= 500 => "The server failed; retry later or contact the system's administrator.",
        _ => "Check the request against the API's documentation.",
    };

    private HttpAdaptorException Failure(string operation, HttpCall call, string shownUrl, int? status, string excerpt, int attempts, string what, Exception? inner) =>
        new(Adaptor, operation, Scrub($"{Adaptor}.{operation}: {call.Method} {shownUrl} {what}"), call.Method, shownUrl, status, excerpt, attempts, inner);

    private string Excerpt(byte[] body)
    {
        if (body.Length == 0) return "";
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, ExcerptLength * 4)).ReplaceLineEndings(" ").Trim();
        text = Scrub(text);
        return text.Length > ExcerptLength ? text[..(ExcerptLength - 3)] + "..." : text;
    }

    private object? Parse(string operation, HttpCall call, string shownUrl, HttpAttempt r)
    {
        var asJson = call.ParseAs switch
        {
            "json" => true,
            "text" => false,
            _ => r.MediaType is { } m && (m.EndsWith("/json", StringComparison.OrdinalIgnoreCase) || m.EndsWith("+json", StringComparison.OrdinalIgnoreCase)),
        };
        if (!asJson) return r.Body.Length == 0 && call.ParseAs != "text" ? null : Encoding.UTF8.GetString(r.Body);
        if (r.Body.Length == 0 || r.Body.AsSpan().Trim(" \r\n\t"u8).IsEmpty) return null;
        try
        {
            return Js.Parse(r.Body, shownUrl);
        }
        catch (Diagnostics.FerryInputException e)
        {
            throw new HttpAdaptorException(Adaptor, operation,
                Scrub($"{Adaptor}.{operation}: {call.Method} {shownUrl} answered {r.Status} with a body that is not valid JSON ({e.Diagnostics[0].Message}). " +
                      $"Start of the body: {Excerpt(r.Body)}. Pass parseAs: \"text\" to read it as text."),
                call.Method, shownUrl, r.Status, Excerpt(r.Body), 1, e);
        }
    }

    private void ApplyHeaders(HttpRequestMessage request, HttpCall call, bool sameOrigin)
    {
        request.Headers.UserAgent.ParseAdd("Ferry/1.0");
        if (call.ParseAs != "text") request.Headers.Accept.ParseAdd("application/json, */*;q=0.5");
        foreach (var headers in new[] { settings.Headers, call.Headers })
        {
            if (headers is null) continue;
            foreach (var (name, value) in headers)
            {
                if (value is null) continue;
                var text = value as string ?? Js.ToJson(value);
                if (request.Headers.Contains(name)) request.Headers.Remove(name);
                if (!request.Headers.TryAddWithoutValidation(name, text) && request.Content is not null)
                {
                    request.Content.Headers.Remove(name);
                    request.Content.Headers.TryAddWithoutValidation(name, text);
                }
            }
        }
        if (sameOrigin) settings.Auth.Apply(request);
    }

    private ContentFactory BuildContent(string operation, HttpCall call)
    {
        if (call.Body is null) return ContentFactory.Empty;
        byte[] bytes;
        string mediaType;
        switch (call.BodyAs)
        {
            case "form":
                if (call.Body is not JsObject form)
                    throw new AdaptorException(Adaptor, operation, $"{Adaptor}.{operation}: bodyAs \"form\" needs an object body such as new {{ name = \"x\" }}, found {AdaptorOptions.Describe(call.Body)}.");
                bytes = Encoding.UTF8.GetBytes(QueryString(form).Replace("%20", "+", StringComparison.Ordinal));
                mediaType = "application/x-www-form-urlencoded";
                break;
            case "text":
                bytes = Encoding.UTF8.GetBytes(call.Body is string s ? s : Js.ToJson(call.Body));
                mediaType = "text/plain";
                break;
            default:
                bytes = Js.ToUtf8(call.Body);
                mediaType = "application/json";
                break;
        }
        return new ContentFactory(bytes, call.ContentType ?? mediaType);
    }

    private static JsObject ReadHeaders(HttpResponseMessage response)
    {
        var headers = new JsObject();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            headers.Set(name.ToLowerInvariant(), string.Join(", ", values));
        return headers;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var h = response.Headers.RetryAfter;
        if (h is null) return null;
        if (h.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (h.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    /// <summary>Query values as <c>a=1&amp;b=x&amp;b=y</c>: arrays repeat the name, nulls are left out, objects become JSON.</summary>
    internal static string QueryString(JsObject values)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in values)
        {
            IEnumerable<object?> items = value is JsArray a ? a : [value];
            foreach (var item in items)
            {
                if (item is null) continue;
                if (sb.Length > 0) sb.Append('&');
                sb.Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(Text(item)));
            }
        }
        return sb.ToString();
    }

    private static string Text(object? value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Js.ToJson(value),
    };

    private static Uri AppendQuery(Uri uri, string query)
    {
        if (query.Length == 0) return uri;
        var builder = new UriBuilder(uri);
        builder.Query = builder.Query.Length > 1 ? builder.Query[1..] + "&" + query : query;
        return builder.Uri;
    }

    /// <summary>One answer, fully read (so the per-attempt timeout covers the body too).</summary>
    private sealed record HttpAttempt(int Status, string Reason, JsObject Headers, byte[] Body, string? MediaType, TimeSpan? RetryAfter, Uri Url);

    /// <summary>A request body that can be sent again on retry (HttpContent is single-use).</summary>
    private sealed class ContentFactory(byte[]? bytes, string? mediaType)
    {
        public static readonly ContentFactory Empty = new(null, null);

        public ByteArrayContent? Create()
        {
            if (bytes is null) return null;
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType!.Contains("charset", StringComparison.OrdinalIgnoreCase) || !IsText(mediaType) ? mediaType : mediaType + "; charset=utf-8");
            return content;
        }

        private static bool IsText(string m) => m.StartsWith("text/", StringComparison.OrdinalIgnoreCase) || m.Contains("json", StringComparison.OrdinalIgnoreCase);
    }
}
