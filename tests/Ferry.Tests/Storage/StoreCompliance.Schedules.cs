using Ferry.Storage;

namespace Ferry.Tests.Storage;

/// <summary>Cron ticks, runs handed back on shutdown and claim times: part of the same compliance suite.</summary>
public abstract partial class StoreCompliance
{
    private static NewWorkOrder Tick(string trigger = "nightly") =>
        new("p", "w", trigger, 1, "{}", new RetryPolicy(3, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1)), RequestMetaJson: """{"tick":"t"}""");

    [Fact]
    public async Task A_schedule_starts_once_and_a_second_start_keeps_the_first_time()
    {
        var first = Clock.GetUtcNow();
        Assert.Equal(first, await Store.StartScheduleAsync("p", "w", "nightly", first));
        Assert.Equal(first, await Store.StartScheduleAsync("p", "w", "nightly", first.AddHours(5)));
        var tick = Assert.Single(await Store.ListScheduleTicksAsync("p"));
        Assert.Equal(new ScheduleTick("p", "w", "nightly", first), tick);
        Assert.Empty(await Store.ListScheduleTicksAsync("other"));
    }

    [Fact]
    public async Task A_due_tick_enqueues_one_work_order_with_its_retry_policy_and_the_same_or_an_older_tick_enqueues_nothing()
    {
        var start = Clock.GetUtcNow();
        await Store.StartScheduleAsync("p", "w", "nightly", start);

        var ran = await Store.EnqueueScheduledAsync(Tick(), start.AddHours(1));
        var again = await Store.EnqueueScheduledAsync(Tick(), start.AddHours(1));
        var older = await Store.EnqueueScheduledAsync(Tick(), start.AddMinutes(30));
        var next = await Store.EnqueueScheduledAsync(Tick(), start.AddHours(2));

        Assert.NotNull(ran);
        Assert.Null(again);
        Assert.Null(older);
        Assert.NotNull(next);
        Assert.Equal(start.AddHours(2), Assert.Single(await Store.ListScheduleTicksAsync("p")).LastTick);
        var order = (await Store.GetWorkOrderAsync(ran.WorkOrderId))!;
        Assert.Equal(("nightly", RunStatus.Available, """{"tick":"t"}""", 3), (order.Trigger, order.Status, order.RequestMetaJson, order.Retry.Attempts));
        var claimed = await Store.ClaimAsync(Worker());
        Assert.Equal((ran.RunId, "{}"), (claimed!.RunId, claimed.InputJson));
    }

    [Fact]
    public async Task Leaders_racing_for_the_same_tick_enqueue_it_exactly_once()
    {
        var start = Clock.GetUtcNow();
        await Store.StartScheduleAsync("p", "w", "nightly", start);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Store.EnqueueScheduledAsync(Tick(), start.AddDays(1)))));

        Assert.Single(results, r => r is not null);
        Assert.Single((await Store.ListWorkOrdersAsync(new WorkOrderQuery("p"))).Items);
    }

    [Fact]
    public async Task Advancing_a_schedule_moves_its_tick_forward_only_and_runs_nothing()
    {
        var start = Clock.GetUtcNow();
        await Store.AdvanceScheduleAsync("p", "w", "paused", start);
        await Store.AdvanceScheduleAsync("p", "w", "paused", start.AddDays(1));
        await Store.AdvanceScheduleAsync("p", "w", "paused", start.AddHours(1));

        Assert.Equal(start.AddDays(1), Assert.Single(await Store.ListScheduleTicksAsync("p")).LastTick);
        Assert.Empty((await Store.ListWorkOrdersAsync(new WorkOrderQuery("p"))).Items);
        Assert.Null(await Store.EnqueueScheduledAsync(Tick("paused"), start.AddHours(2)));
    }

    [Fact]
    public async Task A_requeued_run_is_available_again_in_its_place_and_its_late_completion_is_refused()
    {
        var ids = await Store.EnqueueAsync([Order(), Order()]);
        var first = (await Store.ClaimAsync(Worker("w1")))!;
        Assert.True(await Store.MarkStartedAsync(first.RunId, "w1"));

        Assert.Empty(await Store.RequeueAsync([(first.RunId, "someone-else")]));
        Assert.Equal([first.RunId], await Store.RequeueAsync([(first.RunId, "w1")]));

        var run = (await Store.GetRunAsync(first.RunId))!;
        Assert.Equal((RunStatus.Available, (string?)null, (DateTimeOffset?)null, 1), (run.Status, run.WorkerId, run.StartedAt, run.Attempt));
        Assert.Equal(RunStatus.Available, (await Store.GetWorkOrderAsync(ids[0].WorkOrderId))!.Status);
        Assert.False(await Store.CompleteAsync(new RunCompletion(first.RunId, "w1", RunStatus.Success, Clock.GetUtcNow(), null, null, [], [])));
        var again = await Store.ClaimAsync(Worker("w2"));
        Assert.Equal(first.RunId, again!.RunId);
    }

    [Fact]
    public async Task A_claimed_run_says_when_it_became_available()
    {
        var enqueuedAt = Clock.GetUtcNow();
        await Store.EnqueueAsync([Order(), Order(availableAt: enqueuedAt.AddMinutes(5))]);
        Clock.Advance(TimeSpan.FromMinutes(10));

        var first = await Store.ClaimAsync(Worker());
        var second = await Store.ClaimAsync(Worker());

        Assert.Equal(enqueuedAt, first!.AvailableAt);
        Assert.Equal(enqueuedAt.AddMinutes(5), second!.AvailableAt);
    }
}
