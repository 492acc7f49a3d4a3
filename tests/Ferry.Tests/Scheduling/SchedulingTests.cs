using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Server.Projects;
using Ferry.Storage;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Tests.Scheduling;

/// <summary>
/// Cron triggers, concurrency limits and ordered mode, run limits, cancel, graceful shutdown and retention, through a
/// real `ferry serve` on SQLite and on PostgreSQL.
/// </summary>
public abstract class SchedulingTests : IDisposable
{
    private readonly ProjectFolders _projects = new();

    /// <summary>A PostgreSQL connection string to a fresh database, or null for SQLite.</summary>
    protected abstract Task<string?> DatabaseAsync();

    public void Dispose()
    {
        _projects.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task<SchedulingServer> StartAsync(TestClock? clock = null, Action<Ferry.Server.ServerOptions>? configure = null) =>
        await SchedulingServer.StartAsync(await DatabaseAsync(), clock, configure);

    private static T? Head<T>(IReadOnlyList<T> items) where T : class => items.Count > 0 ? items[0] : null;

    /// <summary>A step that keeps the CPU busy for <paramref name="ms"/> milliseconds (it checks its budget as it loops).</summary>
    private static string Busy(int ms) => $"var until = DateTime.UtcNow.AddMilliseconds({ms}); while (DateTime.UtcNow < until) {{ }}";

    [Fact]
    public async Task Cron_runs_once_after_downtime_never_for_the_past_and_the_cursor_carries_across_runs()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 6, 1, 10, 30, 0, TimeSpan.Zero));
        await using var server = await StartAsync(clock);
        await server.DeployAsync(_projects.Write("hourly", "", """
              count:
                retry: { attempts: 2, backoff: 1s }
                triggers:
                  every-hour: { type: cron, cron: "0 * * * *", timezone: Europe/London }
                steps:
                  tally:
                    code: |
                      var previous = cursor.Get();
                      var n = previous == null ? 1 : (int)(double)previous + 1;
                      cursor.Set(n);
                      state.count = n;
            """));

        var started = await SchedulingServer.EventuallyAsync(async () => Head(await server.Store.ListScheduleTicksAsync("hourly")), "the scheduler to see the trigger");
        Assert.Equal(("count", "every-hour", clock.GetUtcNow()), (started.Workflow, started.Trigger, started.LastTick));
        await Task.Delay(300); // several scheduler passes: a trigger seen for the first time has no run for the past
        Assert.Empty((await server.Store.ListWorkOrdersAsync(new WorkOrderQuery("hourly"))).Items);

        clock.Advance(TimeSpan.FromHours(3)); // "downtime": 11:00, 12:00 and 13:00 were missed
        var first = await SchedulingServer.EventuallyAsync(async () => Head((await server.Store.ListWorkOrdersAsync(new WorkOrderQuery("hourly"))).Items), "the catch-up run");
        Assert.Equal("success", (await server.WaitForRunAsync(first.LastRunId)).Status);
        await Task.Delay(300);
        var orders = (await server.Store.ListWorkOrdersAsync(new WorkOrderQuery("hourly"))).Items;
        var only = Assert.Single(orders);
        Assert.Equal(("every-hour", 1), (only.Trigger, only.Version));
        Assert.Contains("\"tick\":\"2026-06-01T13:00:00Z\"", only.RequestMetaJson, StringComparison.Ordinal);
        Assert.Equal(new RetryPolicy(2, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)), only.Retry);
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 13, 0, 0, TimeSpan.Zero), (await server.Store.ListScheduleTicksAsync("hourly"))[0].LastTick);

        clock.Advance(TimeSpan.FromHours(1));
        var second = await SchedulingServer.EventuallyAsync(async () =>
            (await server.Store.ListWorkOrdersAsync(new WorkOrderQuery("hourly"))).Items.FirstOrDefault(w => w.Id != only.Id), "the 14:00 run");
        var run = await server.WaitForRunAsync(second.LastRunId);
        Assert.Equal("success", run.Status);
        var output = JsonDocument.Parse((await server.Store.GetDataclipAsync(run.OutputDataclipId!.Value))!);
        Assert.Equal(2, output.RootElement.GetProperty("count").GetInt32());
        Assert.Equal("2", await server.Store.GetCursorAsync("hourly", "count"));
    }

    [Fact]
    public async Task A_disabled_cron_trigger_lets_its_ticks_pass_without_runs()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 6, 1, 10, 30, 0, TimeSpan.Zero));
        await using var server = await StartAsync(clock);
        await server.DeployAsync(_projects.Write("paused", "", """
              nightly:
                triggers:
                  at-night: { type: cron, cron: "0 2 * * *", enabled: false }
                steps:
                  s:
                    code: state.ran = true;
            """));
        await SchedulingServer.EventuallyAsync(async () => Head(await server.Store.ListScheduleTicksAsync("paused")), "the scheduler to see the trigger");

        clock.Advance(TimeSpan.FromDays(1));
        var moved = await SchedulingServer.EventuallyAsync(async () =>
            (await server.Store.ListScheduleTicksAsync("paused")).FirstOrDefault(t => t.LastTick.Day == 2), "the tick to pass");

        Assert.Equal(new DateTimeOffset(2026, 6, 2, 2, 0, 0, TimeSpan.Zero), moved.LastTick);
        Assert.Empty((await server.Store.ListWorkOrdersAsync(new WorkOrderQuery("paused"))).Items);
    }

    /// <summary>Project <paramref name="name"/> whose webhook run stamps <c>v</c> into its state: one version per value.</summary>
    private string StampingProject(string name, int v) => _projects.Write(name, "", $$"""
          mark:
            triggers:
              hook: { type: webhook }
            steps:
              stamp:
                code: state.v = {{v}};
        """);

    [Fact]
    public async Task A_version_left_idle_is_let_go_of_and_a_retry_on_it_loads_it_again()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero));
        await using var server = await StartAsync(clock);
        var projects = server.Services.GetRequiredService<DeployedProjects>();
        string Project(int v) => StampingProject("versioned", v);
        async Task<int> OutputVAsync(Guid runId)
        {
            var run = await server.WaitForRunAsync(runId);
            Assert.Equal("success", run.Status);
            return JsonDocument.Parse((await server.Store.GetDataclipAsync(run.OutputDataclipId!.Value))!).RootElement.GetProperty("v").GetInt32();
        }

        await server.DeployAsync(Project(1));
        var onOne = await server.PostAsync("/i/versioned/mark/hook", new { n = 1 });
        Assert.Equal(1, await OutputVAsync(onOne));
        await server.DeployAsync(Project(2));
        await Task.Delay(DeployedProjects.CurrentVersionCacheTime); // the webhook path's view of the current version catches up
        Assert.Equal(2, await OutputVAsync(await server.PostAsync("/i/versioned/mark/hook", new { n = 2 })));
        Assert.Contains(("versioned", 1), projects.Loaded);

        clock.Advance(DeployedProjects.IdleVersionLifetime + TimeSpan.FromMinutes(1));
        Assert.Equal(2, await OutputVAsync(await server.PostAsync("/i/versioned/mark/hook", new { n = 3 })));
        await SchedulingServer.EventuallyAsync(() => Task.FromResult(projects.Loaded.Contains(("versioned", 1)) ? null : "gone"), "the sweeper to let go of version 1");
        Assert.DoesNotContain(("versioned", 1), projects.Loaded);
        Assert.Contains(("versioned", 2), projects.Loaded); // the current version stays, idle or not

        // A retry runs on the version its work order ran on: version 1 is loaded again (from disk, no compiler).
        var workOrder = (await server.Store.GetRunAsync(onOne))!.WorkOrderId;
        using var retry = await server.Api.PostAsync($"/api/work-orders/{workOrder}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(1, await OutputVAsync((await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid()));
        Assert.Contains(("versioned", 1), projects.Loaded);
    }

    [Fact]
    public async Task A_server_nothing_runs_on_lets_go_of_old_versions_and_gives_their_memory_back()
    {
        var clock = new TestClock(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero));
        await using var server = await StartAsync(clock);
        var projects = server.Services.GetRequiredService<DeployedProjects>();
        var sweeper = server.Services.GetRequiredService<IdleVersionSweeper>();
        string Project(int v) => StampingProject("quiet", v);
        await server.DeployAsync(Project(1));
        await projects.GetAsync("quiet", 1);
        await server.DeployAsync(Project(2));
        await projects.GetAsync("quiet", 2);
        Assert.Contains(("quiet", 1), projects.Loaded);
        Assert.Equal(0, sweeper.Reclaims);

        // No run, no retry, no request: only the sweeper's timer notices that version 1 has been idle long enough.
        clock.Advance(DeployedProjects.IdleVersionLifetime + TimeSpan.FromMinutes(1));
        await SchedulingServer.EventuallyAsync(() => Task.FromResult(projects.Loaded.Contains(("quiet", 1)) ? null : "gone"), "version 1 to be let go of");
        await SchedulingServer.EventuallyAsync(() => Task.FromResult(sweeper.Reclaims > 0 ? "reclaimed" : null), "the memory to be given back");
        Assert.Contains(("quiet", 2), projects.Loaded); // the current version stays
    }

    /// <summary>
    /// A target system that sees how many runs call it at once: each call to <c>/work?n=…</c> is recorded on arrival
    /// and holds for the time given to <see cref="MapOn"/>. Measured outside the server, so no clock of the server is trusted.
    /// </summary>
    private sealed class Target
    {
        private readonly Lock _gate = new();
        private int _active;

        public int MostAtOnce { get; private set; }

        public List<int> Arrivals { get; } = [];

        public void MapOn(LoopbackHttpServer server, int holdMs) => server.Map("GET", "/work", async ctx =>
        {
            lock (_gate)
            {
                _active++;
                MostAtOnce = Math.Max(MostAtOnce, _active);
                Arrivals.Add(int.Parse(ctx.Request.Query["n"]!, System.Globalization.CultureInfo.InvariantCulture));
            }
            await Task.Delay(holdMs);
            lock (_gate) _active--;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{}");
        });
    }

    private async Task<SchedulingServer> StartWithTargetAsync(string name, string workflowYaml, LoopbackHttpServer target, int workers)
    {
        var server = await StartAsync(configure: o => o.Workers = workers);
        await server.DeployAsync(_projects.Write(name, "credentials:\n  target: { adaptor: http }\n", workflowYaml));
        using var put = await server.Api.PutAsync($"/api/projects/{name}/credentials/target",
            new StringContent($$"""{"baseUrl":"{{target.BaseUrl}}","retries":0}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        return server;
    }

    private const string CallTarget = """
                    adaptor: http
                    credential: target
                    code: |
                      await http.Get("/work", new { query = new { n = state.data.n } });
                      state.done = true;
        """;

    [Fact]
    public async Task An_ordered_workflow_runs_one_at_a_time_and_in_arrival_order()
    {
        await using var target = await LoopbackHttpServer.StartAsync();
        var seen = new Target();
        seen.MapOn(target, holdMs: 60);
        await using var server = await StartWithTargetAsync("ledger", $$"""
              post:
                ordered: true
                triggers:
                  hook: { type: webhook }
                steps:
                  apply:
            {{CallTarget}}
            """, target, workers: 4);

        var runIds = new List<Guid>();
        for (var i = 0; i < 8; i++) runIds.Add(await server.PostAsync("/i/ledger/post/hook", new { n = i }));
        var runs = new List<RunRecord>();
        foreach (var id in runIds) runs.Add(await server.WaitForRunAsync(id));

        Assert.All(runs, r => Assert.Equal("success", r.Status));
        Assert.Equal(1, seen.MostAtOnce);
        Assert.Equal(Enumerable.Range(0, 8), seen.Arrivals);
        for (var i = 1; i < runs.Count; i++) Assert.True(runs[i].FinishedAt >= runs[i - 1].FinishedAt, $"run {i} finished before run {i - 1}");
    }

    [Fact]
    public async Task A_workflow_concurrency_limit_caps_runs_at_once_while_other_workflows_still_run()
    {
        await using var target = await LoopbackHttpServer.StartAsync();
        var seen = new Target();
        seen.MapOn(target, holdMs: 150);
        await using var server = await StartWithTargetAsync("capped", $$"""
              limited:
                concurrency: 2
                triggers:
                  hook: { type: webhook }
                steps:
                  work:
            {{CallTarget}}
              free:
                triggers:
                  hook: { type: webhook }
                steps:
                  work:
                    code: state.ok = true;
            """, target, workers: 6);

        var limited = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => server.PostAsync("/i/capped/limited/hook", new { n = i })));
        var free = await server.PostAsync("/i/capped/free/hook", new { n = 99 });
        var freeRun = await server.WaitForRunAsync(free);
        var runs = new List<RunRecord>();
        foreach (var id in limited) runs.Add(await server.WaitForRunAsync(id));

        Assert.Equal("success", freeRun.Status);
        Assert.All(runs, r => Assert.Equal("success", r.Status));
        Assert.Equal(8, seen.Arrivals.Count);
        Assert.True(seen.MostAtOnce <= 2, $"{seen.MostAtOnce} runs of the limited workflow called the target at once; its concurrency is 2");
        Assert.True(freeRun.FinishedAt < runs.Max(r => r.FinishedAt), "the unlimited workflow waited for the limited one");
    }

    [Fact]
    public async Task A_run_over_its_time_limit_ends_killed_naming_the_limit_its_value_and_where_to_change_it()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(_projects.Write("slow", "", $$"""
              crawl:
                timeout: 1s
                triggers:
                  hook: { type: webhook }
                steps:
                  first:
                    timeout: 30s
                    code: "{{Busy(20_000)}}"
            """));

        var run = await server.WaitForRunAsync(await server.PostAsync("/i/slow/crawl/hook", new { }), timeout: TimeSpan.FromSeconds(20));

        Assert.Equal("killed", run.Status);
        Assert.Contains("time limit of 1 s", run.Error, StringComparison.Ordinal);
        Assert.Contains("during step 'first'", run.Error, StringComparison.Ordinal);
        Assert.Contains("'timeout: 1s' of workflow 'crawl' (ferry.yaml:3:3)", run.Error, StringComparison.Ordinal);
        Assert.True(run.FinishedAt - run.StartedAt < TimeSpan.FromSeconds(10), $"the run went on for {run.FinishedAt - run.StartedAt}");
    }

    [Fact]
    public async Task A_step_over_the_workflow_memory_limit_ends_the_run_killed_naming_the_limit()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(_projects.Write("greedy", "", """
              hoard:
                memory: 2MB
                triggers:
                  hook: { type: webhook }
                steps:
                  grow:
                    code: |
                      var text = "";
                      for (var i = 0; i < 1000000; i++) text += "0123456789";
                      state.length = text.Length;
            """));

        var run = await server.WaitForRunAsync(await server.PostAsync("/i/greedy/hoard/hook", new { }));

        Assert.Equal("killed", run.Status);
        Assert.Contains("memory budget of 2 MB", run.Error, StringComparison.Ordinal);
        Assert.Contains("'memory: 2MB' of workflow 'hoard' (ferry.yaml:3:3)", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_a_started_run_over_the_api_stops_its_long_step_and_ends_it_cancelled()
    {
        await using var server = await StartAsync();
        await server.DeployAsync(_projects.Write("endless", "", $$"""
              spin:
                triggers:
                  hook: { type: webhook }
                steps:
                  forever:
                    code: "{{Busy(60_000)}}"
            """));
        var runId = await server.PostAsync("/i/endless/spin/hook", new { });
        await server.WaitForRunAsync(runId, r => r.Status == RunStatus.Started);

        using var cancel = await server.Api.PostAsync($"/api/runs/{runId}/cancel", null);
        var run = await server.WaitForRunAsync(runId, timeout: TimeSpan.FromSeconds(15));

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", run.Status);
        Assert.True(run.FinishedAt - run.StartedAt < TimeSpan.FromSeconds(15));
        var step = Assert.Single(await server.Store.ListStepRunsAsync(runId));
        Assert.Equal(("forever", "cancelled"), (step.StepId, step.Status));
    }

    [Fact]
    public async Task On_shutdown_a_short_run_in_flight_finishes_and_one_past_the_shutdown_timeout_goes_back_to_the_queue()
    {
        // 10 s: the 700 ms run must finish even when the busy 60 s runs of both database variants (one process) hold
        // thread-pool threads and its commit waits for the pool to grow.
        await using var server = await StartAsync(configure: o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        await server.DeployAsync(_projects.Write("drain", "", $$"""
              quick:
                triggers:
                  hook: { type: webhook }
                steps:
                  s:
                    code: "{{Busy(700)}}"
              long:
                triggers:
                  hook: { type: webhook }
                steps:
                  s:
                    code: "{{Busy(60_000)}}"
            """));
        var quick = await server.PostAsync("/i/drain/quick/hook", new { });
        var longRun = await server.PostAsync("/i/drain/long/hook", new { });
        // On a loaded machine the quick run may already be over by now; either way it must end in success.
        await server.WaitForRunAsync(quick, r => r.Status is RunStatus.Started or RunStatus.Success);
        await server.WaitForRunAsync(longRun, r => r.Status == RunStatus.Started);

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await server.StopAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"shutdown took {stopping.Elapsed}");
        Assert.Equal("success", (await server.Store.GetRunAsync(quick))!.Status);
        var handedBack = (await server.Store.GetRunAsync(longRun))!;
        Assert.Equal((RunStatus.Available, (string?)null, 1), (handedBack.Status, handedBack.WorkerId, handedBack.Attempt));
        Assert.Equal(RunStatus.Available, (await server.Store.GetWorkOrderAsync(handedBack.WorkOrderId))!.Status);
    }

    [Fact]
    public async Task Retention_erase_all_wipes_dataclips_at_once_and_deletes_history_after_its_period()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(clock);
        await server.DeployAsync(_projects.Write("forgetful", "retention: { policy: erase_all, history_days: 2 }\n", """
              w:
                triggers:
                  hook: { type: webhook }
                steps:
                  s:
                    code: state.data.seen = true;
            """));
        var run = await server.WaitForRunAsync(await server.PostAsync("/i/forgetful/w/hook", new { secret = "patient-42" }));
        Assert.Equal("success", run.Status);

        await SchedulingServer.EventuallyAsync(async () => await server.Store.GetDataclipAsync(run.InputDataclipId) is null ? "wiped" : null, "the input to be wiped");
        Assert.Null(await server.Store.GetDataclipAsync(run.OutputDataclipId!.Value));
        Assert.NotNull(await server.Store.GetWorkOrderAsync(run.WorkOrderId));

        clock.Advance(TimeSpan.FromDays(3));
        await SchedulingServer.EventuallyAsync(async () => await server.Store.GetWorkOrderAsync(run.WorkOrderId) is null ? "deleted" : null, "the history to be deleted");
        using var gone = await server.Api.GetAsync($"/api/runs/{run.Id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Retention_retain_with_errors_keeps_failed_runs_dataclips_for_their_period_only()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(clock);
        await server.DeployAsync(_projects.Write("careful", "retention: { policy: retain_with_errors, dataclip_days: 1, history_days: 30 }\n", """
              w:
                triggers:
                  hook: { type: webhook }
                steps:
                  s:
                    code: |
                      if (state.data.fail == true) throw new InvalidOperationException("refused by the target system");
                      state.data.ok = true;
            """));
        var ok = await server.WaitForRunAsync(await server.PostAsync("/i/careful/w/hook", new { fail = false }));
        var failed = await server.WaitForRunAsync(await server.PostAsync("/i/careful/w/hook", new { fail = true }));
        Assert.Equal(("success", "failed"), (ok.Status, failed.Status));

        await SchedulingServer.EventuallyAsync(async () => await server.Store.GetDataclipAsync(ok.InputDataclipId) is null ? "wiped" : null, "the successful run's input to be wiped");
        await Task.Delay(300);
        Assert.NotNull(await server.Store.GetDataclipAsync(failed.InputDataclipId));

        clock.Advance(TimeSpan.FromDays(2));
        await SchedulingServer.EventuallyAsync(async () => await server.Store.GetDataclipAsync(failed.InputDataclipId) is null ? "wiped" : null, "the failed run's input to be wiped");
        Assert.NotNull(await server.Store.GetWorkOrderAsync(failed.WorkOrderId));

        clock.Advance(TimeSpan.FromDays(30));
        await SchedulingServer.EventuallyAsync(async () => await server.Store.GetWorkOrderAsync(failed.WorkOrderId) is null ? "deleted" : null, "the history to be deleted");
        Assert.Null(await server.Store.GetWorkOrderAsync(ok.WorkOrderId));
    }

    [Fact]
    public async Task Claim_latency_is_recorded_for_every_claimed_run()
    {
        await using var server = await StartAsync();
        await DeployOneStepWebhookAsync(server, "timed");
        for (var i = 0; i < 3; i++) await server.WaitForRunAsync(await server.PostAsync("/i/timed/w/hook", new { }));

        var metrics = await server.Client.GetStringAsync("/metrics");

        var count = metrics.Split('\n').Single(l => l.StartsWith("ferry_run_claim_latency_seconds_count", StringComparison.Ordinal));
        Assert.Equal("3", count.Split(' ')[^1]);
    }

    [Fact]
    public async Task Every_durable_write_of_the_intake_journal_is_timed_with_the_requests_it_covered()
    {
        await using var server = await StartAsync();
        await DeployOneStepWebhookAsync(server, "journaled");
        // One at a time: each request is acknowledged before the next is sent, so each has a durable write of its own.
        for (var i = 0; i < 3; i++) await server.PostAsync("/i/journaled/w/hook", new { i });

        var lines = (await server.Client.GetStringAsync("/metrics")).Split('\n');
        string Value(string name) => lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[^1];

        Assert.Equal("3", Value("ferry_intake_journal_write_duration_seconds_count"));
        Assert.True(double.Parse(Value("ferry_intake_journal_write_duration_seconds_sum"), CultureInfo.InvariantCulture) > 0);
        Assert.Equal("3", Value("ferry_intake_journal_batch_size_count"));
        Assert.Equal("3", Value("ferry_intake_journal_batch_size_sum"));
        Assert.Equal("3", Value("ferry_intake_journal_batch_size_bucket{le=\"1\"}"));
    }

    /// <summary>Deploys <paramref name="project"/>: workflow <c>w</c>, one step, webhook trigger <c>hook</c>.</summary>
    private async Task DeployOneStepWebhookAsync(SchedulingServer server, string project) =>
        await server.DeployAsync(_projects.Write(project, "", """
              w:
                triggers:
                  hook: { type: webhook }
                steps:
                  s:
                    code: state.ok = true;
            """));
}

public sealed class SqliteSchedulingTests : SchedulingTests
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresSchedulingTests(PostgresServer postgres) : SchedulingTests
{
    protected override async Task<string?> DatabaseAsync() => await postgres.CreateDatabaseAsync("sched");
}
