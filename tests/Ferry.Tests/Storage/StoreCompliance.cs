using System.Diagnostics;
using Ferry.Storage;
using Xunit.Abstractions;

namespace Ferry.Tests.Storage;

/// <summary>
/// The behaviour every Ferry store must have, whatever the database. Inherited once per database
/// (<see cref="SqliteStoreTests"/>, <see cref="PostgresStoreTests"/>); a new database per test.
/// </summary>
public abstract partial class StoreCompliance(ITestOutputHelper output) : IAsyncLifetime
{
    private StoreOptions _options = null!;

    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));

    protected FerryStore Store { get; private set; } = null!;

    /// <summary>Options for a fresh, empty database.</summary>
    protected abstract Task<StoreOptions> CreateOptionsAsync();

    /// <summary>Runs raw SQL against the test database (to simulate what only another program could do).</summary>
    protected abstract Task ExecuteSqlAsync(string connectionString, string sql);

    public async Task InitializeAsync()
    {
        var options = await CreateOptionsAsync();
        _options = new StoreOptions { Provider = options.Provider, ConnectionString = options.ConnectionString, Clock = Clock, MaxDataclipBytes = 1000 };
        Store = await FerryStore.OpenAsync(_options);
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    private async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = await FerryStore.OpenAsync(_options);
    }

    private static NewWorkOrder Order(string project = "p", string workflow = "w", string input = """{"data":{}}""", RetryPolicy? retry = null, DateTimeOffset? availableAt = null) =>
        new(project, workflow, "manual", 1, input, retry, AvailableAt: availableAt);

    private static ClaimRequest Worker(string id = "w1", TimeSpan? lease = null) => new(id, lease ?? TimeSpan.FromMinutes(1));

    private async Task<List<ClaimedRun>> ClaimAllAsync(ClaimRequest request)
    {
        var claimed = new List<ClaimedRun>();
        while (await Store.ClaimAsync(request) is { } run) claimed.Add(run);
        return claimed;
    }

    private async Task FinishAsync(ClaimedRun run, string worker = "w1", string status = RunStatus.Success) =>
        Assert.True(await Store.CompleteAsync(new RunCompletion(run.RunId, worker, status, Clock.GetUtcNow(), null, null, [], [])));

    [Fact]
    public async Task Reopening_applies_no_migration_twice_and_keeps_the_data()
    {
        await Store.SaveVersionAsync("p", "{}", "h1", "ana");
        await ReopenAsync();
        await ReopenAsync();
        Assert.Equal(1, (await Store.GetVersionAsync("p"))!.Version);
    }

    [Fact]
    public async Task Database_written_by_a_newer_ferry_is_refused_with_a_clear_message()
    {
        await Store.DisposeAsync();
        await ExecuteSqlAsync(_options.ConnectionString, "INSERT INTO schema_migrations (version, name, applied_at) SELECT 999, 'future', applied_at FROM schema_migrations WHERE version = 1");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => FerryStore.OpenAsync(_options));
        Assert.Contains("written by a newer Ferry", error.Message, StringComparison.Ordinal);
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
        await ExecuteSqlAsync(_options.ConnectionString, "DELETE FROM schema_migrations WHERE version = 999");
        Store = await FerryStore.OpenAsync(_options);
    }

    [Fact]
    public async Task Versions_number_from_one_per_project_and_the_latest_is_current()
    {
        var v1 = await Store.SaveVersionAsync("alpha", """{"v":1}""", "h1", "ana");
        var v2 = await Store.SaveVersionAsync("alpha", """{"v":2}""", "h2", null);
        var other = await Store.SaveVersionAsync("beta", """{"v":1}""", "h3", "bo");
        Assert.Equal((1, 2, 1), (v1.Version, v2.Version, other.Version));
        var current = await Store.GetVersionAsync("alpha");
        Assert.Equal(2, current!.Version);
        Assert.True(current.IsCurrent);
        Assert.Equal("""{"v":2}""", current.BundleJson);
        var first = await Store.GetVersionAsync("alpha", 1);
        Assert.False(first!.IsCurrent);
        Assert.Equal("ana", first.Author);
        Assert.Null(await Store.GetVersionAsync("alpha", 3));
        Assert.Null(await Store.GetVersionAsync("nobody"));
        Assert.Equal([2, 1], (await Store.ListVersionsAsync("alpha")).Select(v => v.Version));
        Assert.Equal(["alpha:2", "beta:1"], (await Store.ListProjectsAsync()).Select(p => $"{p.Name}:{p.CurrentVersion}"));
    }

    [Fact]
    public async Task Concurrent_deploys_of_one_project_get_distinct_version_numbers()
    {
        var versions = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Store.SaveVersionAsync("p", $$"""{"i":{{i}}}""", "h", null)));
        Assert.Equal(Enumerable.Range(1, 8), versions.Select(v => v.Version).Order());
    }

    [Fact]
    public async Task Enqueued_batch_returns_ids_in_order_with_inputs_and_first_runs()
    {
        var batch = Enumerable.Range(0, 150).Select(i => Order(workflow: $"w{i % 3}", input: $$$"""{"data":{"i":{{{i}}}}}""")).ToList();
        var ids = await Store.EnqueueAsync(batch);
        Assert.Equal(150, ids.Count);
        Assert.Equal(150, ids.Select(i => i.RunId).Distinct().Count());
        for (var i = 0; i < 150; i += 37)
        {
            var order = await Store.GetWorkOrderAsync(ids[i].WorkOrderId);
            Assert.Equal($"w{i % 3}", order!.Workflow);
            Assert.Equal(RunStatus.Available, order.Status);
            Assert.Equal(ids[i].RunId, order.LastRunId);
            Assert.Equal($$$"""{"data":{"i":{{{i}}}}}""", await Store.GetDataclipAsync(order.InputDataclipId));
            var run = Assert.Single(await Store.ListRunsAsync(order.Id));
            Assert.Equal((ids[i].RunId, 1, RunStatus.Available), (run.Id, run.Attempt, run.Status));
        }
        Assert.Equal(150, await Store.CountRunsAsync(RunStatus.Available));
    }

    [Fact]
    public async Task Enqueue_keeps_given_ids_and_receive_time_and_skipping_existing_stores_each_work_order_once()
    {
        var received = Clock.GetUtcNow().AddSeconds(-30);
        var given = new EnqueuedRun(Guid.CreateVersion7(), Guid.CreateVersion7());
        var order = Order(input: """{"n":1}""") with { Ids = given, ReceivedAt = received };

        Assert.Equal([given], await Store.EnqueueAsync([order]));
        var stored = (await Store.GetWorkOrderAsync(given.WorkOrderId))!;
        Assert.Equal((given.RunId, received), (stored.LastRunId, stored.CreatedAt));
        var run = (await Store.GetRunAsync(given.RunId))!;
        Assert.Equal((received, received), (run.CreatedAt, run.AvailableAt));

        // A journal replayed after a crash hands the same work order again, next to one the store has not seen.
        var fresh = Order(input: """{"n":2}""") with { Ids = new EnqueuedRun(Guid.CreateVersion7(), Guid.CreateVersion7()) };
        var replayed = await Store.EnqueueAsync([order, fresh], skipExisting: true);
        Assert.Equal([given, fresh.Ids!], replayed);
        Assert.Equal(2, await Store.CountRunsAsync(RunStatus.Available));
        Assert.Single(await Store.ListRunsAsync(given.WorkOrderId));
        Assert.Equal("""{"n":2}""", await Store.GetDataclipAsync((await Store.GetWorkOrderAsync(fresh.Ids!.WorkOrderId))!.InputDataclipId));

        // Without skipping, a repeated id is refused (the ids are unique): nothing of that batch is stored.
        await Assert.ThrowsAnyAsync<Exception>(() => Store.EnqueueAsync([Order(), order]));
        Assert.Equal(2, await Store.CountRunsAsync());
    }

    [Fact]
    public async Task Batch_with_one_invalid_work_order_is_refused_whole()
    {
        var batch = new[] { Order(), Order() with { Workflow = "" }, Order() };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.EnqueueAsync(batch));
        Assert.Contains("batch[1].Workflow", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await Store.CountRunsAsync());
    }

    [Fact]
    public async Task Cursor_is_absent_until_set_then_replaced_per_workflow()
    {
        Assert.Null(await Store.GetCursorAsync("p", "sync"));
        await Store.SetCursorAsync("p", "sync", """{"updatedAt":"2026-01-01"}""");
        await Store.SetCursorAsync("p", "sync", """{"updatedAt":"2026-02-01"}""");
        await Store.SetCursorAsync("p", "other", "3");
        Assert.Equal("""{"updatedAt":"2026-02-01"}""", await Store.GetCursorAsync("p", "sync"));
        Assert.Equal("3", await Store.GetCursorAsync("p", "other"));
    }

    [Fact]
    public async Task Work_orders_list_newest_first_with_filters_and_keyset_pages()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 7).Select(_ => Order("p", "a")).ToList());
        Clock.Advance(TimeSpan.FromMinutes(10));
        var later = await Store.EnqueueAsync(Enumerable.Range(0, 5).Select(_ => Order("p", "b")).ToList());
        await Store.EnqueueAsync([Order("q", "a")]);
        await FinishAsync((await Store.ClaimAsync(Worker()))!);

        var seen = new List<Guid>();
        string? after = null;
        do
        {
            var page = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Project: "p", Limit: 5, After: after));
            Assert.True(page.Items.Count <= 5);
            seen.AddRange(page.Items.Select(w => w.Id));
            after = page.Next;
        }
        while (after is not null);
        Assert.Equal(12, seen.Count);
        Assert.Equal(later.Select(l => l.WorkOrderId).Reverse(), seen.Take(5));

        Assert.Equal(5, (await Store.ListWorkOrdersAsync(new WorkOrderQuery(Workflow: "b"))).Items.Count);
        Assert.Single((await Store.ListWorkOrdersAsync(new WorkOrderQuery(Status: RunStatus.Success))).Items);
        var since = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Project: "p", Since: Clock.GetUtcNow().AddMinutes(-1)));
        Assert.Equal(5, since.Items.Count);
        Assert.Null(since.Next);
        Assert.Equal(7, (await Store.ListWorkOrdersAsync(new WorkOrderQuery(Until: Clock.GetUtcNow().AddMinutes(-1)))).Items.Count);
    }

    [Fact]
    public async Task Work_orders_list_by_an_unsuccessful_state_in_pages()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 9).Select(_ => Order()).ToList());
        var failed = new List<Guid>();
        for (var i = 0; i < 9; i++)
        {
            var run = (await Store.ClaimAsync(Worker()))!;
            var status = i % 3 == 0 ? RunStatus.Success : i % 3 == 1 ? RunStatus.Failed : RunStatus.Crashed;
            await FinishAsync(run, status: status);
            if (status == RunStatus.Failed) failed.Add(run.WorkOrderId);
        }
        var first = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Project: "p", Status: RunStatus.Failed, Limit: 2));
        var second = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Project: "p", Status: RunStatus.Failed, Limit: 2, After: first.Next));
        Assert.Null(second.Next);
        Assert.Equal(Enumerable.Reverse(failed), first.Items.Concat(second.Items).Select(w => w.Id));
        Assert.All(first.Items.Concat(second.Items), w => Assert.Equal(RunStatus.Failed, w.Status));
        Assert.Equal(3, (await Store.ListWorkOrdersAsync(new WorkOrderQuery(Status: RunStatus.Crashed))).Items.Count);
        Assert.Equal(3, (await Store.ListWorkOrdersAsync(new WorkOrderQuery(Status: RunStatus.Success))).Items.Count);
    }

    [Theory]
    [InlineData(0, null, null, "limit")]
    [InlineData(501, null, null, "limit")]
    [InlineData(10, "nope", null, "status")]
    [InlineData(10, null, "x1", "after")]
    public async Task Bad_query_values_are_refused_naming_the_field(int limit, string? status, string? after, string field)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.ListWorkOrdersAsync(new WorkOrderQuery(Status: status, Limit: limit, After: after)));
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dataclips_round_trip_verbatim_and_oversized_ones_keep_no_body()
    {
        const string text = """{"data":{"z":1,"a":"é ✓","nested":[1,2.50,{"b":null}]},"references":[]}""";
        var ids = await Store.EnqueueAsync([Order(input: text)]);
        var order = await Store.GetWorkOrderAsync(ids[0].WorkOrderId);
        Assert.Equal(text, await Store.GetDataclipAsync(order!.InputDataclipId));
        Assert.Null(await Store.GetDataclipAsync(Guid.CreateVersion7()));

        var run = await Store.ClaimAsync(Worker());
        var big = $$"""{"data":"{{new string('x', 2000)}}"}""";
        Assert.True(await Store.CompleteAsync(new RunCompletion(run!.RunId, "w1", RunStatus.Success, Clock.GetUtcNow(), null, big, [], [])));
        var stored = await Store.GetRunAsync(run.RunId);
        Assert.NotNull(stored!.OutputDataclipId);
        Assert.Null(await Store.GetDataclipAsync(stored.OutputDataclipId.Value));
    }

    [Fact]
    public async Task Batched_intake_is_much_faster_than_one_commit_per_work_order()
    {
        // Group commit is why intake scales: N work orders share one transaction (one fsync on SQLite).
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++) await Store.EnqueueAsync([Order()]);
        var single = 100 / watch.Elapsed.TotalSeconds;
        watch.Restart();
        for (var i = 0; i < 20; i++) await Store.EnqueueAsync(Enumerable.Range(0, 100).Select(_ => Order()).ToList());
        var batched = 2000 / watch.Elapsed.TotalSeconds;
        output.WriteLine($"{Store.Provider}: EnqueueAsync batches of 100: {batched:F0} work orders/s; one per commit: {single:F0} work orders/s ({batched / single:F1}×)");
        Assert.Equal(2100, await Store.CountRunsAsync(RunStatus.Available));
        Assert.True(batched > 2 * single, $"batches of 100 ran at {batched:F0}/s, single commits at {single:F0}/s");
    }

    [Fact]
    public async Task Run_counts_by_state_give_queue_depth()
    {
        await Store.EnqueueAsync([Order(), Order(), Order()]);
        var run = await Store.ClaimAsync(Worker());
        Assert.Equal((3, 2, 1), (await Store.CountRunsAsync(), await Store.CountRunsAsync(RunStatus.Available), await Store.CountRunsAsync(RunStatus.Claimed)));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CountRunsAsync("queued"));
        Assert.NotNull(run);
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
