using System.Collections.Concurrent;
using Ferry.Storage;

namespace Ferry.Tests.Storage;

/// <summary>The batch paths of the run queue: ClaimManyAsync and CompleteManyAsync. Part of the compliance suite.</summary>
public abstract partial class StoreCompliance
{
    [Fact]
    public async Task ClaimMany_takes_at_most_max_runs_oldest_first_with_their_inputs()
    {
        var enqueued = new List<EnqueuedRun>();
        for (var i = 0; i < 10; i++) enqueued.AddRange(await Store.EnqueueAsync([Order(input: $$"""{"n":{{i}}}""")]));

        var first = await Store.ClaimManyAsync(Worker(), 4);
        var second = await Store.ClaimManyAsync(Worker(), 4);
        var third = await Store.ClaimManyAsync(Worker(), 4);

        Assert.Equal(enqueued.Select(e => e.RunId), first.Concat(second).Concat(third).Select(r => r.RunId));
        Assert.Equal([4, 4, 2], new[] { first.Count, second.Count, third.Count });
        Assert.Equal("""{"n":5}""", second[1].InputJson);
        Assert.Equal(enqueued[5].WorkOrderId, second[1].WorkOrderId);
        Assert.Empty(await Store.ClaimManyAsync(Worker(), 4));
        Assert.Equal(10, await Store.CountRunsAsync(RunStatus.Claimed));
        Assert.Equal(RunStatus.Claimed, (await Store.GetWorkOrderAsync(enqueued[9].WorkOrderId))!.Status);
        var run = (await Store.GetRunAsync(first[0].RunId))!;
        Assert.Equal("w1", run.WorkerId);
        Assert.Null(run.StartedAt);
        Assert.True(await Store.MarkStartedAsync(first[0].RunId, "w1"));
    }

    [Fact]
    public async Task ClaimMany_skips_runs_that_are_not_due_yet()
    {
        await Store.EnqueueAsync([Order(availableAt: Clock.GetUtcNow().AddMinutes(5)), Order()]);
        Assert.Single(await Store.ClaimManyAsync(Worker(), 10));
        Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Single(await Store.ClaimManyAsync(Worker(), 10));
    }

    [Fact]
    public async Task ClaimMany_with_start_marks_the_runs_started_in_the_same_statement()
    {
        var enqueued = await Store.EnqueueAsync([Order(), Order()]);
        var runs = await Store.ClaimManyAsync(Worker(), 5, start: true);

        Assert.Equal(2, runs.Count);
        Assert.Equal(2, await Store.CountRunsAsync(RunStatus.Started));
        var run = (await Store.GetRunAsync(runs[0].RunId))!;
        Assert.Equal(Clock.GetUtcNow(), run.StartedAt);
        Assert.Equal(RunStatus.Started, (await Store.GetWorkOrderAsync(enqueued[1].WorkOrderId))!.Status);
        Assert.False(await Store.MarkStartedAsync(runs[0].RunId, "w1")); // already started: nothing to do twice
    }

