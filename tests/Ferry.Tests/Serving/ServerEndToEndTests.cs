using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Tests.Infrastructure;

namespace Ferry.Tests.Serving;

/// <summary>`ferry serve` through its real HTTP pipeline: deploy, webhook intake, workers, history, auth, refusals.</summary>
public abstract class ServerEndToEndTests : IDisposable
{
    private readonly ProjectFolders _projects = new();

    protected abstract Task<RunningServer> StartAsync();

    public void Dispose()
    {
        _projects.Dispose();
        GC.SuppressFinalize(this);
    }

    protected string Project(string name, string workflowYaml, params (string Path, string Text)[] files) => _projects.Write(name, "", workflowYaml, files);

    protected string Project(string name, string header, string workflowYaml, params (string Path, string Text)[] files) => _projects.Write(name, header, workflowYaml, files);

    private string Greeter() => Project("greeter", """
          greet:
            triggers:
              hook: { type: webhook }
            steps:
              hello:
                code: |
                  log.Info($"hello {state.data.name}");
                  state.data.greeting = "hello " + state.data.name;
        """);

    [Fact]
    public async Task A_webhook_is_acknowledged_with_ids_and_its_run_executes_with_steps_logs_and_dataclips_stored()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Greeter());

        using var response = await server.Client.PostAsJsonAsync("/i/greeter/greet/hook", new { name = "Amina" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = await response.Content.ReadFromJsonAsync<JsonElement>();
        var run = await server.WaitForRunAsync(ids.GetProperty("runId").GetGuid());
        Assert.Equal("success", run.GetProperty("run").GetProperty("status").GetString());
        var step = Assert.Single(run.GetProperty("steps").EnumerateArray());
        Assert.Equal("hello", step.GetProperty("stepId").GetString());
        var output = await server.Api.GetFromJsonAsync<JsonElement>($"/api/dataclips/{run.GetProperty("run").GetProperty("outputDataclipId").GetGuid()}");
        Assert.Equal("hello Amina", output.GetProperty("data").GetProperty("greeting").GetString());
        var logs = await server.Api.GetFromJsonAsync<JsonElement>($"/api/runs/{ids.GetProperty("runId").GetGuid()}/logs");
        Assert.Contains(logs.EnumerateArray(), l => l.GetProperty("message").GetString() == "hello Amina");
        var orders = await server.Api.GetFromJsonAsync<JsonElement>("/api/work-orders?project=greeter&limit=10");
        Assert.Equal(ids.GetProperty("workOrderId").GetGuid(), orders.GetProperty("items")[0].GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Concurrent_webhooks_are_all_acknowledged_and_all_run()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Greeter());

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => server.Client.PostAsJsonAsync("/i/greeter/greet/hook", new { name = $"n{i}" })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var runIds = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid()));
        Assert.Equal(100, runIds.Distinct().Count());
        foreach (var id in runIds) Assert.Equal("success", (await server.WaitForRunAsync(id)).GetProperty("run").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Webhook_refusals_name_the_field_and_store_nothing()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Greeter());

        using var unknownProject = await server.Client.PostAsJsonAsync("/i/nope/greet/hook", new { });
        using var unknownTrigger = await server.Client.PostAsJsonAsync("/i/greeter/greet/hooks", new { });
        using var malformed = await server.Client.PostAsync("/i/greeter/greet/hook", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));
        using var wrongType = await server.Client.PostAsync("/i/greeter/greet/hook", new StringContent("<a/>", System.Text.Encoding.UTF8, "application/xml"));

        Assert.Equal(HttpStatusCode.NotFound, unknownProject.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownTrigger.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        Assert.Contains("\"field\"", await malformed.Content.ReadAsStringAsync());
        var orders = await server.Api.GetFromJsonAsync<JsonElement>("/api/work-orders?project=greeter");
        Assert.Equal(0, orders.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task The_api_refuses_missing_and_wrong_tokens()
    {
        await using var server = await StartAsync();
        using var none = await server.Client.GetAsync("/api/projects");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "ferry_AAAAAAAAwrongtoken");
        using var wrong = await server.Client.SendAsync(request);
        using var good = await server.Api.GetAsync("/api/projects");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task Deploys_create_versions_refuse_invalid_projects_with_locations_and_skip_identical_ones()
    {
        await using var server = await StartAsync();
        var first = await server.DeployAsync(Greeter());
        var again = await server.DeployAsync(Greeter());
        var broken = Project("greeter-broken", "  w:\n    steps:\n      s:\n        code: state.x = undefinedThing;\n");
        File.WriteAllText(Path.Combine(broken, "ferry.yaml"), File.ReadAllText(Path.Combine(broken, "ferry.yaml")).Replace("greeter-broken", "greeter", StringComparison.Ordinal));
        using var refused = await server.Api.PostAsync("/api/projects/greeter/versions",
            new StringContent(Ferry.Deploy.ProjectBundle.FromDirectory(broken).ToJson(), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(1, first.GetProperty("version").GetInt32());
        Assert.False(again.GetProperty("created").GetBoolean());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var problem = await refused.Content.ReadAsStringAsync();
        Assert.Contains("undefinedThing", problem);
        Assert.Contains("\"location\":\"ferry.yaml:6:", problem);
        Assert.DoesNotContain("staging", problem);
        var versions = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/greeter/versions");
        Assert.Equal(1, versions.GetArrayLength());
    }

    [Fact]
    public async Task Bad_history_filters_and_paging_get_a_problem_naming_the_parameter()
    {
        await using var server = await StartAsync();
        using var limit = await server.Api.GetAsync("/api/work-orders?limit=100000");
        using var status = await server.Api.GetAsync("/api/work-orders?status=done");
        using var missing = await server.Api.GetAsync($"/api/runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.BadRequest, limit.StatusCode);
        Assert.Contains("\"field\":\"limit\"", await limit.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Credential_values_never_come_back_from_the_api_and_are_not_in_the_database_file_in_plaintext()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(Project("vaulted", "credentials:\n  api: { adaptor: http }\n", """
              w:
                steps:
                  s:
                    adaptor: http
                    credential: api
                    code: state.ok = true;
            """));
        using var put = await server.Api.PutAsync("/api/projects/vaulted/credentials/api", new StringContent("""{"baseUrl":"http://127.0.0.1:9","token":"Sup3r-Secret-Token-Value"}""", System.Text.Encoding.UTF8, "application/json"));
        var listed = await server.Api.GetStringAsync("/api/projects/vaulted/credentials");

        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        Assert.Contains("\"name\":\"api\"", listed);
        Assert.DoesNotContain("Sup3r-Secret", listed);
        foreach (var file in Directory.EnumerateFiles(server.DataDirectory, "ferry.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            Assert.DoesNotContain("Sup3r-Secret-Token-Value", await reader.ReadToEndAsync());
        }
    }
}

public sealed class SqliteServerEndToEndTests : ServerEndToEndTests
{
    protected override Task<RunningServer> StartAsync() => RunningServer.StartAsync();
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresServerEndToEndTests(PostgresServer postgres) : ServerEndToEndTests
{
    protected override async Task<RunningServer> StartAsync() => await RunningServer.StartAsync(await postgres.CreateDatabaseAsync("server_e2e"));
}
