using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Microsoft.AspNetCore.Http;

namespace Ferry.Tests.ServingApi;

/// <summary>Webhook reply modes and custom paths through the real server, on SQLite and PostgreSQL.</summary>
public abstract class IntakeReplyAndPathTests : IDisposable
{
    private readonly ProjectFolders _projects = new();

    protected abstract Task<RunningServer> StartAsync(Action<Ferry.Server.ServerOptions>? configure = null);

    public void Dispose()
    {
        _projects.Dispose();
        GC.SuppressFinalize(this);
    }

    protected string Project(string name, string workflowYaml) => _projects.Write(name, "", workflowYaml);

    private string Replying(string trigger, string code) => Project("replying", $$"""
          answer:
            triggers:
              hook: { type: webhook, {{trigger}} }
            steps:
              work:
                code: |
                  {{code}}
        """);

    [Fact]
    public async Task After_completion_answers_200_with_the_final_state_data()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Replying("reply: after_completion", "state.data.greeting = \"hello \" + state.data.name;"));

        using var response = await server.Client.PostAsJsonAsync("/i/replying/answer/hook", new { name = "Amina", id = 42 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("hello Amina", body.GetProperty("greeting").GetString());
        Assert.Equal(42, body.GetProperty("id").GetInt32());
        var runId = Guid.Parse(response.Headers.GetValues("Ferry-Run-Id").Single());
        var run = await server.WaitForRunAsync(runId);
        Assert.Equal("success", run.GetProperty("run").GetProperty("status").GetString());
    }

    [Fact]
    public async Task After_completion_of_a_failed_run_answers_502_with_the_ids_and_the_error()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Replying("reply: after_completion", "throw new InvalidOperationException(\"household 42 is unknown\");"));

        using var response = await server.Client.PostAsJsonAsync("/i/replying/answer/hook", new { id = 42 });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("failed", problem.GetProperty("runStatus").GetString());
        Assert.Contains("household 42 is unknown", problem.GetProperty("error").GetString());
        Assert.Contains("/retry", problem.GetProperty("detail").GetString());
        var run = await server.WaitForRunAsync(problem.GetProperty("runId").GetGuid());
        Assert.Equal(problem.GetProperty("workOrderId").GetGuid(), run.GetProperty("run").GetProperty("workOrderId").GetGuid());
        Assert.Equal("failed", run.GetProperty("run").GetProperty("status").GetString());
    }

    [Fact]
    public async Task After_completion_falls_back_to_202_when_the_reply_timeout_passes_and_the_run_still_completes()
    {
        await using var slow = await LoopbackHttpServer.StartAsync();
        slow.Map("GET", "/slow", async (ctx, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(8));
            await ctx.Response.WriteAsJsonAsync(new { done = true });
        });
        await using var server = await StartAsync();
        await server.DeployAsync(Project("slowpoke", $$"""
              answer:
                triggers:
                  hook: { type: webhook, reply: after_completion, reply_timeout: 1s }
                steps:
                  wait:
                    adaptor: http
                    code: |
                      var r = await http.Get("{{slow.BaseUrl}}slow");
                      state.data = r.body;
            """));

        var clock = Stopwatch.StartNew();
        using var response = await server.Client.PostAsJsonAsync("/i/slowpoke/answer/hook", new { });
        var waited = clock.Elapsed;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // Answered at the 1 s reply timeout, well before the 8 s run ends (the margin absorbs a loaded CI machine).
        Assert.InRange(waited, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(6));
        var ids = await response.Content.ReadFromJsonAsync<JsonElement>();
        var run = await server.WaitForRunAsync(ids.GetProperty("runId").GetGuid());
        Assert.Equal("success", run.GetProperty("run").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Before_start_answers_202_without_waiting_for_the_run()
    {
        await using var server = await StartAsync(o => o.Workers = 0);
        await server.DeployAsync(Replying("reply: before_start", "state.data.seen = true;"));

        using var response = await server.Client.PostAsJsonAsync("/i/replying/answer/hook", new { });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("runId", out _));
    }

    private string KoboProject(string name, string path, string reply = "before_start") => Project(name, $$"""
          households:
            triggers:
              kobo: { type: webhook, path: {{path}}, reply: {{reply}} }
            steps:
              take:
                code: state.data.project = "{{name}}";
        """);

    [Fact]
    public async Task A_custom_path_receives_webhooks_and_the_default_url_points_to_it()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(KoboProject("kobo-sync", "/kobo/households", reply: "after_completion"));

        using var custom = await server.Client.PostAsJsonAsync("/kobo/households", new { household = "H-1" });
        using var variant = await server.Client.PostAsJsonAsync("/KOBO/households/", new { household = "H-2" });
        using var byDefaultUrl = await server.Client.PostAsJsonAsync("/i/kobo-sync/households/kobo", new { household = "H-3" });

        Assert.Equal(HttpStatusCode.OK, custom.StatusCode);
        var data = await custom.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("H-1", data.GetProperty("household").GetString());
        Assert.Equal("kobo-sync", data.GetProperty("project").GetString());
        Assert.Equal(HttpStatusCode.OK, variant.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, byDefaultUrl.StatusCode);
        var problem = await byDefaultUrl.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("POST /kobo/households", problem.GetProperty("detail").GetString());
        Assert.Equal("trigger", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_unknown_custom_path_is_404_and_api_routes_are_not_taken_for_webhooks()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(KoboProject("kobo-sync", "/kobo/households"));

        using var unknown = await server.Client.PostAsJsonAsync("/kobo/members", new { });
        using var deploy = await server.Api.PostAsync("/api/projects/kobo-sync/versions", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var problem = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("path", problem.GetProperty("field").GetString());
        Assert.Contains("POST /kobo/members", problem.GetProperty("detail").GetString());
        Assert.NotEqual(HttpStatusCode.NotFound, deploy.StatusCode); // the deploy endpoint answered (a 4xx about the bundle)
    }

    [Fact]
    public async Task A_deploy_claiming_a_path_another_project_serves_is_refused_409_naming_both()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(KoboProject("first", "/shared/hook"));

        var second = KoboProject("second", "/Shared/Hook/");
        using var refused = await server.Api.PostAsync("/api/projects/second/versions",
            new StringContent(Ferry.Deploy.ProjectBundle.FromDirectory(second).ToJson(), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("path", problem.GetProperty("field").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("project 'first'", detail);
        Assert.Contains("project 'second'", detail);
        var versions = await server.Api.GetAsync("/api/projects/second/versions");
        Assert.Equal("[]", await versions.Content.ReadAsStringAsync());
        // The owner may redeploy its own path, and the path still reaches the owner.
        await server.DeployAsync(KoboProject("first", "/shared/hook", reply: "after_completion"));
        using var hook = await server.Client.PostAsJsonAsync("/shared/hook", new { });
        Assert.Equal("first", (await hook.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("project").GetString());
    }

    [Fact]
    public async Task Restoring_a_version_whose_path_another_project_took_meanwhile_is_refused_409()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(KoboProject("first", "/moving/hook"));
        await server.DeployAsync(KoboProject("first", "/moved/hook"));
        await server.DeployAsync(KoboProject("second", "/moving/hook"));

        using var restore = await server.Api.PostAsync("/api/projects/first/versions/1/restore", null);

        Assert.Equal(HttpStatusCode.Conflict, restore.StatusCode);
        var problem = await restore.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/moving/hook", problem.GetProperty("path").GetString());
        Assert.Equal(["second", "first"], problem.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("project").GetString()));
        Assert.Equal(2, (await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/first/versions/current")).GetProperty("version").GetInt32());
    }
}

public sealed class SqliteIntakeReplyAndPathTests : IntakeReplyAndPathTests
{
    protected override Task<RunningServer> StartAsync(Action<Ferry.Server.ServerOptions>? configure = null) => RunningServer.StartAsync(null, configure);
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresIntakeReplyAndPathTests(PostgresServer postgres) : IntakeReplyAndPathTests
{
    protected override async Task<RunningServer> StartAsync(Action<Ferry.Server.ServerOptions>? configure = null) =>
        await RunningServer.StartAsync(await postgres.CreateDatabaseAsync("intake_reply"), configure);

    [Fact]
    public async Task A_webhook_waiting_in_one_server_gets_the_data_of_a_run_another_server_ran()
    {
        var database = await postgres.CreateDatabaseAsync("scale_out");
        await using var web = await RunningServer.StartAsync(database, o => o.Workers = 0);
        await using var worker = await RunningServer.StartAsync(database);
        await web.DeployAsync(Project("split", """
              answer:
                triggers:
                  hook: { type: webhook, reply: after_completion, reply_timeout: 20s }
                steps:
                  work:
                    code: state.data.ranBy = "the other server";
            """));

        using var response = await web.Client.PostAsJsonAsync("/i/split/answer/hook", new { });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("the other server", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ranBy").GetString());
    }
}
