using System.Collections.Concurrent;
using System.Diagnostics;
using Ferry.Storage;

namespace Ferry.Tests.Storage;

/// <summary>The run queue: claiming, limits, ordered mode, leases, completion, cancel. Part of the compliance suite.</summary>
public abstract partial class StoreCompliance
{
    [Fact]
    public async Task Concurrent_claimers_take_each_run_exactly_once()
    {
        const int runs = 1600;
        for (var i = 0; i < runs; i += 200) await Store.EnqueueAsync(Enumerable.Range(0, 200).Select(_ => Order()).ToList());
        var seen = new ConcurrentBag<Guid>();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (await Store.ClaimAsync(Worker($"worker-{w}")) is { } run) seen.Add(run.RunId);
        })));
        output.WriteLine($"{Store.Provider}: 8 concurrent claimers took {runs} runs at {runs / watch.Elapsed.TotalSeconds:F0} claims/s");
        Assert.Equal(runs, seen.Count);
        Assert.Equal(runs, seen.Distinct().Count());
        Assert.Equal(runs, await Store.CountRunsAsync(RunStatus.Claimed));
        Assert.Equal(0, await Store.CountRunsAsync(RunStatus.Available));
    }

    [Fact]
    public async Task Two_store_instances_on_one_database_claim_each_run_exactly_once()
    {
        await using var second = await FerryStore.OpenAsync(_options);
        await Store.EnqueueAsync(Enumerable.Range(0, 200).Select(_ => Order()).ToList());
        await second.EnqueueAsync(Enumerable.Range(0, 200).Select(_ => Order()).ToList());
        var seen = new ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? Store : second;
            while (await store.ClaimAsync(Worker($"node{w % 2}-worker-{w}")) is { } run) seen.Add(run.RunId);
        })));
        Assert.Equal(400, seen.Distinct().Count());
        Assert.Equal(400, seen.Count);
    }

    [Fact]
    public async Task Concurrent_claimers_never_exceed_a_workflow_limit()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 60).Select(i => Order(workflow: i % 2 == 0 ? "limited" : "free")).ToList());
        var request = Worker() with { WorkflowLimits = new Dictionary<(string, string), int> { [("p", "limited")] = 3 } };
        var claimed = new ConcurrentBag<ClaimedRun>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (await Store.ClaimAsync(request) is { } run) claimed.Add(run);
        })));
        Assert.Equal(3, claimed.Count(r => r.Workflow == "limited"));
        Assert.Equal(30, claimed.Count(r => r.Workflow == "free"));
    }

    [Fact]
    public async Task Claims_respect_project_and_workflow_limits_counting_claimed_and_started()
    {
        await Store.EnqueueAsync([Order("a", "x"), Order("a", "x"), Order("a", "y"), Order("a", "y"), Order("b", "x"), Order("b", "x"), Order("b", "x")]);
        var limits = Worker() with
        {
            ProjectLimits = new Dictionary<string, int> { ["a"] = 3 },
            WorkflowLimits = new Dictionary<(string, string), int> { [("a", "x")] = 1, [("b", "x")] = 2 },
        };
        var first = await ClaimAllAsync(limits);
        Assert.Equal(["a/x", "a/y", "a/y", "b/x", "b/x"], first.Select(r => $"{r.Project}/{r.Workflow}").Order());
        Assert.True(await Store.MarkStartedAsync(first[0].RunId, "w1"));
        Assert.Null(await Store.ClaimAsync(limits));

        // Finishing the started a/x run frees a slot for a/x (project a: 2 active of 3, workflow a/x: 0 of 1).
        await FinishAsync(first[0]);
        var next = await Store.ClaimAsync(limits);
        Assert.Equal(("a", "x"), (next!.Project, next.Workflow));
        Assert.Null(await Store.ClaimAsync(limits));
        Assert.Single(await ClaimAllAsync(Worker()));
    }

    [Fact]
    public async Task Ordered_workflow_runs_one_at_a_time_in_arrival_order()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++) ids.Add((await Store.EnqueueAsync([Order("p", "ordered", $$"""{"n":{{i}}}""")]))[0].RunId);
        await Store.EnqueueAsync([Order("p", "free"), Order("p", "free")]);
        var request = Worker() with { OrderedWorkflows = new HashSet<(string, string)> { ("p", "ordered") } };
        var taken = new List<Guid>();
        while (true)
        {
            var batch = await ClaimAllAsync(request);
            var ordered = batch.Where(r => r.Workflow == "ordered").ToList();
            if (batch.Count == 0) break;
            Assert.True(ordered.Count <= 1, "ordered workflow had two runs in flight");
            foreach (var run in batch) await FinishAsync(run);
            taken.AddRange(ordered.Select(r => r.RunId));
        }
        Assert.Equal(ids, taken);
    }

    [Fact]
    public async Task Ordered_workflow_waits_for_its_oldest_run_even_when_a_later_one_is_due()
    {
        var oldest = await Store.EnqueueAsync([Order("p", "o", availableAt: Clock.GetUtcNow().AddMinutes(5))]);
        await Store.EnqueueAsync([Order("p", "o")]);
        var request = Worker() with { OrderedWorkflows = new HashSet<(string, string)> { ("p", "o") } };
        Assert.Null(await Store.ClaimAsync(request));
        Clock.Advance(TimeSpan.FromMinutes(5));
        var first = await Store.ClaimAsync(request);
        Assert.Equal(oldest[0].RunId, first!.RunId);
        Assert.Null(await Store.ClaimAsync(request));
    }

    [Fact]
    public async Task Run_available_in_the_future_waits_until_it_is_due()
    {
        await Store.EnqueueAsync([Order(availableAt: Clock.GetUtcNow().AddSeconds(30))]);
        Assert.Null(await Store.ClaimAsync(Worker()));
        Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(await Store.ClaimAsync(Worker()));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await Store.ClaimAsync(Worker()));
    }

    [Fact]
    public async Task Claimed_run_carries_its_input_version_and_lease()
    {
        await Store.EnqueueAsync([new NewWorkOrder("p", "w", "hook", 7, """{"data":{"x":1}}""", StartStep: "load")]);
        var run = await Store.ClaimAsync(Worker(lease: TimeSpan.FromSeconds(45)));
        Assert.Equal(("""{"data":{"x":1}}""", 7, 1, "load"), (run!.InputJson, run.Version, run.Attempt, run.StartStep));
        Assert.Equal(Clock.GetUtcNow().AddSeconds(45), run.LeaseUntil);
        var stored = await Store.GetRunAsync(run.RunId);
        Assert.Equal((RunStatus.Claimed, "w1"), (stored!.Status, stored.WorkerId));
        Assert.Equal(RunStatus.Claimed, (await Store.GetWorkOrderAsync(run.WorkOrderId))!.Status);
    }

    [Fact]
    public async Task An_input_given_as_UTF8_bytes_is_stored_as_the_same_text()
    {
        const string json = """{"data":{"name":"Amina Okello é","district":"Gulu – 北"}}""";
        var utf8 = System.Text.Encoding.UTF8.GetBytes(json);
        var ids = await Store.EnqueueAsync([new NewWorkOrder("p", "w", "hook", 1, null, InputUtf8: utf8), Order(input: """{"data":{"text":true}}""")]);

        var order = (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!;
        Assert.Equal(json, await Store.GetDataclipAsync(order.InputDataclipId));
        var run = await Store.ClaimAsync(Worker());
        Assert.Equal((ids[0].RunId, json), (run!.RunId, run.InputJson));
    }

    [Fact]
    public async Task A_work_order_without_input_is_refused_naming_it()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Store.EnqueueAsync([Order(), new NewWorkOrder("p", "w", "hook", 1, null)]));
        Assert.Contains("batch[1].InputJson", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Heartbeat_extends_the_lease_so_the_janitor_leaves_the_run_alone()
    {
        await Store.EnqueueAsync([Order()]);
        var run = await Store.ClaimAsync(Worker(lease: TimeSpan.FromSeconds(30)));
        Assert.True(await Store.MarkStartedAsync(run!.RunId, "w1"));
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await Store.HeartbeatAsync(run.RunId, "w1", TimeSpan.FromSeconds(30)));
        Assert.False(await Store.HeartbeatAsync(run.RunId, "someone-else", TimeSpan.FromSeconds(30)));
        Assert.Empty(await Store.ReclaimLostAsync(Clock.GetUtcNow().AddSeconds(25)));
        Assert.Single(await Store.ReclaimLostAsync(Clock.GetUtcNow().AddSeconds(31)));
        Assert.False(await Store.HeartbeatAsync(run.RunId, "w1", TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Expired_lease_marks_the_run_lost_and_retries_it_with_the_next_attempt_after_backoff()
    {
        var retry = new RetryPolicy(3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15));
        var ids = await Store.EnqueueAsync([Order(retry: retry)]);
        var first = await Store.ClaimAsync(Worker(lease: TimeSpan.FromSeconds(5)));
        Clock.Advance(TimeSpan.FromSeconds(6));
        var lost = Assert.Single(await Store.ReclaimLostAsync(Clock.GetUtcNow()));
        Assert.Equal((first!.RunId, 1), (lost.RunId, lost.Attempt));
        Assert.Equal(Clock.GetUtcNow().AddSeconds(10), lost.RetryAt);
        var lostRun = await Store.GetRunAsync(first.RunId);
        Assert.Equal(RunStatus.Lost, lostRun!.Status);
        Assert.Contains("w1", lostRun.Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Available, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);

        Assert.Null(await Store.ClaimAsync(Worker("w2")));
        Clock.Advance(TimeSpan.FromSeconds(10));
        var second = await Store.ClaimAsync(Worker("w2", TimeSpan.FromSeconds(5)));
        Assert.Equal((lost.RetryRunId, 2, first.InputJson), (second!.RunId, second.Attempt, second.InputJson));

        // The second retry waits 20 s by the exponent, capped at MaxBackoff = 15 s.
        Clock.Advance(TimeSpan.FromSeconds(6));
        var lostAgain = Assert.Single(await Store.ReclaimLostAsync(Clock.GetUtcNow()));
        Assert.Equal(Clock.GetUtcNow().AddSeconds(15), lostAgain.RetryAt);
        Assert.Equal(3, (await Store.ListRunsAsync(ids[0].WorkOrderId)).Count);
    }

    [Fact]
    public async Task Lost_run_is_not_retried_once_its_attempts_are_used()
    {
        var ids = await Store.EnqueueAsync([Order(retry: new RetryPolicy(2, TimeSpan.Zero, TimeSpan.Zero))]);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var run = await Store.ClaimAsync(Worker(lease: TimeSpan.FromSeconds(1)));
            Assert.Equal(attempt, run!.Attempt);
            Clock.Advance(TimeSpan.FromSeconds(2));
            var lost = Assert.Single(await Store.ReclaimLostAsync(Clock.GetUtcNow()));
            Assert.Equal(attempt == 1, lost.RetryRunId is not null);
        }
        Assert.Null(await Store.ClaimAsync(Worker()));
        Assert.Equal(RunStatus.Lost, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);
        Assert.Equal([RunStatus.Lost, RunStatus.Lost], (await Store.ListRunsAsync(ids[0].WorkOrderId)).Select(r => r.Status));
    }

    [Fact]
    public async Task Completion_writes_status_step_runs_logs_and_dataclips_in_one_go()
    {
        var ids = await Store.EnqueueAsync([Order(input: """{"data":{"in":1}}""")]);
        var run = await Store.ClaimAsync(Worker());
        Assert.True(await Store.MarkStartedAsync(run!.RunId, "w1"));
        var t0 = Clock.GetUtcNow();
        Assert.True(await Store.AppendLogsAsync(run.RunId, [new LogLineData(t0, "debug", "load", "streamed while running")]));
        var completion = new RunCompletion(run.RunId, "w1", RunStatus.Failed, t0.AddSeconds(2), "step 'push' failed: 502", """{"data":{"out":2}}""",
            [
                new StepRunData("load", "success", t0, 120, 4096, null, """{"data":{"in":1}}""", """{"data":{"mid":1}}"""),
                new StepRunData("push", "failed", t0.AddMilliseconds(120), 800, 1024, "HTTP 502 from https://hmis.example", """{"data":{"mid":1}}""", null),
            ],
            [new LogLineData(t0, "info", "load", "loaded 1 record"), new LogLineData(t0.AddSeconds(1), "error", "push", "HTTP 502"), new LogLineData(t0.AddSeconds(2), "info", null, "run failed")]);
        Assert.True(await Store.CompleteAsync(completion));

        var stored = await Store.GetRunAsync(run.RunId);
        Assert.Equal((RunStatus.Failed, "step 'push' failed: 502", t0.AddSeconds(2)), (stored!.Status, stored.Error, stored.FinishedAt));
        Assert.Null(stored.LeaseUntil);
        Assert.Equal("""{"data":{"out":2}}""", await Store.GetDataclipAsync(stored.OutputDataclipId!.Value));
        Assert.Equal(RunStatus.Failed, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);

        var steps = await Store.ListStepRunsAsync(run.RunId);
        Assert.Equal(["load", "push"], steps.Select(s => s.StepId));
        Assert.Equal((120L, 4096L, t0), (steps[0].DurationMs, steps[0].AllocatedBytes, steps[0].StartedAt));
        Assert.Equal("""{"data":{"mid":1}}""", await Store.GetDataclipAsync(steps[0].OutputDataclipId!.Value));
        Assert.Null(steps[1].OutputDataclipId);
        Assert.Equal("HTTP 502 from https://hmis.example", steps[1].Error);

        var logs = await Store.ListLogsAsync(run.RunId);
        Assert.Equal(["streamed while running", "loaded 1 record", "HTTP 502", "run failed"], logs.Select(l => l.Message));
        Assert.False(await Store.AppendLogsAsync(run.RunId, [new LogLineData(t0, "info", null, "too late")]));
        logs = logs.Skip(1).ToList();
        Assert.Equal(["load", "push", null], logs.Select(l => l.StepId));
        var tail = await Store.ListLogsAsync(run.RunId, afterSeq: logs[0].Seq, limit: 1);
        Assert.Equal(5, (await Store.ListLogsAsync(run.RunId)).Count + 1);
        Assert.Equal("HTTP 502", Assert.Single(tail).Message);
    }

    [Fact]
    public async Task Final_state_never_changes_completion_after_cancel_is_refused()
    {
        var ids = await Store.EnqueueAsync([Order()]);
        var run = await Store.ClaimAsync(Worker());
        Assert.True(await Store.CancelAsync(run!.RunId));
        Assert.False(await Store.MarkStartedAsync(run.RunId, "w1"));
        Assert.False(await Store.CompleteAsync(new RunCompletion(run.RunId, "w1", RunStatus.Success, Clock.GetUtcNow(), null, "{}", [],
            [new LogLineData(Clock.GetUtcNow(), "info", null, "late")])));
        Assert.Equal(RunStatus.Cancelled, (await Store.GetRunAsync(run.RunId))!.Status);
        Assert.Equal(RunStatus.Cancelled, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);
        Assert.Empty(await Store.ListLogsAsync(run.RunId));
        Assert.False(await Store.CancelAsync(run.RunId));
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Store.ReclaimLostAsync(Clock.GetUtcNow()));
    }

    [Fact]
    public async Task Completion_by_a_worker_that_does_not_hold_the_run_is_refused()
    {
        await Store.EnqueueAsync([Order()]);
        var run = await Store.ClaimAsync(Worker("owner"));
        Assert.False(await Store.CompleteAsync(new RunCompletion(run!.RunId, "intruder", RunStatus.Success, Clock.GetUtcNow(), null, null, [], [])));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.CompleteAsync(new RunCompletion(run.RunId, "owner", RunStatus.Lost, Clock.GetUtcNow(), null, null, [], [])));
        Assert.Contains("success, failed", error.Message, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Claimed, (await Store.GetRunAsync(run.RunId))!.Status);
    }

    [Fact]
    public async Task Cancelling_a_started_run_asks_the_worker_to_stop()
    {
        var ids = await Store.EnqueueAsync([Order(), Order()]);
        Assert.True(await Store.CancelAsync(ids[1].RunId));
        Assert.Equal(RunStatus.Cancelled, (await Store.GetRunAsync(ids[1].RunId))!.Status);
        var run = await Store.ClaimAsync(Worker());
        Assert.Equal(ids[0].RunId, run!.RunId);
        Assert.Null(await Store.ClaimAsync(Worker()));
        Assert.True(await Store.MarkStartedAsync(run.RunId, "w1"));
        Assert.False(await Store.IsCancelRequestedAsync(run.RunId));
        Assert.True(await Store.CancelAsync(run.RunId));
        Assert.True(await Store.IsCancelRequestedAsync(run.RunId));
        Assert.Equal(RunStatus.Started, (await Store.GetRunAsync(run.RunId))!.Status);
        await FinishAsync(run, status: RunStatus.Cancelled);
        Assert.Equal(RunStatus.Cancelled, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);
        Assert.False(await Store.CancelAsync(Guid.CreateVersion7()));
    }
}
