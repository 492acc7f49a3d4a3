using Ferry.Storage;

namespace Ferry.Tests.Storage;

/// <summary>Retries, retention, leases and metrics counts: part of the same compliance suite.</summary>
public abstract partial class StoreCompliance
{
    private async Task<(EnqueuedRun Ids, ClaimedRun Run)> RunToEndAsync(string status, IReadOnlyList<StepRunData>? steps = null, string project = "p")
    {
        var ids = (await Store.EnqueueAsync([Order(project, input: """{"data":{"original":true}}""")]))[0];
        var run = await Store.ClaimAsync(Worker());
        Assert.Equal(ids.RunId, run!.RunId);
        Assert.True(await Store.CompleteAsync(new RunCompletion(run.RunId, "w1", status, Clock.GetUtcNow(), null, """{"data":"out"}""", steps ?? [], [])));
        return (ids, run);
    }

    private static StepRunData Step(string id, string input) => new(id, "success", DateTimeOffset.UnixEpoch, 1, 1, null, input, """{"data":"after"}""");

    [Fact]
    public async Task Retry_runs_a_finished_work_order_again_with_the_next_attempt_on_its_version()
    {
        var (ids, _) = await RunToEndAsync(RunStatus.Failed);
        var retry = await Store.RetryAsync(ids.WorkOrderId);
        Assert.Equal(ids.WorkOrderId, retry.WorkOrderId);
        Assert.Equal(RunStatus.Available, (await Store.GetWorkOrderAsync(ids.WorkOrderId))!.Status);
        var again = await Store.ClaimAsync(Worker());
        Assert.Equal((retry.RunId, 2, 1, """{"data":{"original":true}}""", (string?)null), (again!.RunId, again.Attempt, again.Version, again.InputJson, again.StartStep));
        await FinishAsync(again);
        var onLatest = await Store.RetryAsync(ids.WorkOrderId, version: 4);
        Assert.Equal((4, 3), ((await Store.GetRunAsync(onLatest.RunId))!.Version, (await Store.GetRunAsync(onLatest.RunId))!.Attempt));
    }

