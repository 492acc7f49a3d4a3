using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ferry.Storage;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Microsoft.AspNetCore.Http;

namespace Ferry.Tests.ServingApi;

/// <summary>Dry runs in test mode, and the project summary and workflow list, through the real server (SQLite).</summary>
public sealed class DryRunAndProjectApiTests : IAsyncLifetime, IDisposable
{
    private const string Secret = "Dry-Run-Secret-9731";
    private readonly ProjectFolders _projects = new();
    private LoopbackHttpServer _target = null!;

    public async Task InitializeAsync()
    {
        _target = await LoopbackHttpServer.StartAsync();
        _target.Map("GET", "/items", (ctx, _) => ctx.Response.WriteAsJsonAsync(new { count = 3 }));
        _target.Map("POST", "/items", (ctx, _) => ctx.Response.WriteAsJsonAsync(new { id = 1 }));
    }

    public Task DisposeAsync() => _target.DisposeAsync().AsTask();

    public void Dispose() => _projects.Dispose();

    private string Syncing() => _projects.Write("dry", "credentials:\n  api: { adaptor: http }\n", """
          sync:
            triggers:
              hook: { type: webhook }
              custom: { type: webhook, path: /partners/dry, reply: after_completion, reply_timeout: 5s }
              nightly: { type: cron, cron: "0 23 * * *", timezone: Africa/Kampala }
            steps:
              fetch:
                adaptor: http
                credential: api
                code: |
                  var r = await http.Get("/items");
                  state.data.count = r.body.count;
                  cursor.Set("seen-" + r.body.count);
                next: { push: on_success }
              push:
                adaptor: http
                credential: api
                code: |
                  log.Info("pushing with " + state.configuration.token);
                  await http.Post("/items", new { name = state.data.name, key = state.configuration.token });
          other:
            triggers:
              manual: { type: manual }
            steps:
              only:
                code: state.data.ok = true;
        """);

