using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ferry.Adaptors;
using Ferry.Adaptors.Http;
using Ferry.Json;
using Ferry.Testing;
using Ferry.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Ferry.Tests.Adaptors;

public sealed class HttpAdaptorTests : IAsyncLifetime
{
    private static readonly string[] Tags = ["x", "y"];
    private LoopbackHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await LoopbackHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpAdaptor Http(object? extra = null, ExecutionMode mode = ExecutionMode.Live, TestModeRecorder? recorder = null) =>
        new(Harness(extra, mode, recorder).Context);

    private AdaptorHarness Harness(object? extra = null, ExecutionMode mode = ExecutionMode.Live, TestModeRecorder? recorder = null, bool scrub = true)
    {
        var credential = new JsObject();
        credential.Set("baseUrl", _server.BaseUrl + "api");
        credential.Set("retryDelaySeconds", 0.01);
        if (Js.From(extra) is JsObject e)
            foreach (var (k, v) in e) credential.Set(k, v);
        return new AdaptorHarness("http", credential, mode, recorder, scrub);
    }

    [Fact]
    public async Task Get_sends_query_and_headers_and_returns_status_headers_and_parsed_body()
    {
        _server.Map("GET", "/api/patients", ctx =>
        {
            ctx.Response.Headers["X-Total"] = "2";
            return LoopbackHttpServer.Json(ctx, """{"items":[{"name":"Ana"},{"name":"Ben"}]}""");
        });
        dynamic r = (await Http().Get("/patients", new { query = new { page = 2, q = "a b&c", tag = Tags, skip = (string?)null }, headers = new { X_Trace = "t1" } }))!;

        Assert.Equal(200, (int)r.status);
        Assert.Equal("2", (string)r.headers["x-total"]);
        Assert.Equal("Ben", (string)r.body.items[1].name);
        var seen = Assert.Single(_server.Requests);
        Assert.Equal("?page=2&q=a%20b%26c&tag=x&tag=y", seen.Query);
        Assert.Equal("t1", seen.Header("X_Trace"));
        Assert.Contains("application/json", seen.Header("Accept"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    public async Task Write_verbs_send_a_json_body(string method)
    {
        _server.Map(method, "/api/patients/1", async ctx => await LoopbackHttpServer.Json(ctx, """{"ok":true}""", 201));
        var http = Http();
        var body = new { name = "Ana", tags = new[] { 1, 2 } };
        dynamic r = method switch
        {
            "POST" => (await http.Post("/patients/1", body))!,
            "PUT" => (await http.Put("/patients/1", body))!,
            _ => (await http.Patch("/patients/1", body))!,
        };
        Assert.Equal(201, (int)r.status);
        Assert.True((bool)r.body.ok);
        var seen = Assert.Single(_server.Requests);
        Assert.Equal(method, seen.Method);
        Assert.Equal("""{"name":"Ana","tags":[1,2]}""", seen.Body);
        Assert.StartsWith("application/json", seen.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_and_generic_request_use_their_method()
    {
        _server.Map("DELETE", "/api/patients/1", ctx => { ctx.Response.StatusCode = 204; return Task.CompletedTask; });
        _server.Map("OPTIONS", "/api/patients", ctx => { ctx.Response.Headers.Allow = "GET, POST"; return Task.CompletedTask; });
        dynamic deleted = (await Http().Delete("/patients/1"))!;
        dynamic options = (await Http().Request("options", "/patients"))!;
        Assert.Equal(204, (int)deleted.status);
        Assert.Null(deleted.body);
        Assert.Equal("GET, POST", (string)options.headers.allow);
        Assert.Equal(["DELETE", "OPTIONS"], _server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task Form_and_text_bodies_are_encoded_with_their_content_type()
    {
        _server.Map("POST", "/api/form", ctx => Task.CompletedTask);
        _server.Map("POST", "/api/text", ctx => Task.CompletedTask);
        await Http().Post("/form", new { name = "Ana Maria", code = "a&b" }, new { bodyAs = "form" });
        await Http().Post("/text", "line one\nline two", new { bodyAs = "text" });

        var form = _server.Requests[0];
        Assert.Equal("application/x-www-form-urlencoded", form.ContentType);
        Assert.Equal("name=Ana+Maria&code=a%26b", form.Body);
        var text = _server.Requests[1];
        Assert.Equal("text/plain; charset=utf-8", text.ContentType);
        Assert.Equal("line one\nline two", text.Body);
    }

    [Fact]
    public async Task Text_responses_stay_text_unless_parseAs_json()
    {
        _server.Map("GET", "/api/plain", async ctx => { ctx.Response.ContentType = "text/plain"; await ctx.Response.WriteAsync("""{"a":1}"""); });
        dynamic auto = (await Http().Get("/plain"))!;
        dynamic json = (await Http().Get("/plain", new { parseAs = "json" }))!;
        Assert.Equal("""{"a":1}""", (string)auto.body);
        Assert.Equal(1, (int)json.body.a);
    }

    [Fact]
    public async Task Basic_auth_comes_from_username_and_password()
    {
        _server.Map("GET", "/api/me", ctx => Task.CompletedTask);
        await Http(new { username = "ana", password = "s3cret-pass" }).Get("/me");
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ana:s3cret-pass"));
        Assert.Equal(expected, _server.Requests[0].Header("Authorization"));
    }

    [Fact]
    public async Task Bearer_auth_comes_from_token()
    {
        _server.Map("GET", "/api/me", ctx => Task.CompletedTask);
        await Http(new { token = "tok-123456" }).Get("/me");
        Assert.Equal("Bearer tok-123456", _server.Requests[0].Header("Authorization"));
    }

    [Fact]
    public async Task Api_key_goes_in_a_header_or_a_query_parameter()
    {
        _server.Map("GET", "/api/me", ctx => Task.CompletedTask);
        await Http(new { apiKey = "key-default" }).Get("/me");
        await Http(new { apiKey = "key-custom", apiKeyHeader = "X-Auth" }).Get("/me");
        await Http(new { apiKey = "key-query", apiKeyQuery = "api_key" }).Get("/me", new { query = new { a = 1 } });

        Assert.Equal("key-default", _server.Requests[0].Header("X-API-Key"));
        Assert.Equal("key-custom", _server.Requests[1].Header("X-Auth"));
        Assert.Null(_server.Requests[1].Header("X-API-Key"));
        Assert.Equal("?a=1&api_key=key-query", _server.Requests[2].Query);
        Assert.Null(_server.Requests[2].Header("Authorization"));
    }

    [Fact]
    public async Task Credentials_are_not_sent_to_another_origin()
    {
        await using var other = await LoopbackHttpServer.StartAsync();
        other.Map("GET", "/elsewhere", ctx => Task.CompletedTask);
        _server.Map("GET", "/api/here", ctx => Task.CompletedTask);
        var http = Http(new { token = "tok-123456" });
        await http.Get(other.BaseUrl + "elsewhere");
        await http.Get(_server.BaseUrl + "api/here");
        Assert.Null(other.Requests[0].Header("Authorization"));
        Assert.Equal("Bearer tok-123456", _server.Requests[0].Header("Authorization"));
    }

    [Fact]
    public async Task Too_many_requests_with_retry_after_seconds_is_retried_after_that_delay()
    {
        _server.Map("GET", "/api/busy", async (ctx, call) =>
        {
            if (call == 1)
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = "1";
                return;
            }
            await LoopbackHttpServer.Json(ctx, """{"ok":true}""");
        });
        var watch = Stopwatch.StartNew();
        dynamic r = (await Http().Get("/busy"))!;
        Assert.True((bool)r.body.ok);
        Assert.Equal(2, _server.CallsTo("GET", "/api/busy"));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"waited only {watch.Elapsed}");
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_honoured()
    {
        _server.Map("GET", "/api/busy", async (ctx, call) =>
        {
            if (call == 1)
            {
                ctx.Response.StatusCode = 503;
                ctx.Response.Headers.RetryAfter = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
                return;
            }
            await LoopbackHttpServer.Json(ctx, "[]");
        });
        var watch = Stopwatch.StartNew();
        await Http().Get("/busy");
        Assert.Equal(2, _server.CallsTo("GET", "/api/busy"));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"waited only {watch.Elapsed}");
    }

    [Fact]
    public async Task Service_unavailable_then_success_is_retried_with_backoff_and_logged()
    {
        _server.Map("GET", "/api/flaky", async (ctx, call) =>
        {
            if (call < 3) { ctx.Response.StatusCode = 503; return; }
            await LoopbackHttpServer.Json(ctx, """{"n":3}""");
        });
        var h = Harness();
        dynamic r = (await new HttpAdaptor(h.Context).Get("/flaky"))!;
        Assert.Equal(3, (int)r.body.n);
        Assert.Equal(2, h.Log.Entries.Count(e => e.Message.Contains("status 503", StringComparison.Ordinal) && e.Message.Contains("retry", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Exhausted_retries_raise_an_error_with_method_url_status_attempts_and_body()
    {
        _server.Map("POST", "/api/cases", ctx => LoopbackHttpServer.Json(ctx, """{"error":"database is down"}""", 500));
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => Http(new { retries = 2 }).Post("/cases", new { id = 1 }));
        Assert.Equal(3, _server.CallsTo("POST", "/api/cases"));
        Assert.Equal(500, e.Status);
        Assert.Equal(3, e.Attempts);
        Assert.Contains($"POST {_server.BaseUrl}api/cases failed with 500", e.Message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", e.Message, StringComparison.Ordinal);
        Assert.Contains("database is down", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_errors_are_not_retried_and_say_what_to_check()
    {
        _server.Map("GET", "/api/secret", ctx => { ctx.Response.StatusCode = 401; return Task.CompletedTask; });
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => Http().Get("/secret"));
        Assert.Equal(1, _server.CallsTo("GET", "/api/secret"));
        Assert.Contains("Check the credential", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_body_excerpt_is_cut_at_500_characters()
    {
        var big = new string('x', 5000);
        _server.Map("GET", "/api/big", async ctx => { ctx.Response.StatusCode = 400; await ctx.Response.WriteAsync(big); });
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => Http().Get("/big"));
        Assert.Equal(500, e.BodyExcerpt.Length);
        Assert.EndsWith("...", e.BodyExcerpt, StringComparison.Ordinal);
        Assert.True(e.Message.Length < 1000, e.Message);
    }

    [Fact]
    public async Task Slow_response_past_the_timeout_raises_a_timeout_error()
    {
        _server.Map("GET", "/api/slow", async ctx =>
        {
            try { await Task.Delay(10_000, ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
        });
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => Http(new { retries = 1 }).Get("/slow", new { timeoutSeconds = 0.3 }));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Null(e.Status);
        Assert.Equal(2, e.Attempts);
        Assert.Contains("timed out after 0.3 s after 2 attempts", e.Message, StringComparison.Ordinal);
        Assert.Contains("timeoutSeconds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_server_raises_a_clear_error()
    {
        var port = _server.BaseUrl.Port;
        await _server.DisposeAsync();
        var credential = new { baseUrl = $"http://127.0.0.1:{port}", retries = 0 };
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => new HttpAdaptor(new AdaptorHarness("http", credential).Context).Get("/x"));
        Assert.Contains("could not reach the server", e.Message, StringComparison.Ordinal);
        _server = await LoopbackHttpServer.StartAsync();
    }

    [Fact]
    public async Task Secrets_never_appear_in_error_messages_or_logs()
    {
        // The server echoes the query string, which carries the API key, in its error body.
        _server.Map("GET", "/api/echo", async ctx => { ctx.Response.StatusCode = 502; await ctx.Response.WriteAsync("bad gateway for " + ctx.Request.QueryString); });
        var h = Harness(new { apiKey = "very-secret-key", apiKeyQuery = "key", retries = 1 }, scrub: false);
        var e = await Assert.ThrowsAsync<HttpAdaptorException>(() => new HttpAdaptor(h.Context).Get("/echo"));
        Assert.Contains("very-secret-key", _server.Requests[0].Query, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-key", e.Url, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-key", e.BodyExcerpt, StringComparison.Ordinal);
        Assert.Contains("key=***", e.Message, StringComparison.Ordinal);
        Assert.NotEmpty(h.Log.Entries);
        Assert.All(h.Log.Entries, l => Assert.DoesNotContain("very-secret-key", l.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ThrowOnError_false_returns_the_error_status_as_a_value()
    {
        _server.Map("GET", "/api/missing", ctx => LoopbackHttpServer.Json(ctx, """{"error":"no such patient"}""", 404));
        dynamic r = (await Http().Get("/missing", new { throwOnError = false }))!;
        Assert.Equal(404, (int)r.status);
        Assert.Equal("no such patient", (string)r.body.error);
    }

    [Fact]
    public async Task Unknown_option_is_reported_with_did_you_mean()
    {
        var e = await Assert.ThrowsAsync<AdaptorException>(() => Http().Get("/x", new { querys = new { a = 1 } }));
        Assert.Contains("unknown option 'querys'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'query'?", e.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Relative_path_without_base_url_says_to_add_one()
    {
        var http = new HttpAdaptor(new AdaptorHarness("http", new { token = "tok-123456" }).Context);
        var e = await Assert.ThrowsAsync<AdaptorException>(() => http.Get("/patients"));
        Assert.Contains("has no baseUrl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAll_follows_a_next_link_in_the_body_across_three_pages()
    {
        _server.Map("GET", "/api/p", async ctx =>
        {
            var n = int.Parse(ctx.Request.Query["page"].FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
            var link = n < 3 ? $"\"{_server.BaseUrl}api/p?page={n + 1}\"" : "null";
            await LoopbackHttpServer.Json(ctx, $$$"""{"data":[{"id":{{{(n * 10) + 1}}}},{"id":{{{(n * 10) + 2}}}}],"links":{"next":{{{link}}}}}""");
        });
        dynamic all = (await Http(new { token = "tok-123456" }).GetAll("/p", new { items = "data", next = "links.next" }))!;
        Assert.Equal(6, (int)all.Length);
        Assert.Equal(32, (int)all[5].id);
        Assert.Equal(3, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("Bearer tok-123456", r.Header("Authorization")));
    }

    [Fact]
    public async Task GetAll_follows_link_headers_with_relative_urls()
    {
        _server.Map("GET", "/api/items", async ctx =>
        {
            var n = int.Parse(ctx.Request.Query["page"].FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
            if (n < 3) ctx.Response.Headers.Link = $"</api/items?page={n + 1}>; rel=\"next\", </api/items?page=3>; rel=\"last\"";
            await LoopbackHttpServer.Json(ctx, $"[{n}]");
        });
        dynamic all = (await Http().GetAll("/items"))!;
        Assert.Equal("[1,2,3]", Js.ToJson(all));
    }

    [Fact]
    public async Task GetAll_follows_fhir_bundle_next_links()
    {
        _server.Map("GET", "/api/Patient", async ctx =>
        {
            var n = int.Parse(ctx.Request.Query["_page"].FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
            var next = n < 3 ? $$""",{"relation":"next","url":"{{_server.BaseUrl}}api/Patient?_page={{n + 1}}"}""" : "";
            await LoopbackHttpServer.Json(ctx,
                $$$"""{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"x"}{{{next}}}],"entry":[{"resource":{"resourceType":"Patient","id":"p{{{n}}}"}}]}""");
        });
        dynamic all = (await Http().GetAll("/Patient"))!;
        Assert.Equal(3, (int)all.Length);
        Assert.Equal("p3", (string)all[2].resource.id);
    }

    [Fact]
    public async Task GetAll_refuses_to_silently_truncate_at_maxPages()
    {
        _server.Map("GET", "/api/endless", async ctx =>
        {
            var n = int.Parse(ctx.Request.Query["page"].FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
            ctx.Response.Headers.Link = $"<?page={n + 1}>; rel=\"next\"";
            await LoopbackHttpServer.Json(ctx, "[1]");
        });
        var e = await Assert.ThrowsAsync<AdaptorException>(() => Http().GetAll("/endless", new { maxPages = 4 }));
        Assert.Contains("maxPages = 4", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, _server.CallsTo("GET", "/api/endless"));
    }

    [Fact]
    public async Task GetAll_on_an_object_body_says_which_items_option_to_use()
    {
        _server.MapJson("GET", "/api/obj", """{"total":2,"results":[1,2]}""");
        var e = await Assert.ThrowsAsync<AdaptorException>(() => Http().GetAll("/obj"));
        Assert.Contains("items: \"results\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_mode_serves_canned_reads_and_records_writes_without_calling_the_server()
    {
        var recorder = new TestModeRecorder([
            new CannedResponse("http", "get", null, Js.Parse("""{"path":"/patients"}"""), Js.Parse("""{"items":[{"id":7}]}""")),
            new CannedResponse("http", "getAll", null, null, Js.Parse("""[{"id":1},{"id":2}]""")),
        ]);
        var http = Http(mode: ExecutionMode.Test, recorder: recorder);

        dynamic r = (await http.Get("/patients", new { query = new { page = 1 } }))!;
        dynamic all = (await http.GetAll("/patients", new { items = "data" }))!;
        dynamic posted = (await http.Post("/patients", new { name = "Ana" }))!;

        Assert.Equal(200, (int)r.status);
        Assert.Equal(7, (int)r.body.items[0].id);
        Assert.Equal(2, (int)all.Length);
        Assert.Equal(200, (int)posted.status);
        var write = Assert.Single(recorder.Writes);
        Assert.Equal("post", write.Operation);
        Assert.Equal("""{"method":"POST","path":"/patients","body":{"name":"Ana"}}""", Js.ToJson(write.Request));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Test_mode_read_without_a_canned_response_says_what_to_add()
    {
        var http = Http(mode: ExecutionMode.Test);
        var e = await Assert.ThrowsAsync<CannedResponseMissingException>(() => http.Get("/nothing"));
        Assert.Contains("adaptor: http, operation: get", e.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Dry_run_reads_live_and_records_writes_without_performing_them()
    {
        _server.MapJson("GET", "/api/patients", """[{"id":1}]""");
        _server.MapJson("POST", "/api/search", """[{"id":2}]""");
        _server.Map("POST", "/api/patients", ctx => Task.CompletedTask);
        _server.Map("DELETE", "/api/patients/1", ctx => Task.CompletedTask);
        var h = Harness(mode: ExecutionMode.DryRun);
        var http = new HttpAdaptor(h.Context);

        dynamic read = (await http.Get("/patients"))!;
        dynamic search = (await http.Post("/search", new { q = "x" }, new { read = true }))!;
        await http.Post("/patients", new { name = "Ana" });
        await http.Delete("/patients/1");

        Assert.Equal(1, (int)read.body[0].id);
        Assert.Equal(2, (int)search.body[0].id);
        Assert.Equal(["GET /api/patients", "POST /api/search"], _server.Requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.Equal(["post", "delete"], h.Recorder!.Writes.Select(w => w.Operation));
        Assert.Contains(h.Log.Entries, e => e.Message.StartsWith("[dryrun] http.post not performed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"token":"tok-123456","username":"u","password":"p"}""", "more than one kind of authentication")]
    [InlineData("""{"username":"ana"}""", "a username but no password")]
    [InlineData("""{"baseUrl":"ftp://files"}""", "is not an absolute http(s) URL")]
    public void Inconsistent_credential_is_refused_when_the_adaptor_is_created(string credential, string expected)
    {
        var catalog = new AdaptorCatalog([typeof(HttpAdaptor).Assembly]);
        Assert.True(catalog.TryGet("http", out var d));
        var context = new AdaptorHarness("http", Js.Parse(credential)!).Context;
        var e = Assert.Throws<AdaptorException>(() => d.Create(context));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adaptor_is_described_by_its_attributes_for_docs_and_credential_checks()
    {
        var catalog = new AdaptorCatalog([typeof(HttpAdaptor).Assembly]);
        Assert.True(catalog.TryGet("http", out var d));
        Assert.Contains(d.Operations, o => o.Name == "getAll" && o.Attribute.Kind == OperationKind.Read);
        Assert.Contains("password", d.CredentialFields.Where(f => f.Secret).Select(f => f.Name));
        Assert.DoesNotContain("baseUrl", d.CredentialFields.Where(f => f.Secret).Select(f => f.Name));
    }
}
