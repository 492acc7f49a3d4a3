using Ferry.Server.Queue;
using Ferry.Storage;
using Ferry.Tests.Storage;

namespace Ferry.Tests.ServingApi;

/// <summary><see cref="RunCompletions"/> on a real (SQLite) store: in-process signals, store polls, retries of lost runs.</summary>
public sealed class RunCompletionsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ferry-completions").FullName;
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero));
    private FerryStore _store = null!;

    public async Task InitializeAsync()
    {
        var sqlite = FerryStore.Sqlite(_directory);
        _store = await FerryStore.OpenAsync(new StoreOptions { Provider = sqlite.Provider, ConnectionString = sqlite.ConnectionString, Clock = _clock });
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<EnqueuedRun> EnqueueAsync(RetryPolicy? retry = null) =>
        (await _store.EnqueueAsync([new NewWorkOrder("p", "w", "t", 1, """{"data":{}}""", retry)]))[0];

    private async Task<ClaimedRun> StartAsync(string worker)
    {
        var claimed = await _store.ClaimAsync(new ClaimRequest(worker, TimeSpan.FromMinutes(1)));
        Assert.NotNull(claimed);
        Assert.True(await _store.MarkStartedAsync(claimed.RunId, worker));
        return claimed;
    }

    private RunCompletion Success(Guid runId, string worker) =>
        new(runId, worker, RunStatus.Success, _clock.GetUtcNow(), null, """{"data":{"ok":true}}""", [], []);

    [Fact]
    public async Task An_in_process_completion_wakes_the_waiter_without_waiting_for_the_poll()
    {
        using var completions = new RunCompletions(_store) { PollInterval = TimeSpan.FromMinutes(5) };
        var queued = await EnqueueAsync();

        var wait = completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMinutes(1), CancellationToken.None);
        completions.Completed(Success(queued.RunId, "w1")); // the store still says 'available': only the signal can answer

        var outcome = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(outcome);
        Assert.True(outcome.Succeeded);
        Assert.Equal(queued.RunId, outcome.RunId);
        Assert.Contains("\"ok\":true", outcome.OutputJson);
        Assert.Equal(0, completions.Waiting);
    }

    [Fact]
    public async Task A_run_that_ended_before_the_wait_began_is_found_in_the_store()
    {
        using var completions = new RunCompletions(_store) { PollInterval = TimeSpan.FromMinutes(5) };
        var queued = await EnqueueAsync();
        var run = await StartAsync("w1");
        Assert.True(await _store.CompleteAsync(Success(run.RunId, "w1")));

        var outcome = await completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMinutes(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(outcome);
        Assert.Equal(RunStatus.Success, outcome.Status);
        Assert.Contains("\"ok\":true", outcome.OutputJson);
    }

    [Fact]
    public async Task A_run_finished_by_another_process_is_found_by_the_poll()
    {
        using var completions = new RunCompletions(_store) { PollInterval = TimeSpan.FromMilliseconds(50) };
        var queued = await EnqueueAsync();
        var wait = completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMinutes(1), CancellationToken.None);

        var run = await StartAsync("elsewhere");
        Assert.True(await _store.CompleteAsync(new RunCompletion(run.RunId, "elsewhere", RunStatus.Failed, _clock.GetUtcNow(), "step 'x' failed", null, [], [])));

        var outcome = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(outcome);
        Assert.False(outcome.Succeeded);
        Assert.Equal("step 'x' failed", outcome.Error);
    }

    [Fact]
    public async Task A_lost_run_is_followed_to_the_retry_that_replaced_it()
    {
        using var completions = new RunCompletions(_store) { PollInterval = TimeSpan.FromMilliseconds(50) };
        var queued = await EnqueueAsync(new RetryPolicy(2, TimeSpan.Zero, TimeSpan.Zero));
        await StartAsync("dies");
        var wait = completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMinutes(1), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(2));
        var lost = Assert.Single(await _store.ReclaimLostAsync(_clock.GetUtcNow()));
        await Task.Delay(200); // the waiter sees the work order point at the retry
        var retry = await StartAsync("survives");
        Assert.Equal(lost.RetryRunId, retry.RunId);
        Assert.True(await _store.CompleteAsync(Success(retry.RunId, "survives")));

        var outcome = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(outcome);
        Assert.True(outcome.Succeeded);
        Assert.Equal(retry.RunId, outcome.RunId);
    }

    [Fact]
    public async Task A_wait_ends_empty_at_its_timeout_and_at_once_when_the_server_stops()
    {
        using var completions = new RunCompletions(_store) { PollInterval = TimeSpan.FromMilliseconds(50) };
        var queued = await EnqueueAsync();

        Assert.Null(await completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMilliseconds(200), CancellationToken.None));

        var waiting = completions.WaitAsync(queued.WorkOrderId, queued.RunId, TimeSpan.FromMinutes(5), CancellationToken.None);
        completions.Stop();
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, completions.Waiting);
    }
}
