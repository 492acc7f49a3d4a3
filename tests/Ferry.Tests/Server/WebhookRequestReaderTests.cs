using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Server.Webhooks;
using Ferry.Spec;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests.Server;

/// <summary>A real Kestrel on 127.0.0.1 that answers POST /hook/{trigger} with the reader's state JSON (200) or its refusal.</summary>
public sealed class WebhookReaderHost : IAsyncLifetime
{
    private WebApplication? _app;

    public static readonly Dictionary<string, (TriggerSpec Trigger, JsObject? Secrets)> Triggers = new()
    {
        ["open"] = (Trigger("open"), null),
        ["keyed"] = (Trigger("keyed", auth: "api-key"), Secrets(("api_key", "s3cret-key"))),
        ["basic"] = (Trigger("basic", auth: "basic"), Secrets(("username", "commcare"), ("password", "pa:ss"))),
        ["small"] = (Trigger("small", maxBody: 64), null),
        ["any"] = (Trigger("any", kinds: ["json", "form", "xml", "text"]), null),
        ["off"] = (Trigger("off", enabled: false, reason: "paused for the DHIS2 upgrade"), null),
        ["nokey"] = (Trigger("nokey", auth: "api-key"), Secrets(("username", "x"))),
    };

    public HttpClient Client { get; } = new();

    public Uri Url(string trigger, string query = "") => new($"{BaseUrl}/hook/{trigger}{query}");

    private string BaseUrl { get; set; } = "";

    private static TriggerSpec Trigger(string name, string auth = "none", long? maxBody = null, string[]? kinds = null, bool enabled = true, string? reason = null) => new()
    {
        Name = name,
        Type = TriggerType.Webhook,
        Auth = auth,
        Credential = auth == "none" ? null : name + "-credential",
        MaxBodyBytes = maxBody,
        ContentTypes = kinds ?? ["json"],
        Enabled = enabled,
        DisabledReason = reason,
        Location = new SourceLocation("ferry.yaml", 1, 1),
    };