    [Fact]
    public async Task Retry_from_a_step_starts_there_with_the_input_that_step_received()
    {
        var (ids, _) = await RunToEndAsync(RunStatus.Failed, [Step("load", """{"data":"raw"}"""), Step("push", """{"data":"mapped"}""")]);
        var retry = await Store.RetryAsync(ids.WorkOrderId, fromStep: "push");
        var run = await Store.ClaimAsync(Worker());
        Assert.Equal((retry.RunId, "push", """{"data":"mapped"}"""), (run!.RunId, run.StartStep, run.InputJson));
        await FinishAsync(run);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.RetryAsync(ids.WorkOrderId, fromStep: "pussh"));
        Assert.Contains("steps with a stored input: load, push", error.Message, StringComparison.Ordinal);
        Assert.Equal("fromStep", error.ParamName);
    }

    [Fact]
    public async Task Retry_is_refused_while_a_run_is_in_flight_or_for_an_unknown_work_order()
    {
        var ids = await Store.EnqueueAsync([Order()]);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.RetryAsync(ids[0].WorkOrderId));
        Assert.Contains("in flight (available)", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.RetryAsync(Guid.CreateVersion7()));
        Assert.Single(await Store.ListRunsAsync(ids[0].WorkOrderId));
    }

    [Fact]
    public async Task Erase_all_wipes_dataclips_of_finished_work_orders_but_never_a_queued_input()
    {
        var (done, _) = await RunToEndAsync(RunStatus.Success, [Step("load", "{}")]);
        var queued = (await Store.EnqueueAsync([Order()]))[0];
        var result = await Store.ApplyRetentionAsync("p", new RetentionPolicy(RetentionPolicy.EraseAll), Clock.GetUtcNow());
        Assert.Equal(new RetentionResult(4, 0), result); // input, output, step input, step output
        var order = await Store.GetWorkOrderAsync(done.WorkOrderId);
        Assert.Null(await Store.GetDataclipAsync(order!.InputDataclipId));
        Assert.NotNull(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(queued.WorkOrderId))!.InputDataclipId));
        var wipedRetry = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.RetryAsync(done.WorkOrderId));
        Assert.Contains("wiped by the project's retention policy", wipedRetry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retain_with_errors_keeps_only_failed_work_orders_data_until_the_period_ends()
    {
        var (ok, _) = await RunToEndAsync(RunStatus.Success);
        var (bad, _) = await RunToEndAsync(RunStatus.Failed);
        var (other, _) = await RunToEndAsync(RunStatus.Success, project: "other");
        var policy = new RetentionPolicy(RetentionPolicy.RetainWithErrors, DataclipPeriod: TimeSpan.FromDays(7));
        Assert.Equal(2, (await Store.ApplyRetentionAsync("p", policy, Clock.GetUtcNow())).DataclipsWiped);
        Assert.Null(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(ok.WorkOrderId))!.InputDataclipId));
        Assert.NotNull(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(bad.WorkOrderId))!.InputDataclipId));
        Assert.NotNull(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(other.WorkOrderId))!.InputDataclipId));
        Assert.Equal(2, (await Store.ApplyRetentionAsync("p", policy, Clock.GetUtcNow().AddDays(8))).DataclipsWiped);
        Assert.Null(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(bad.WorkOrderId))!.InputDataclipId));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ApplyRetentionAsync("p", new RetentionPolicy("keep_some"), Clock.GetUtcNow()));
    }

    [Fact]
    public async Task History_period_deletes_old_finished_work_orders_with_runs_steps_logs_and_dataclips()
    {
        var (old, oldRun) = await RunToEndAsync(RunStatus.Success, [Step("load", "{}")]);
        var stuck = (await Store.EnqueueAsync([Order(availableAt: Clock.GetUtcNow().AddDays(100))]))[0];
        Clock.Advance(TimeSpan.FromDays(40));
        var (recent, _) = await RunToEndAsync(RunStatus.Success);
        var oldInput = (await Store.GetWorkOrderAsync(old.WorkOrderId))!.InputDataclipId;

        var result = await Store.ApplyRetentionAsync("p", new RetentionPolicy(RetentionPolicy.RetainAll, HistoryPeriod: TimeSpan.FromDays(30)), Clock.GetUtcNow());
        Assert.Equal(1, result.WorkOrdersDeleted);
        Assert.Null(await Store.GetWorkOrderAsync(old.WorkOrderId));
        Assert.Null(await Store.GetRunAsync(oldRun.RunId));
        Assert.Empty(await Store.ListStepRunsAsync(oldRun.RunId));
        Assert.Null(await Store.GetDataclipAsync(oldInput));
        Assert.NotNull(await Store.GetWorkOrderAsync(stuck.WorkOrderId));
        Assert.NotNull(await Store.GetWorkOrderAsync(recent.WorkOrderId));
    }

    [Fact]
    public async Task History_period_deletes_old_work_orders_when_nothing_newer_exists()
    {
        var (old, _) = await RunToEndAsync(RunStatus.Failed);
        Clock.Advance(TimeSpan.FromDays(40));
        var result = await Store.ApplyRetentionAsync("p", new RetentionPolicy(RetentionPolicy.RetainAll, HistoryPeriod: TimeSpan.FromDays(30)), Clock.GetUtcNow());
        Assert.Equal(1, result.WorkOrdersDeleted);
        Assert.Null(await Store.GetWorkOrderAsync(old.WorkOrderId));
    }

    /// <summary>A pass works through a history longer than its batch size in many short transactions (so it never
    /// holds the writer for long) and still reaches every work order: deletions first, then the wipe.</summary>
    [Fact]
    public async Task A_pass_over_more_work_orders_than_its_batch_size_deletes_and_wipes_them_all()
    {
        var old = new List<EnqueuedRun>();
        for (var i = 0; i < 5; i++) old.Add((await RunToEndAsync(i % 2 == 0 ? RunStatus.Success : RunStatus.Failed)).Ids);
        Clock.Advance(TimeSpan.FromDays(40));
        var recent = new List<EnqueuedRun>();
        for (var i = 0; i < 7; i++) recent.Add((await RunToEndAsync(i % 3 == 0 ? RunStatus.Failed : RunStatus.Success)).Ids);
        var queued = (await Store.EnqueueAsync([Order(availableAt: Clock.GetUtcNow().AddDays(100))]))[0];

        var result = await Store.ApplyRetentionAsync("p", new RetentionPolicy(RetentionPolicy.EraseAll, HistoryPeriod: TimeSpan.FromDays(30)), Clock.GetUtcNow(), batchSize: 2);

        Assert.Equal(new RetentionResult(DataclipsWiped: 7 * 2, WorkOrdersDeleted: 5), result); // each recent one: input and output
        foreach (var ids in old) Assert.Null(await Store.GetWorkOrderAsync(ids.WorkOrderId));
        foreach (var ids in recent) Assert.Null(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(ids.WorkOrderId))!.InputDataclipId));
        Assert.NotNull(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(queued.WorkOrderId))!.InputDataclipId));
        Assert.Equal(new RetentionResult(0, 0), await Store.ApplyRetentionAsync("p", new RetentionPolicy(RetentionPolicy.EraseAll, HistoryPeriod: TimeSpan.FromDays(30)), Clock.GetUtcNow(), batchSize: 2));

        // The dataclip period across windows, up to the first work order created after its cutoff.
        Clock.Advance(TimeSpan.FromDays(10));
        var kept = (await RunToEndAsync(RunStatus.Failed)).Ids;
        var withErrors = new RetentionPolicy(RetentionPolicy.RetainWithErrors, DataclipPeriod: TimeSpan.FromDays(5));
        Assert.Equal(0, (await Store.ApplyRetentionAsync("p", withErrors, Clock.GetUtcNow(), batchSize: 2)).DataclipsWiped);
        Assert.NotNull(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(kept.WorkOrderId))!.InputDataclipId));
        Assert.Equal(2, (await Store.ApplyRetentionAsync("p", withErrors, Clock.GetUtcNow().AddDays(6), batchSize: 2)).DataclipsWiped);
        Assert.Null(await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(kept.WorkOrderId))!.InputDataclipId));
    }

    [Fact]
    public async Task Later_passes_go_on_from_the_last_yet_wipe_work_orders_that_finish_late_or_are_retried()
    {
        var policy = new RetentionPolicy(RetentionPolicy.RetainWithErrors);
        async Task<int> PassAsync() => (await Store.ApplyRetentionAsync("p", policy, Clock.GetUtcNow(), batchSize: 2)).DataclipsWiped;
        async Task<bool> InputKeptAsync(EnqueuedRun ids) => await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(ids.WorkOrderId))!.InputDataclipId) is not null;

        var (ok1, _) = await RunToEndAsync(RunStatus.Success);
        var (bad, _) = await RunToEndAsync(RunStatus.Failed);
        var (ok2, _) = await RunToEndAsync(RunStatus.Success);
        var late = (await Store.EnqueueAsync([Order(availableAt: Clock.GetUtcNow().AddDays(100))]))[0]; // not final for a while
        var (ok3, _) = await RunToEndAsync(RunStatus.Success);

        Assert.Equal(3 * 2, await PassAsync()); // input and output of each success
        Assert.False(await InputKeptAsync(ok1) || await InputKeptAsync(ok2) || await InputKeptAsync(ok3));
        Assert.True(await InputKeptAsync(bad) && await InputKeptAsync(late));
        Assert.Equal(0, await PassAsync());

        // The failed work order is retried and succeeds: its data is no longer kept, though earlier passes went past it.
        var retry = await Store.RetryAsync(bad.WorkOrderId);
        var again = await Store.ClaimAsync(Worker());
        Assert.Equal(retry.RunId, again!.RunId);
        await FinishAsync(again);
        Assert.Equal(2, await PassAsync()); // its input and its first run's output (the retry stored none)
        Assert.False(await InputKeptAsync(bad));

        // The work order that was still queued finishes: the passes never went past it.
        Clock.Advance(TimeSpan.FromDays(101));
        var lateRun = await Store.ClaimAsync(Worker());
        Assert.Equal(late.RunId, lateRun!.RunId);
        await FinishAsync(lateRun);
        var (ok4, _) = await RunToEndAsync(RunStatus.Success);
        Assert.Equal(1 + 2, await PassAsync()); // the late one's input (its run stored no output); the new one's two
        Assert.False(await InputKeptAsync(late) || await InputKeptAsync(ok4));
        Assert.Equal(0, await PassAsync());
    }

    [Fact]
    public async Task The_dataclip_period_wipes_a_retried_work_orders_newer_outputs_once_they_are_old_enough()
    {
        var policy = new RetentionPolicy(RetentionPolicy.RetainAll, DataclipPeriod: TimeSpan.FromDays(7));
        var (ids, _) = await RunToEndAsync(RunStatus.Failed); // day 0: input and output
        Clock.Advance(TimeSpan.FromDays(6));
        var retry = await Store.RetryAsync(ids.WorkOrderId);
        var again = await Store.ClaimAsync(Worker());
        Assert.Equal(retry.RunId, again!.RunId);
        Assert.True(await Store.CompleteAsync(new RunCompletion(again.RunId, "w1", RunStatus.Success, Clock.GetUtcNow(), null, """{"data":"again"}""", [], [])));

        Clock.Advance(TimeSpan.FromDays(2)); // day 8: the day-0 dataclips are past the period, the day-6 output is not
        Assert.Equal(2, (await Store.ApplyRetentionAsync("p", policy, Clock.GetUtcNow(), batchSize: 2)).DataclipsWiped);
        var output = (await Store.GetRunAsync(again.RunId))!.OutputDataclipId!.Value;
        Assert.NotNull(await Store.GetDataclipAsync(output));

        Clock.Advance(TimeSpan.FromDays(6)); // day 14
        Assert.Equal(1, (await Store.ApplyRetentionAsync("p", policy, Clock.GetUtcNow(), batchSize: 2)).DataclipsWiped);
        Assert.Null(await Store.GetDataclipAsync(output));
    }

    [Fact]
    public async Task A_named_lease_has_one_holder_until_it_expires_or_is_released()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("scheduler", "node-a", TimeSpan.FromSeconds(30)));
        Assert.False(await Store.TryAcquireLeaseAsync("scheduler", "node-b", TimeSpan.FromSeconds(30)));
        Assert.True(await Store.TryAcquireLeaseAsync("janitor", "node-b", TimeSpan.FromSeconds(30)));
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await Store.TryAcquireLeaseAsync("scheduler", "node-a", TimeSpan.FromSeconds(30)));
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.False(await Store.TryAcquireLeaseAsync("scheduler", "node-b", TimeSpan.FromSeconds(30)));
        Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.True(await Store.TryAcquireLeaseAsync("scheduler", "node-b", TimeSpan.FromSeconds(30)));
        await Store.ReleaseLeaseAsync("scheduler", "node-a");
        Assert.False(await Store.TryAcquireLeaseAsync("scheduler", "node-a", TimeSpan.FromSeconds(30)));
        await Store.ReleaseLeaseAsync("scheduler", "node-b");
        Assert.True(await Store.TryAcquireLeaseAsync("scheduler", "node-a", TimeSpan.FromSeconds(30)));
    }
}
