using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Server;
using Ferry.Server.Metrics;
using Ferry.Server.Webhooks;
using Ferry.Spec;
using Ferry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests.Server;

/// <summary>The intake endpoint through the server host on a real Kestrel, with an in-memory commit in place of the store.</summary>
public sealed class WebhookIntakeTests
{
    private sealed class Harness : IAsyncDisposable
    {
        public required WebApplication App { get; init; }
        public required HttpClient Client { get; init; }
        public ConcurrentQueue<IntakeItem> Stored { get; } = new();
        public ConcurrentQueue<EnqueuedRun> Given { get; } = new();
        public volatile bool FailCommits;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
        }
    }

    private static async Task<Harness> StartAsync()
    {
        Harness? harness = null;
        var trigger = new TriggerSpec
        {
            Name = "forms",
            Type = TriggerType.Webhook,
            Auth = "api-key",
            Credential = "commcare",
            Location = new SourceLocation("ferry.yaml", 5, 7),
        };
        var secrets = new JsObject { ["api_key"] = "k-123" };
        var app = ServerHost.Build(new ServerOptions { Urls = "http://127.0.0.1:0" }, b =>
        {
            b.Logging.ClearProviders();
            b.Services.AddSingleton(sp => new WebhookIntake(
                (project, workflow, name, _) => ValueTask.FromResult(project == "hmis" && workflow == "sync" && name == "forms"
                    ? new WebhookTarget(project, workflow, trigger, secrets) : null),
                async (items, ct) =>
                {
                    await Task.Delay(2, ct);
                    if (harness!.FailCommits) throw new IOException("database is locked");
                    foreach (var item in items) harness.Stored.Enqueue(item);
                    var ids = items.Select(_ => new EnqueuedRun(Guid.NewGuid(), Guid.NewGuid())).ToArray();
                    foreach (var id in ids) harness.Given.Enqueue(id);
                    return ids;
                },
                sp.GetRequiredService<FerryMetrics>()));
        });
        await app.StartAsync();
        harness = new Harness { App = app, Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) } };
        return harness;
    }

    private static HttpRequestMessage Post(string path, string json, string? key = "k-123")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Add("X-API-Key", key);
        return request;
    }

    [Fact]
    public async Task Accepted_request_gets_202_with_ids_after_it_was_stored()
    {
        await using var h = await StartAsync();

        using var request = Post("/i/hmis/sync/forms", """{"patient": "P-1"}""");
        var response = await h.Client.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var given = Assert.Single(h.Given);
        Assert.Equal(given.WorkOrderId.ToString("D"), body.GetProperty("workOrderId").GetString());
        Assert.Equal(given.RunId.ToString("D"), body.GetProperty("runId").GetString());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(response.Content.Headers.ContentLength, (await response.Content.ReadAsByteArrayAsync()).Length);
        var stored = Assert.Single(h.Stored);
        Assert.Equal("P-1", JsonDocument.Parse(stored.Input.StateJson).RootElement.GetProperty("data").GetProperty("patient").GetString());
    }

    [Fact]
    public async Task Concurrent_requests_share_commits_and_every_202_was_stored()
    {
        await using var h = await StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            using var request = Post("/i/hmis/sync/forms", $$"""{"n": {{i}}}""");
            return await h.Client.SendAsync(request);
        }));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(300, h.Stored.Count);
        var intake = h.App.Services.GetRequiredService<WebhookIntake>();
        Assert.True(intake.Commits < 300, $"300 requests took {intake.Commits} commits");
    }

    [Fact]
    public async Task Failed_commit_answers_503_and_nothing_is_acknowledged()
    {
        await using var h = await StartAsync();
        h.FailCommits = true;

        using var request = Post("/i/hmis/sync/forms", "{}");
        var response = await h.Client.SendAsync(request);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Nothing was accepted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("forms", problem.GetProperty("trigger").GetString());
        Assert.Empty(h.Stored);
    }

    [Fact]
    public async Task A_webhook_url_with_a_trailing_slash_is_served_the_same_way_through_routing()
    {
        await using var h = await StartAsync();

        using var request = Post("/i/hmis/sync/forms/", """{"patient": "P-2"}""");
        var response = await h.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("P-2", JsonDocument.Parse(Assert.Single(h.Stored).Input.StateJson).RootElement.GetProperty("data").GetProperty("patient").GetString());
    }

    [Theory]
    [InlineData("/i/p/w/t", true, "p", "w", "t")]
    [InlineData("/i/case-sync/cases-to-hmis/hook", true, "case-sync", "cases-to-hmis", "hook")]
    [InlineData("/i/p/w/t/", false, "", "", "")]
    [InlineData("/i/p/w", false, "", "", "")]
    [InlineData("/i//w/t", false, "", "", "")]
    [InlineData("/i/p//t", false, "", "", "")]
    [InlineData("/i/p/w/t/x", false, "", "", "")]
    [InlineData("/api/p/w/t", false, "", "", "")]
    [InlineData("/i", false, "", "", "")]
    [InlineData(null, false, "", "", "")]
    public void The_webhook_path_splits_into_project_workflow_and_trigger(string? path, bool ok, string project, string workflow, string trigger)
    {
        Assert.Equal(ok, WebhookIntake.TrySplitPath(path, out var p, out var w, out var t));
        Assert.Equal((project, workflow, trigger), (p, w, t));
    }

    [Fact]
    public async Task Unknown_trigger_is_404_naming_it()
    {
        await using var h = await StartAsync();

        using var request = Post("/i/hmis/sync/nope", "{}");
        var response = await h.Client.SendAsync(request);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("'nope'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_outcome_is_counted_by_result_in_metrics()
    {
        await using var h = await StartAsync();

        using (var ok = Post("/i/hmis/sync/forms", "{}")) await h.Client.SendAsync(ok);
        using (var bad = Post("/i/hmis/sync/forms", "{}", key: "wrong")) await h.Client.SendAsync(bad);
        using (var missing = Post("/i/hmis/sync/other", "{}")) await h.Client.SendAsync(missing);
        using (var malformed = Post("/i/hmis/sync/forms", "{")) await h.Client.SendAsync(malformed);
        var metrics = await h.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Contains("ferry_intake_requests_total{result=\"accepted\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("ferry_intake_requests_total{result=\"unauthorized\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("ferry_intake_requests_total{result=\"not_found\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("ferry_intake_requests_total{result=\"malformed\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Single(h.Stored).Input.BodyBytes);
    }

    [Fact]
    public async Task Intake_appears_in_the_openapi_document()
    {
        await using var h = await StartAsync();

        var doc = JsonDocument.Parse(await h.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative))).RootElement;

        Assert.True(doc.GetProperty("paths").TryGetProperty("/i/{project}/{workflow}/{trigger}", out var path), doc.GetProperty("paths").GetRawText());
        Assert.True(path.TryGetProperty("post", out var post));
    }
}