    private async Task<RunningServer> StartWithProjectAsync()
    {
        var server = await RunningServer.StartAsync();
        await server.DeployAsync(Syncing());
        using var put = await server.Api.PutAsync("/api/projects/dry/credentials/api",
            new StringContent($$"""{"baseUrl":"{{_target.BaseUrl}}","token":"{{Secret}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        return server;
    }

    private static Task<HttpResponseMessage> DryRunAsync(RunningServer server, string body, string workflow = "sync") =>
        server.Api.PostAsync($"/api/projects/dry/workflows/{workflow}/dry-run", new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task A_dry_run_reads_live_records_writes_without_sending_them_and_stores_nothing()
    {
        await using var server = await StartWithProjectAsync();

        using var response = await DryRunAsync(server, """{"input": {"data": {"name": "Amina"}}}""");

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(Secret, text);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal(3, body.GetProperty("state").GetProperty("data").GetProperty("count").GetInt32());
        Assert.Equal(["fetch", "push"], body.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        var write = Assert.Single(body.GetProperty("writes").EnumerateArray());
        Assert.Equal(("push", "http", "post"), (write.GetProperty("step").GetString(), write.GetProperty("adaptor").GetString(), write.GetProperty("operation").GetString()));
        Assert.Contains("Amina", write.GetProperty("request").GetRawText());
        Assert.Contains("***", write.GetProperty("request").GetRawText());
        Assert.Contains(body.GetProperty("log").EnumerateArray(), l => l.GetProperty("message").GetString() == "pushing with ***");
        Assert.True(body.GetProperty("cursor").GetProperty("changed").GetBoolean());
        Assert.Equal("seen-3", body.GetProperty("cursor").GetProperty("value").GetString());

        // Reads went out, the write did not; nothing reached the store and the cursor did not move.
        Assert.Equal(["GET /items"], _target.Requests.Select(r => $"{r.Method} {r.Path}"));
        await using var store = await FerryStore.OpenAsync(FerryStore.Sqlite(server.DataDirectory));
        Assert.Equal(0, await store.CountRunsAsync());
        Assert.Null(await store.GetCursorAsync("dry", "sync"));
    }

    [Fact]
    public async Task A_dry_run_with_only_runs_that_step_on_the_given_input()
    {
        await using var server = await StartWithProjectAsync();

        using var response = await DryRunAsync(server, """{"input": {"data": {"name": "Baraka"}}, "only": "push", "version": 1}""");

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["push"], body.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        Assert.Empty(_target.Requests);
    }

    [Theory]
    [InlineData("""{"input": [1, 2]}""", "sync", 400, "input", "must be a JSON object")]
    [InlineData("""{"input": {}, "strat": "push"}""", "sync", 400, "strat", "Did you mean 'start'?")]
    [InlineData("""{"start": "pussh"}""", "sync", 400, "start", "Did you mean 'push'?")]
    [InlineData("""{"start": "push", "only": "push"}""", "sync", 400, "only", "not both")]
    [InlineData("""{"version": "one"}""", "sync", 400, "version", "version number")]
    [InlineData("""{"version": 4}""", "sync", 404, "version", "has no version 4")]
    [InlineData("""{"input": """, "sync", 400, "body", "not valid JSON")]
    [InlineData("""[]""", "sync", 400, "body", "must be a JSON object")]
    [InlineData("""{}""", "synk", 404, "workflow", "Did you mean 'sync'?")]
    public async Task Bad_dry_run_requests_are_refused_naming_the_field(string body, string workflow, int status, string field, string detail)
    {
        await using var server = await StartWithProjectAsync();

        using var response = await DryRunAsync(server, body, workflow);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Empty(_target.Requests);
    }

    [Fact]
    public async Task The_project_summary_shows_the_current_version_workflows_triggers_and_intake_urls()
    {
        await using var server = await StartWithProjectAsync();

        var project = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/dry");
        var workflows = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/dry/workflows");
        using var unknown = await server.Api.GetAsync("/api/projects/wet");

        Assert.Equal("dry", project.GetProperty("name").GetString());
        Assert.Equal(1, project.GetProperty("currentVersion").GetInt32());
        Assert.True(project.GetProperty("enabled").GetBoolean());
        var credential = Assert.Single(project.GetProperty("credentials").EnumerateArray());
        Assert.True(credential.GetProperty("configured").GetBoolean());
        var sync = project.GetProperty("workflows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "sync");
        var triggers = sync.GetProperty("triggers").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        var origin = server.Client.BaseAddress!.ToString().TrimEnd('/');
        Assert.Equal($"{origin}/i/dry/sync/hook", triggers["hook"].GetProperty("url").GetString());
        Assert.Equal($"{origin}/partners/dry", triggers["custom"].GetProperty("url").GetString());
        Assert.Equal("after_completion", triggers["custom"].GetProperty("reply").GetString());
        Assert.Equal(5, triggers["custom"].GetProperty("replyTimeoutSeconds").GetDouble());
        Assert.Equal("0 23 * * *", triggers["nightly"].GetProperty("cron").GetString());
        Assert.Equal("Africa/Kampala", triggers["nightly"].GetProperty("timezone").GetString());
        Assert.Equal(JsonValueKind.Null, triggers["nightly"].GetProperty("url").ValueKind);
        Assert.Equal(["sync", "other"], workflows.EnumerateArray().Select(w => w.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("project", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());

        // The URLs the summary gives are the ones that work.
        using var viaSummary = await server.Client.PostAsJsonAsync(triggers["hook"].GetProperty("url").GetString(), new { name = "x" });
        Assert.Equal(HttpStatusCode.Accepted, viaSummary.StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_new_endpoints()
    {
        await using var server = await RunningServer.StartAsync();

        var paths = (await server.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json")).GetProperty("paths");

        foreach (var path in new[]
        {
            "/api/projects/{project}", "/api/projects/{project}/workflows", "/api/projects/{project}/workflows/{workflow}/dry-run",
            "/api/projects/{project}/versions/{from}/diff/{to}", "/api/projects/{project}/versions/{from}/diff", "/api/projects/{project}/versions/{version}/restore",
        })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from /openapi/v1.json");
        }
    }
}