    [Fact]
    public async Task ClaimMany_counts_the_runs_it_takes_against_workflow_and_project_limits()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 20).Select(i => Order(workflow: i % 2 == 0 ? "limited" : "free")).ToList());
        await Store.EnqueueAsync(Enumerable.Range(0, 10).Select(_ => Order(project: "small")).ToList());
        await Store.ClaimAsync(Worker() with { WorkflowLimits = new Dictionary<(string, string), int> { [("p", "limited")] = 1 } }); // one limited run active
        var request = Worker() with
        {
            WorkflowLimits = new Dictionary<(string, string), int> { [("p", "limited")] = 3 },
            ProjectLimits = new Dictionary<string, int> { ["small"] = 4 },
        };

        var runs = await Store.ClaimManyAsync(request, 100);

        Assert.Equal(2, runs.Count(r => r.Workflow == "limited"));
        Assert.Equal(10, runs.Count(r => r.Workflow == "free"));
        Assert.Equal(4, runs.Count(r => r.Project == "small"));
        Assert.Empty(await Store.ClaimManyAsync(request, 100));
    }

    [Fact]
    public async Task ClaimMany_gives_an_ordered_workflow_one_run_at_a_time_in_arrival_order()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add((await Store.EnqueueAsync([Order("p", "ordered")]))[0].RunId);
        await Store.EnqueueAsync([Order("p", "free"), Order("p", "free")]);
        var request = Worker() with { OrderedWorkflows = new HashSet<(string, string)> { ("p", "ordered") } };

        var taken = new List<Guid>();
        for (var round = 0; round < 3; round++)
        {
            var runs = await Store.ClaimManyAsync(request, 10);
            var ordered = runs.Where(r => r.Workflow == "ordered").ToList();
            Assert.Single(ordered);
            Assert.DoesNotContain(await Store.ClaimManyAsync(request, 10), r => r.Workflow == "ordered");
            taken.Add(ordered[0].RunId);
            await FinishAsync(ordered[0]);
        }
        Assert.Equal(ids, taken);
        Assert.Equal(2, await Store.CountRunsAsync(RunStatus.Claimed)); // the free runs came with the first batch
    }

    [Fact]
    public async Task Concurrent_batch_claimers_take_each_run_exactly_once()
    {
        const int runs = 1200;
        for (var i = 0; i < runs; i += 200) await Store.EnqueueAsync(Enumerable.Range(0, 200).Select(_ => Order()).ToList());
        var seen = new ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            while (await Store.ClaimManyAsync(Worker($"worker-{w}"), 16) is { Count: > 0 } batch)
            {
                foreach (var run in batch) seen.Add(run.RunId);
            }
        })));
        Assert.Equal(runs, seen.Count);
        Assert.Equal(runs, seen.Distinct().Count());
        Assert.Equal(runs, await Store.CountRunsAsync(RunStatus.Claimed));
    }

    [Fact]
    public async Task ClaimMany_refuses_a_batch_size_out_of_range_naming_the_limits()
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ClaimManyAsync(Worker(), 0));
        Assert.Equal("max", error.ParamName);
        Assert.Contains("between 1 and 1000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteMany_writes_every_accepted_completion_and_reports_refused_ones_without_aborting_the_others()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 4).Select(i => Order(input: $$"""{"n":{{i}}}""")).ToList());
        var runs = await Store.ClaimManyAsync(Worker(), 4, start: true);
        Assert.True(await Store.CompleteAsync(Done(runs[1], RunStatus.Success))); // already final: refused below
        var now = Clock.GetUtcNow();
        var completions = new[]
        {
            Done(runs[0], RunStatus.Success) with
            {
                Steps = [new StepRunData("one", "success", now, 3, 100, null, """{"in":0}""", """{"out":0}""")],
                Logs = [new LogLineData(now, "info", "one", "hello")],
            },
            Done(runs[1], RunStatus.Failed),
            Done(runs[2], RunStatus.Failed, worker: "someone-else"),
            Done(runs[3], RunStatus.Failed) with { Error = "step two failed" },
        };

        var results = await Store.CompleteManyAsync(completions);

        Assert.Equal([true, false, false, true], results);
        var first = (await Store.GetRunAsync(runs[0].RunId))!;
        Assert.Equal(RunStatus.Success, first.Status);
        Assert.Equal("""{"out":"final"}""", await Store.GetDataclipAsync(first.OutputDataclipId!.Value));
        var step = Assert.Single(await Store.ListStepRunsAsync(runs[0].RunId));
        Assert.Equal("""{"in":0}""", await Store.GetDataclipAsync(step.InputDataclipId!.Value));
        Assert.Equal("hello", Assert.Single(await Store.ListLogsAsync(runs[0].RunId)).Message);
        Assert.Equal(RunStatus.Success, (await Store.GetRunAsync(runs[1].RunId))!.Status); // the earlier completion stands
        Assert.Equal(RunStatus.Started, (await Store.GetRunAsync(runs[2].RunId))!.Status);
        Assert.Empty(await Store.ListStepRunsAsync(runs[2].RunId));
        var fourth = (await Store.GetRunAsync(runs[3].RunId))!;
        Assert.Equal("step two failed", fourth.Error);
        Assert.Equal(RunStatus.Success, (await Store.GetWorkOrderAsync(runs[0].WorkOrderId))!.Status);
        Assert.Equal(RunStatus.Started, (await Store.GetWorkOrderAsync(runs[2].WorkOrderId))!.Status);
        Assert.Equal(RunStatus.Failed, (await Store.GetWorkOrderAsync(runs[3].WorkOrderId))!.Status);
    }

    [Fact]
    public async Task CompleteMany_given_the_same_run_twice_accepts_the_first_completion_only()
    {
        await Store.EnqueueAsync([Order(), Order()]);
        var runs = await Store.ClaimManyAsync(Worker(), 2, start: true);

        var results = await Store.CompleteManyAsync([Done(runs[0], RunStatus.Success), Done(runs[0], RunStatus.Failed), Done(runs[1], RunStatus.Failed)]);

        Assert.Equal([true, false, true], results);
        Assert.Equal(RunStatus.Success, (await Store.GetRunAsync(runs[0].RunId))!.Status);
        Assert.Equal(RunStatus.Failed, (await Store.GetRunAsync(runs[1].RunId))!.Status);
    }

    [Fact]
    public async Task ClaimMany_gives_each_run_its_input_dataclip_and_its_flows_cursor()
    {
        await Store.SetCursorAsync("p", "sync", """{"page":7}""");
        var enqueued = await Store.EnqueueAsync([Order("p", "sync", input: """{"a":1}"""), Order("p", "other")]);

        var runs = await Store.ClaimManyAsync(Worker(), 2, start: true);

        var order = (await Store.GetWorkOrderAsync(enqueued[0].WorkOrderId))!;
        Assert.Equal(order.InputDataclipId, runs[0].InputDataclipId);
        Assert.Equal("""{"page":7}""", runs[0].CursorJson);
        Assert.Null(runs[1].CursorJson);
    }

    [Fact]
    public async Task CompleteMany_stores_a_step_input_equal_to_the_runs_input_as_that_dataclip_not_a_copy()
    {
        await Store.EnqueueAsync([Order(input: """{"n":1}""")]);
        var run = Assert.Single(await Store.ClaimManyAsync(Worker(), 1, start: true));
        var now = Clock.GetUtcNow();

        Assert.Equal([true], await Store.CompleteManyAsync([Done(run, RunStatus.Success) with
        {
            Steps =
            [
                new StepRunData("one", "success", now, 1, 10, null, """{"n":1}""", """{"n":2}"""),
                new StepRunData("two", "success", now, 1, 10, null, """{"n":2}""", """{"out":"final"}"""),
            ],
            InputDataclipId = run.InputDataclipId,
            InputJson = run.InputJson,
        }]));

        var steps = await Store.ListStepRunsAsync(run.RunId);
        Assert.Equal(run.InputDataclipId, steps[0].InputDataclipId);
        Assert.Equal(steps[0].OutputDataclipId, steps[1].InputDataclipId);
        Assert.Equal((await Store.GetRunAsync(run.RunId))!.OutputDataclipId, steps[1].OutputDataclipId);
        Assert.Equal("""{"n":2}""", await Store.GetDataclipAsync(steps[1].InputDataclipId!.Value));
        // The run's input, one dataclip handed between the steps, and the output: no copies.
        Assert.Equal(3, new[] { steps[0].InputDataclipId, steps[0].OutputDataclipId, steps[1].OutputDataclipId }.Distinct().Count());
    }

    [Fact]
    public async Task CompleteMany_refuses_a_state_workers_do_not_report_and_writes_nothing()
    {
        await Store.EnqueueAsync([Order(), Order()]);
        var runs = await Store.ClaimManyAsync(Worker(), 2);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.CompleteManyAsync([Done(runs[0], RunStatus.Success), Done(runs[1], RunStatus.Lost)]));

        Assert.Contains("completions[1].Status 'lost'", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, await Store.CountRunsAsync(RunStatus.Claimed));
        Assert.Empty(await Store.CompleteManyAsync([]));
    }

    private RunCompletion Done(ClaimedRun run, string status, string worker = "w1") =>
        new(run.RunId, worker, status, Clock.GetUtcNow(), null, """{"out":"final"}""", [], []);

    /// <summary>
    /// The hot write paths bind their values by position (SQLite): text must arrive exactly as given, whatever its
    /// length and script, an empty text must stay empty (not become NULL), and large numbers must not be cut.
    /// </summary>
    [Fact]
    public async Task Intake_and_completion_store_every_value_exactly_empty_noteand_non_ascii_text_included()
    {
        var note = "{\"note\":\"" + string.Concat(Enumerable.Repeat("Gulu–Kampala ✓ 🚑 ", 400)) + "\"}";
        var enqueued = await Store.EnqueueAsync([Order(input: note), Order(input: "")]);
        var runs = await Store.ClaimManyAsync(Worker(), 2, start: true);
        var now = Clock.GetUtcNow();

        Assert.Equal([true, true], await Store.CompleteManyAsync(
        [
            Done(runs[0], RunStatus.Success) with
            {
                Steps = [new StepRunData("één", "success", now, long.MaxValue / 3, long.MaxValue / 7, "", note, """{"ok":"ünïcode"}""")],
                Logs = [new LogLineData(now, "info", "één", ""), new LogLineData(now, "warn", null, note)],
            },
            Done(runs[1], RunStatus.Failed) with { Error = "" },
        ]));

        Assert.Equal(note, runs[0].InputJson);
        Assert.Equal(note, await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(enqueued[0].WorkOrderId))!.InputDataclipId));
        Assert.Equal("", await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(enqueued[1].WorkOrderId))!.InputDataclipId));
        var step = Assert.Single(await Store.ListStepRunsAsync(runs[0].RunId));
        Assert.Equal(("één", long.MaxValue / 3, long.MaxValue / 7, ""), (step.StepId, step.DurationMs, step.AllocatedBytes, step.Error));
        Assert.Equal("""{"ok":"ünïcode"}""", await Store.GetDataclipAsync(step.OutputDataclipId!.Value));
        var logs = await Store.ListLogsAsync(runs[0].RunId);
        Assert.Equal(["", note], logs.Select(l => l.Message));
        Assert.Equal(["één", null], logs.Select(l => l.StepId));
        Assert.Equal("", (await Store.GetRunAsync(runs[1].RunId))!.Error);
    }

    /// <summary>
    /// A large batch takes the database's bulk path where it has one (PostgreSQL: binary COPY) and a small one INSERT
    /// statements: both must store the same values, NULLs, empty texts, non-ASCII text and large numbers included.
    /// </summary>
    [Fact]
    public async Task A_batch_large_enough_for_the_bulk_path_stores_the_same_values_as_single_inserts()
    {
        var received = Clock.GetUtcNow().AddSeconds(-30);
        var orders = Enumerable.Range(0, 24).Select(i => new NewWorkOrder(
            "p", $"w{i % 3}", i % 2 == 0 ? "hook" : "manual", i + 1,
            i % 5 == 0 ? "" : $$"""{"n":{{i}},"note":"Gulu–Kampala ✓ 🚑"}""",
            i % 4 == 0 ? new RetryPolicy(5, TimeSpan.FromSeconds(i), TimeSpan.FromDays(400)) : null,
            StartStep: i % 3 == 0 ? "second" : null,
            RequestMetaJson: i % 2 == 0 ? $$$"""{"headers":{"x-n":"{{{i}}}"}}""" : null,
            AvailableAt: i % 6 == 0 ? Clock.GetUtcNow().AddMinutes(i) : null,
            ReceivedAt: i % 7 == 0 ? received : null)).ToList();

        var single = new List<EnqueuedRun>();
        foreach (var order in orders) single.AddRange(await Store.EnqueueAsync([order]));
        var bulk = await Store.EnqueueAsync(orders);

        for (var i = 0; i < orders.Count; i++)
        {
            var (a, b) = ((await Store.GetWorkOrderAsync(single[i].WorkOrderId))!, (await Store.GetWorkOrderAsync(bulk[i].WorkOrderId))!);
            Assert.Equal(a with { Id = default, InputDataclipId = default, LastRunId = default }, b with { Id = default, InputDataclipId = default, LastRunId = default });
            Assert.Equal(await Store.GetDataclipAsync(a.InputDataclipId), await Store.GetDataclipAsync(b.InputDataclipId));
            Assert.Equal(orders[i].InputJson, await Store.GetDataclipAsync(b.InputDataclipId));
            var (ra, rb) = ((await Store.GetRunAsync(single[i].RunId))!, (await Store.GetRunAsync(bulk[i].RunId))!);
            Assert.Equal(ra with { Id = default, WorkOrderId = default, InputDataclipId = default }, rb with { Id = default, WorkOrderId = default, InputDataclipId = default });
        }

        var run = (await Store.ClaimManyAsync(Worker(), 1, start: true))[0];
        var now = Clock.GetUtcNow();
        var steps = Enumerable.Range(0, 20).Select(i => new StepRunData(
            $"s{i}", i == 19 ? "failed" : "success", now.AddMilliseconds(i), long.MaxValue / (i + 2), i, i == 19 ? "" : null,
            i == 0 ? null : $$"""{"step":{{i - 1}}}""", i == 19 ? null : $$"""{"step":{{i}},"ok":"ünïcode"}""")).ToList();
        var logs = Enumerable.Range(0, 20).Select(i => new LogLineData(now.AddMilliseconds(i), i % 2 == 0 ? "info" : "warn", i % 3 == 0 ? null : $"s{i}", i == 4 ? "" : $"line {i} ✓")).ToList();
        Assert.Equal([true], await Store.CompleteManyAsync([Done(run, RunStatus.Failed) with { Steps = steps, Logs = logs, OutputJson = null }]));

        var stored = await Store.ListStepRunsAsync(run.RunId);
        Assert.Equal(steps.Select(s => (s.StepId, s.Status, s.DurationMs, s.AllocatedBytes, s.Error)), stored.Select(s => (s.StepId, s.Status, s.DurationMs, s.AllocatedBytes, s.Error)));
        Assert.Equal(steps.Select(s => s.StartedAt), stored.Select(s => s.StartedAt));
        for (var i = 0; i < steps.Count; i++)
        {
            Assert.Equal(steps[i].InputJson, stored[i].InputDataclipId is { } input ? await Store.GetDataclipAsync(input) : null);
            Assert.Equal(steps[i].OutputJson, stored[i].OutputDataclipId is { } output ? await Store.GetDataclipAsync(output) : null);
        }
        var lines = await Store.ListLogsAsync(run.RunId);
        Assert.Equal(logs.Select(l => (l.Time, l.Level, l.StepId, l.Message)), lines.Select(l => (l.Time, l.Level, l.StepId, l.Message)));
    }
}
