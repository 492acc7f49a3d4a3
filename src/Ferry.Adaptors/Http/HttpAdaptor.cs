using Ferry.Adaptors.Common;
using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Adaptors.Http;

/// <summary>
/// The <c>http</c> adaptor: calls any REST API. Verbs return <c>{ status, headers, body }</c> (body parsed as JSON
/// when the response says JSON, else text); <see cref="GetAll"/> returns the concatenated items of every page.
/// Error statuses throw <see cref="HttpAdaptorException"/> unless <c>throwOnError: false</c>.
/// </summary>
[StepApi]
[Adaptor("http", Description = "Calls any HTTP/REST API: all verbs, JSON/form/text bodies, basic/bearer/API-key auth, retries with backoff, paging through next links.")]
[CredentialField("baseUrl", Description = "Prepended to relative paths (\"/patients\" → baseUrl + \"/patients\"); authentication is only sent to this origin", Example = "https://example.org/api")]
[CredentialField("username", Description = "Basic authentication user (with password)", Example = "integration")]
[CredentialField("password", Description = "Basic authentication password", Secret = true)]
[CredentialField("token", Description = "Bearer token, sent as 'Authorization: Bearer …'", Secret = true)]
[CredentialField("apiKey", Description = "API key, sent in the header named by apiKeyHeader (default X-API-Key) or the query parameter named by apiKeyQuery", Secret = true)]
[CredentialField("apiKeyHeader", Description = "Header that carries apiKey (default X-API-Key)", Example = "X-API-Key")]
[CredentialField("apiKeyQuery", Description = "Query parameter that carries apiKey instead of a header", Example = "api_key")]
[CredentialField("headers", Description = "Headers sent with every request (an object)", Secret = true)]
[CredentialField("timeoutSeconds", Type = "number", Description = "Per-attempt timeout (default 30)", Example = "30")]
[CredentialField("retries", Type = "number", Description = "Retries after the first attempt on 408, 429, 5xx, timeouts and network errors (default 3; 0 disables)", Example = "3")]
[CredentialField("retryDelaySeconds", Type = "number", Description = "First backoff delay, doubled at each retry (default 1)", Example = "1")]
[CredentialField("maxRetryDelaySeconds", Type = "number", Description = "Longest wait between attempts, Retry-After included (default 30); a longer Retry-After ends the retries", Example = "30")]
public sealed class HttpAdaptor : Adaptor
{
    internal static readonly IReadOnlySet<string> PublicCredentialFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "baseUrl", "username", "apiKeyHeader", "apiKeyQuery", "timeoutSeconds", "retries", "retryDelaySeconds", "maxRetryDelaySeconds",
    };

    private static readonly string[] CommonOptions = ["query", "headers", "parseAs", "timeoutSeconds", "retries", "throwOnError"];
    private static readonly string[] BodyOptions = [.. CommonOptions, "bodyAs", "contentType", "read"];
    private static readonly string[] RequestOptions = [.. BodyOptions, "body"];
    private static readonly string[] PagingOptions = [.. CommonOptions, "items", "next", "maxPages"];

    private readonly HttpTransport _transport;

    public HttpAdaptor(AdaptorContext context) : base(context)
    {
        _transport = new HttpTransport(context, HttpSettings.FromCredential(context.AdaptorName, context.Configuration));
    }

    [Operation(OperationKind.Read, Description = "GET a path (under the credential's baseUrl) or an absolute URL. Returns { status, headers, body }. Options: query, headers, parseAs (auto|json|text), timeoutSeconds, retries, throwOnError.",
        Example = "var r = await http.Get(\"/patients\", new { query = new { page = 2 } });\nforeach (var p in r.body.items) log.Info(p.name);")]
    public Task<dynamic?> Get(string path, object? options = null) => Send("get", "GET", path, body: null, options, CommonOptions);

    [Operation(OperationKind.Write, Description = "POST a body (JSON by default; bodyAs: \"form\" or \"text\"). Returns { status, headers, body }. Pass read: true for a POST that only queries (it then runs in test mode like a read).",
        Example = "var r = await http.Post(\"/patients\", new { name = state.data.name });\nstate.data.id = r.body.id;")]
    public Task<dynamic?> Post(string path, object? body = null, object? options = null) => Send("post", "POST", path, body, options, BodyOptions);

    [Operation(OperationKind.Write, Description = "PUT a body. Returns { status, headers, body }.",
        Example = "await http.Put($\"/patients/{state.data.id}\", state.data);")]
    public Task<dynamic?> Put(string path, object? body = null, object? options = null) => Send("put", "PUT", path, body, options, BodyOptions);

    [Operation(OperationKind.Write, Description = "PATCH a body. Returns { status, headers, body }.",
        Example = "await http.Patch(\"/patients/42\", new { phone = \"+256700000000\" });")]
    public Task<dynamic?> Patch(string path, object? body = null, object? options = null) => Send("patch", "PATCH", path, body, options, BodyOptions);

    [Operation(OperationKind.Write, Description = "DELETE a path. Returns { status, headers, body }.",
        Example = "await http.Delete(\"/patients/42\");")]
    public Task<dynamic?> Delete(string path, object? options = null) => Send("delete", "DELETE", path, body: null, options, BodyOptions);

    [Operation(OperationKind.Write, Description = "Any method, with the body in options.body. GET and HEAD (and read: true) are reads; other methods are writes.",
        Example = "var r = await http.Request(\"OPTIONS\", \"/patients\");")]
    public Task<dynamic?> Request(string method, string path, object? options = null)
    {
        var m = (method ?? "").Trim().ToUpperInvariant();
        if (m.Length == 0 || !m.All(char.IsAsciiLetter))
            throw new AdaptorException(Context.AdaptorName, "request", $"{Context.AdaptorName}.request: '{method}' is not an HTTP method. Use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.");
        var o = AdaptorOptions.Read(Context.AdaptorName, "request", options, RequestOptions);
        return Send("request", m, path, o.Get("body"), o, read: m is "GET" or "HEAD" or "OPTIONS");
    }

    [Operation(OperationKind.Read, Description = "GETs every page of a paged API, following next links, and returns all items in one array. Options: items (path to the array in each page, e.g. \"data\"; default: the body when it is an array, FHIR Bundle entry), next (path to the next URL in the body, e.g. \"links.next\"; default: Link rel=\"next\" header, FHIR Bundle link[relation=next]), maxPages (default 1000; more pages is an error), plus Get's options.",
        Example = "var patients = await http.GetAll(\"/patients\", new { query = new { pageSize = 100 }, items = \"data\", next = \"links.next\" });")]
    public async Task<dynamic?> GetAll(string path, object? options = null)
    {
        const string operation = "getAll";
        var o = AdaptorOptions.Read(Context.AdaptorName, operation, options, PagingOptions);
        var call = BuildCall(operation, "GET", path, null, o);
        var items = o.String("items");
        var next = o.String("next");
        foreach (var (name, p) in new[] { ("items", items), ("next", next) })
        {
            if (p is not null && StatePath.Validate(p) is { } problem)
                throw new AdaptorException(Context.AdaptorName, operation, $"{Context.AdaptorName}.{operation}: option '{name}': {problem}");
        }
        var maxPages = o.Int("maxPages") ?? NextLinkPager.DefaultMaxPages;
        if (maxPages < 1) throw new AdaptorException(Context.AdaptorName, operation, $"{Context.AdaptorName}.{operation}: maxPages must be at least 1, found {maxPages}.");
        var request = call.ToRecord();
        if (items is not null) request.Set("items", items);
        if (next is not null) request.Set("next", next);
        var pager = new NextLinkPager(_transport, Context);
        return await ReadAsync(operation, request, async ct => await pager.GetAllAsync(operation, call, items, next, maxPages, ct));
    }

    private Task<dynamic?> Send(string operation, string method, string path, object? body, object? options, string[] known)
    {
        var o = AdaptorOptions.Read(Context.AdaptorName, operation, options, known);
        return Send(operation, method, path, body, o, read: method is "GET" or "HEAD");
    }

    private async Task<dynamic?> Send(string operation, string method, string path, object? body, AdaptorOptions o, bool read)
    {
        var call = BuildCall(operation, method, path, body, o);
        var request = call.ToRecord();
        async Task<object?> LiveAsync(CancellationToken ct) => (await _transport.SendAsync(operation, call, ct)).ToState();
        var result = read || o.Bool("read") == true
            ? await ReadAsync(operation, request, LiveAsync)
            : await WriteAsync(operation, request, LiveAsync, () => HttpReply.FromCanned(null));
        return Context.Mode == ExecutionMode.Live ? result : HttpReply.FromCanned(result);
    }

    private HttpCall BuildCall(string operation, string method, string path, object? body, AdaptorOptions o)
    {
        if (path is null)
            throw new AdaptorException(Context.AdaptorName, operation, $"{Context.AdaptorName}.{operation}: the path is null. Pass a path such as \"/patients\" or an absolute URL.");
        return new HttpCall
        {
            Method = method,
            Target = path,
            Query = o.Object("query"),
            Headers = o.Object("headers"),
            Body = Js.From(body),
            BodyAs = o.Choice("bodyAs", "json", "form", "text") ?? "json",
            ContentType = o.String("contentType"),
            ParseAs = o.Choice("parseAs", "auto", "json", "text") ?? "auto",
            Timeout = HttpSettings.Seconds(o.Number("timeoutSeconds")),
            Retries = o.Int("retries"),
            ThrowOnError = o.Bool("throwOnError") ?? true,
        };
    }
}
