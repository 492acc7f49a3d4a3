using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Tests.Serving;

namespace Ferry.Tests.ServingApi;

/// <summary>Version diff and restore through the real server (SQLite).</summary>
public sealed class VersionsApiTests : IDisposable
{
    private readonly ProjectFolders _projects = new();

    public void Dispose() => _projects.Dispose();

    private string Version(int v, bool withReadme = false)
    {
        var files = new List<(string, string)> { ("jobs/work.csx", $"state.data.v = {v};\nlog.Info(\"ran\");\n") };
        if (withReadme) files.Add(("README.md", "# Versioned\n"));
        return _projects.Write("versioned", "", """
              work:
                triggers:
                  hook: { type: webhook }
                steps:
                  step:
                    code: jobs/work.csx
            """, [.. files]);
    }

    private static async Task<(Guid WorkOrder, JsonElement Run)> RunOnceAsync(RunningServer server)
    {
        using var response = await server.Client.PostAsJsonAsync("/i/versioned/work/hook", new { });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (ids.GetProperty("workOrderId").GetGuid(), await server.WaitForRunAsync(ids.GetProperty("runId").GetGuid()));
    }

    private static async Task<int> OutputVAsync(RunningServer server, JsonElement run)
    {
        var clip = await server.Api.GetFromJsonAsync<JsonElement>($"/api/dataclips/{run.GetProperty("run").GetProperty("outputDataclipId").GetGuid()}");
        return clip.GetProperty("data").GetProperty("v").GetInt32();
    }

    [Fact]
    public async Task Diff_lists_added_and_changed_files_with_unified_diff_text()
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));
        await server.DeployAsync(Version(2, withReadme: true));

        var diff = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/versioned/versions/1/diff/2");
        var againstCurrent = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/versioned/versions/1/diff");

        Assert.Equal(1, diff.GetProperty("from").GetInt32());
        Assert.Equal(2, diff.GetProperty("to").GetInt32());
        Assert.False(diff.GetProperty("identical").GetBoolean());
        var files = diff.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!);
        Assert.Equal(["README.md", "jobs/work.csx"], files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("added", files["README.md"].GetProperty("change").GetString());
        Assert.Equal(1, files["README.md"].GetProperty("added").GetInt32());
        Assert.Equal("--- /dev/null\n+++ b/README.md\n@@ -0,0 +1 @@\n+# Versioned\n", files["README.md"].GetProperty("diff").GetString());
        var work = files["jobs/work.csx"];
        Assert.Equal("changed", work.GetProperty("change").GetString());
        Assert.Equal((1, 1), (work.GetProperty("added").GetInt32(), work.GetProperty("removed").GetInt32()));
        Assert.Equal("--- a/jobs/work.csx\n+++ b/jobs/work.csx\n@@ -1,2 +1,2 @@\n-state.data.v = 1;\n+state.data.v = 2;\n log.Info(\"ran\");\n",
            work.GetProperty("diff").GetString());
        Assert.Contains(diff.GetProperty("summary").EnumerateArray(), s => s.GetString()!.StartsWith("~ jobs/work.csx", StringComparison.Ordinal));
        Assert.Equal(diff.GetProperty("diff").GetString(), againstCurrent.GetProperty("diff").GetString());
        Assert.Equal(2, againstCurrent.GetProperty("to").GetInt32());
    }

    [Fact]
    public async Task Diff_as_text_gives_the_unified_diff_alone()
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));
        await server.DeployAsync(Version(2));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects/versioned/versions/2/diff/1");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/x-diff"));

        using var response = await server.Api.SendAsync(request);

        Assert.Equal("text/x-diff", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("--- a/jobs/work.csx\n+++ b/jobs/work.csx\n@@ -1,2 +1,2 @@\n-state.data.v = 2;\n+state.data.v = 1;\n log.Info(\"ran\");\n",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Restore_makes_a_new_current_version_and_old_work_orders_retry_on_their_own_version()
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));
        await server.DeployAsync(Version(2));
        var (onTwo, _) = await RunOnceAsync(server);

        using var restore = await server.Api.PostAsync("/api/projects/versioned/versions/1/restore", null);

        Assert.Equal(HttpStatusCode.Created, restore.StatusCode);
        var restored = await restore.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, restored.GetProperty("version").GetInt32());
        Assert.Equal(1, restored.GetProperty("restoredFrom").GetInt32());
        Assert.Equal("/api/projects/versioned/versions/3", restore.Headers.Location?.ToString());
        var current = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/versioned/versions/current");
        Assert.Equal(3, current.GetProperty("version").GetInt32());
        Assert.True((await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/versioned/versions/1/diff/3")).GetProperty("identical").GetBoolean());
        var versions = await server.Api.GetFromJsonAsync<JsonElement>("/api/projects/versioned/versions");
        Assert.Equal([3, 2, 1], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));

        var (_, newRun) = await RunOnceAsync(server);
        Assert.Equal(3, newRun.GetProperty("run").GetProperty("version").GetInt32());
        Assert.Equal(1, await OutputVAsync(server, newRun));

        using var retry = await server.Api.PostAsync($"/api/work-orders/{onTwo}/retry", null);
        var retried = await server.WaitForRunAsync((await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid());
        Assert.Equal(2, retried.GetProperty("run").GetProperty("version").GetInt32());
        Assert.Equal(2, await OutputVAsync(server, retried));
    }

    [Fact]
    public async Task Restoring_the_bundle_that_is_already_current_makes_no_new_version()
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));

        using var restore = await server.Api.PostAsync("/api/projects/versioned/versions/1/restore", null);

        Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
        var body = await restore.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.GetProperty("created").GetBoolean());
        Assert.Equal(1, body.GetProperty("version").GetInt32());
    }

    [Theory]
    [InlineData("/api/projects/versioned/versions/abc/diff", 400, "from")]
    [InlineData("/api/projects/versioned/versions/0/diff/1", 400, "from")]
    [InlineData("/api/projects/versioned/versions/1/diff/x2", 400, "to")]
    [InlineData("/api/projects/versioned/versions/1/diff/9", 404, "to")]
    [InlineData("/api/projects/versioned/versions/9/diff", 404, "from")]
    [InlineData("/api/projects/elsewhere/versions/1/diff", 404, "project")]
    public async Task Bad_versions_in_a_diff_are_refused_naming_the_parameter(string url, int status, string field)
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));

        using var response = await server.Api.GetAsync(url);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains("GET /api/projects", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Restoring_an_unknown_version_is_404_naming_the_version()
    {
        await using var server = await RunningServer.StartAsync();
        await server.DeployAsync(Version(1));

        using var response = await server.Api.PostAsync("/api/projects/versioned/versions/7/restore", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("version", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }
}