    private static JsObject Secrets(params (string Key, string Value)[] values)
    {
        var o = new JsObject();
        foreach (var (k, v) in values) o[k] = v;
        return o;
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/hook/{trigger}", async (HttpContext ctx, string trigger) =>
        {
            var (spec, secrets) = Triggers[trigger];
            WebhookReadResult result;
            try { result = await WebhookRequestReader.ReadAsync(ctx, spec, secrets, ctx.RequestAborted); }
            catch (Exception e) { ctx.Response.StatusCode = 500; await ctx.Response.WriteAsync(JsonSerializer.Serialize(new { error = e.ToString() })); return; }
            if (result.Refusal is { } refusal)
            {
                await refusal.WriteAsync(ctx.Response, ctx.RequestAborted);
                return;
            }
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers["X-Body-Bytes"] = result.Input!.BodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ctx.Response.Headers["X-Body-Kind"] = result.Input.BodyKind;
            await ctx.Response.Body.WriteAsync(result.Input.StateJson, ctx.RequestAborted);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address.TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }
}

public sealed class WebhookRequestReaderTests(WebhookReaderHost host) : IClassFixture<WebhookReaderHost>
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Post(string trigger, HttpContent? content, string query = "", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, host.Url(trigger, query)) { Content = content };
        configure?.Invoke(request);
        var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    [Fact]
    public async Task Json_body_becomes_state_data_with_request_method_path_headers_and_query()
    {
        var (status, state, response) = await Post("open", Json("""{"form": {"id": 7}}"""), "?source=commcare&tag=a&tag=b",
            r => r.Headers.Add("X-Trace", "abc"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(7, state.GetProperty("data").GetProperty("form").GetProperty("id").GetInt32());
        var request = state.GetProperty("request");
        Assert.Equal("POST", request.GetProperty("method").GetString());
        Assert.Equal("/hook/open", request.GetProperty("path").GetString());
        Assert.Equal("abc", request.GetProperty("headers").GetProperty("x-trace").GetString());
        Assert.Equal("commcare", request.GetProperty("query").GetProperty("source").GetString());
        Assert.Equal(["a", "b"], request.GetProperty("query").GetProperty("tag").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("19", response.Headers.GetValues("X-Body-Bytes").Single());
    }

    [Fact]
    public async Task Auth_headers_and_cookies_are_not_kept_in_the_state()
    {
        var (status, state, _) = await Post("keyed", Json("{}"), configure: r =>
        {
            r.Headers.Add("X-API-Key", "s3cret-key");
            r.Headers.Add("Cookie", "session=xyz");
        });

        Assert.Equal(HttpStatusCode.OK, status);
        var headers = state.GetProperty("request").GetProperty("headers");
        Assert.False(headers.TryGetProperty("x-api-key", out _));
        Assert.False(headers.TryGetProperty("cookie", out _));
        Assert.DoesNotContain("s3cret-key", state.GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    [InlineData("s3cret-key-but-longer")]
    public async Task Missing_or_wrong_api_key_is_refused_with_401_naming_the_header(string? key)
    {
        var (status, problem, response) = await Post("keyed", Json("{}"), configure: r =>
        {
            if (key is not null) r.Headers.Add("X-API-Key", key);
        });

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Equal("X-API-Key", problem.GetProperty("field").GetString());
        Assert.Contains("keyed-credential", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_auth_accepts_the_right_pair_with_a_colon_in_the_password()
    {
        var (status, _, _) = await Post("basic", Json("{}"), configure: r =>
            r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("commcare:pa:ss"))));

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Theory]
    [InlineData("commcare:wrong")]
    [InlineData("other:pa:ss")]
    [InlineData(null)]
    public async Task Wrong_or_missing_basic_credentials_get_401_with_www_authenticate(string? pair)
    {
        var (status, problem, response) = await Post("basic", Json("{}"), configure: r =>
        {
            if (pair is not null) r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        });

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Authorization", problem.GetProperty("field").GetString());
        Assert.StartsWith("Basic realm=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_over_the_declared_limit_is_refused_with_413()
    {
        var (status, problem, _) = await Post("small", Json(new string('x', 100).Insert(0, "\"") + "\""));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("body", problem.GetProperty("field").GetString());
        Assert.Contains("at most 64 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunked_body_without_content_length_is_still_capped_with_413()
    {
        var body = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("1", 200)) + "]")));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, host.Url("small")) { Content = body };
        request.Headers.TransferEncodingChunked = true;

        var response = await host.Client.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Content_type_the_trigger_does_not_accept_gets_415_listing_what_it_accepts()
    {
        var (status, problem, _) = await Post("open", new StringContent("<a/>", Encoding.UTF8, "application/xml"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("Content-Type", problem.GetProperty("field").GetString());
        Assert.Contains("application/json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_gets_400_with_the_parser_line_and_position()
    {
        var (status, problem, _) = await Post("open", Json("{\n  \"a\": 1,\n  \"b\": tru\n}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("body", problem.GetProperty("field").GetString());
        Assert.Contains("line 3, position", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_json_body_is_malformed()
    {
        var (status, problem, _) = await Post("open", Json(""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("body is empty", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Form_body_becomes_an_object_and_repeated_fields_an_array()
    {
        var (status, state, response) = await Post("any", new FormUrlEncodedContent([new("name", "Amina Nakato"), new("visit", "1"), new("visit", "2")]));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("form", response.Headers.GetValues("X-Body-Kind").Single());
        Assert.Equal("Amina Nakato", state.GetProperty("data").GetProperty("name").GetString());
        Assert.Equal(2, state.GetProperty("data").GetProperty("visit").GetArrayLength());
    }

    [Fact]
    public async Task Malformed_form_gets_400()
    {
        var (status, problem, _) = await Post("any", new StringContent("a=%zz", Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("percent-escape", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xml_and_text_bodies_become_strings()
    {
        var (xmlStatus, xmlState, _) = await Post("any", new StringContent("<case id=\"1\"/>", Encoding.UTF8, "text/xml"));
        var (textStatus, textState, _) = await Post("any", new StringContent("hello, Kampala", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.OK, xmlStatus);
        Assert.Equal("<case id=\"1\"/>", xmlState.GetProperty("data").GetString());
        Assert.Equal(HttpStatusCode.OK, textStatus);
        Assert.Equal("hello, Kampala", textState.GetProperty("data").GetString());
    }

    [Fact]
    public async Task Malformed_xml_gets_400_with_line_and_position()
    {
        var (status, problem, _) = await Post("any", new StringContent("<case>\n<open></case>", Encoding.UTF8, "application/xml"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("line 2, position", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabled_trigger_gets_503_with_its_reason()
    {
        var (status, problem, _) = await Post("off", Json("{}"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("trigger", problem.GetProperty("field").GetString());
        Assert.Contains("paused for the DHIS2 upgrade", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credential_without_api_key_is_a_503_that_says_what_to_set()
    {
        var (status, problem, _) = await Post("nokey", Json("{}"), configure: r => r.Headers.Add("X-API-Key", "anything"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("has no api_key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_comparison_is_exact()
    {
        Assert.True(WebhookRequestReader.SecretEquals("abc", "abc"));
        Assert.False(WebhookRequestReader.SecretEquals("abc", "abd"));
        Assert.False(WebhookRequestReader.SecretEquals("abc", "abcd"));
        Assert.False(WebhookRequestReader.SecretEquals("", "abc"));
    }
}
