using System.Net.Http.Headers;
using System.Text;
using Ferry.Adaptors.Common;
using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Adaptors.Http;

/// <summary>
/// What an HTTP-based adaptor reads from its credential: base URL, authentication, default headers, timeout and
/// retry policy. Other REST adaptors (FHIR, DHIS2, Go.Data…) build one from their own credential fields and hand
/// it to <see cref="HttpTransport"/>.
/// </summary>
internal sealed class HttpSettings
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public Uri? BaseUrl { get; init; }

    /// <summary>Basic, bearer or API-key authentication; applied only to URLs on the base URL's origin.</summary>
    public HttpAuth Auth { get; init; } = HttpAuth.None;

    /// <summary>Headers sent with every request (before the call's own headers).</summary>
    public JsObject? Headers { get; init; }

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Retries after the first attempt, on 408, 429, 5xx, timeouts and network errors.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>The first backoff delay; it doubles at each retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts, including a server's <c>Retry-After</c>; longer requests give up.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Credential values to scrub from every message (secret fields and the Authorization value).</summary>
    public SecretScrubber Secrets { get; init; } = new();

    /// <summary>The http adaptor's credential: baseUrl, username/password, token, apiKey (+ apiKeyHeader or apiKeyQuery), headers, timeoutSeconds, retries.</summary>
    public static HttpSettings FromCredential(string adaptor, JsObject configuration)
    {
        var c = AdaptorOptions.Credential(adaptor, configuration);
        var secrets = new SecretScrubber();
        secrets.AddCredential(configuration, HttpAdaptor.PublicCredentialFields);
        var auth = HttpAuth.FromCredential(adaptor, c);
        if (auth.HeaderValue is { } hv) secrets.Add(hv);
        return new HttpSettings
        {
            BaseUrl = ParseBaseUrl(adaptor, c.String("baseUrl")),
            Auth = auth,
            Headers = c.Object("headers"),
            Timeout = Seconds(c.Number("timeoutSeconds")) ?? DefaultTimeout,
            Retries = c.Int("retries") ?? 3,
            RetryDelay = Seconds(c.Number("retryDelaySeconds")) ?? TimeSpan.FromSeconds(1),
            MaxRetryDelay = Seconds(c.Number("maxRetryDelaySeconds")) ?? TimeSpan.FromSeconds(30),
            Secrets = secrets,
        };
    }

    internal static TimeSpan? Seconds(double? s) => s is null ? null : TimeSpan.FromSeconds(s.Value);

    internal static Uri? ParseBaseUrl(string adaptor, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        throw new AdaptorException(adaptor, "credential",
            $"The {adaptor} credential's baseUrl '{text}' is not an absolute http(s) URL. Set it to something like \"https://example.org/api\".");
    }
}

/// <summary>How requests authenticate, from the credential.</summary>
internal sealed class HttpAuth
{
    public static readonly HttpAuth None = new("none", null, null, null, null);

    private HttpAuth(string kind, string? headerName, string? headerValue, string? queryName, string? queryValue)
    {
        Kind = kind;
        HeaderName = headerName;
        HeaderValue = headerValue;
        QueryName = queryName;
        QueryValue = queryValue;
    }

    /// <summary>none, basic, bearer, apiKey.</summary>
    public string Kind { get; }

    public string? HeaderName { get; }

    public string? HeaderValue { get; }

    public string? QueryName { get; }

    public string? QueryValue { get; }

    public static HttpAuth FromCredential(string adaptor, AdaptorOptions c)
    {
        var token = c.String("token");
        var apiKey = c.String("apiKey");
        var username = c.String("username");
        var password = c.String("password");
        var kinds = new[] { token is not null, apiKey is not null, username is not null || password is not null }.Count(b => b);
        if (kinds > 1)
            throw new AdaptorException(adaptor, "credential",
                $"The {adaptor} credential sets more than one kind of authentication (token, apiKey, username/password). Keep exactly one.");
        if (token is not null) return Bearer(token);
        if (apiKey is not null)
        {
            var query = c.String("apiKeyQuery");
            return query is not null ? new HttpAuth("apiKey", null, null, query, apiKey) : new HttpAuth("apiKey", c.String("apiKeyHeader") ?? "X-API-Key", apiKey, null, null);
        }
        if (username is not null || password is not null)
        {
            if (username is null || password is null)
                throw new AdaptorException(adaptor, "credential",
                    $"The {adaptor} credential has {(username is null ? "a password but no username" : "a username but no password")}; basic authentication needs both.");
            return Basic(username, password);
        }
        return None;
    }

    public static HttpAuth Bearer(string token) => new("bearer", "Authorization", "Bearer " + token, null, null);

    public static HttpAuth Basic(string username, string password) =>
        new("basic", "Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")), null, null);

    public void Apply(HttpRequestMessage request)
    {
        if (HeaderName is null || HeaderValue is null) return;
        if (string.Equals(HeaderName, "Authorization", StringComparison.OrdinalIgnoreCase))
        {
            var space = HeaderValue.IndexOf(' ', StringComparison.Ordinal);
            request.Headers.Authorization = new AuthenticationHeaderValue(HeaderValue[..space], HeaderValue[(space + 1)..]);
        }
        else
        {
            request.Headers.Remove(HeaderName);
            request.Headers.TryAddWithoutValidation(HeaderName, HeaderValue);
        }
    }
}
