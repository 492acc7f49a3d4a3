using Ferry.Server.Batching;

namespace Ferry.Tests.Server;

public sealed class GroupCommitterTests
{
    [Fact]
    public async Task Many_concurrent_submitters_share_few_commits_and_each_gets_its_own_result()
    {
        var batches = new List<int>();
        await using var committer = new GroupCommitter<int, string>(async (items, ct) =>
        {
            lock (batches) batches.Add(items.Count);
            await Task.Delay(5, ct);
            return items.Select(i => $"wo-{i}").ToArray();
        });

        var results = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => Task.Run(() => committer.SubmitAsync(i))));

        Assert.Equal(Enumerable.Range(0, 2000).Select(i => $"wo-{i}"), results);
        Assert.Equal(2000, batches.Sum());
        Assert.True(batches.Count < 200, $"2000 submits took {batches.Count} commits");
        Assert.All(batches, n => Assert.InRange(n, 1, GroupCommitter<int, string>.DefaultMaxBatchSize));
    }

    [Fact]
    public async Task Items_keep_their_submission_order_within_a_batch()
    {
        var gate = new TaskCompletionSource();
        var seen = new List<IReadOnlyList<int>>();
        await using var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            seen.Add(items);
            await gate.Task;
            return items;
        }, maxBatchSize: 100);

        var first = committer.SubmitAsync(-1);
        await WaitUntil(() => seen.Count == 1);
        var rest = Enumerable.Range(0, 50).Select(i => committer.SubmitAsync(i)).ToArray();
        gate.SetResult();
        await Task.WhenAll(rest);

        Assert.Equal(2, seen.Count);
        Assert.Equal(Enumerable.Range(0, 50), seen[1]);
        Assert.Equal(-1, await first);
    }

    [Fact]
    public async Task Batches_never_exceed_the_maximum_size()
    {
        var gate = new TaskCompletionSource();
        var sizes = new List<int>();
        await using var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            sizes.Add(items.Count);
            await gate.Task;
            return items;
        }, maxBatchSize: 10);

        var all = Enumerable.Range(0, 35).Select(i => committer.SubmitAsync(i)).ToArray();
        gate.SetResult();
        await Task.WhenAll(all);

        Assert.All(sizes, n => Assert.InRange(n, 1, 10));
        Assert.Equal(35, sizes.Sum());
    }

    [Fact]
    public async Task Nothing_completes_before_the_commit_returns()
    {
        var gate = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        await using var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            entered.TrySetResult();
            await gate.Task;
            return items;
        });

        var tasks = Enumerable.Range(0, 20).Select(i => committer.SubmitAsync(i)).ToArray();
        await entered.Task;
        await Task.Delay(50);

        Assert.All(tasks, t => Assert.False(t.IsCompleted));
        gate.SetResult();
        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(tasks));
    }

    [Fact]
    public async Task A_failed_commit_fails_every_caller_in_that_batch_and_later_batches_still_commit()
    {
        var gate = new TaskCompletionSource();
        var calls = 0;
        int[] failedBatch = [];
        await using var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                failedBatch = [.. items]; // the committer reuses its list
                await gate.Task;
                throw new IOException("disk full");
            }
            return items;
        });

        // The loop may take the first batch before all five are submitted: whatever it took fails, the rest commit.
        var submitted = Enumerable.Range(0, 5).Select(i => committer.SubmitAsync(i)).ToArray();
        await WaitUntil(() => Volatile.Read(ref calls) == 1);
        gate.SetResult();

        Assert.NotEmpty(failedBatch);
        for (var i = 0; i < submitted.Length; i++)
        {
            if (failedBatch.Contains(i)) Assert.Equal("disk full", (await Assert.ThrowsAsync<IOException>(() => submitted[i])).Message);
            else Assert.Equal(i, await submitted[i]);
        }
        Assert.Equal(7, await committer.SubmitAsync(7));
    }

    [Fact]
    public async Task A_commit_returning_the_wrong_number_of_results_fails_the_batch()
    {
        await using var committer = new GroupCommitter<int, int>((items, _) => Task.FromResult<IReadOnlyList<int>>([]));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => committer.SubmitAsync(1));

        Assert.Contains("0 results for a batch of 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_drains_what_was_submitted_and_then_refuses_new_items()
    {
        var gate = new TaskCompletionSource();
        var committed = new List<int>();
        var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            await gate.Task;
            lock (committed) committed.AddRange(items);
            return items;
        });

        var tasks = Enumerable.Range(0, 30).Select(i => committer.SubmitAsync(i)).ToArray();
        var stop = committer.StopAsync();
        Assert.Throws<InvalidOperationException>(() => { _ = committer.SubmitAsync(99); });
        gate.SetResult();
        await stop;

        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(0, 30), committed.Order());
        await committer.DisposeAsync();
    }

    [Fact]
    public async Task A_caller_cancelled_while_waiting_is_left_out_of_the_commit()
    {
        var gate = new TaskCompletionSource();
        var committed = new List<int>();
        await using var committer = new GroupCommitter<int, int>(async (items, _) =>
        {
            lock (committed) committed.AddRange(items);
            await gate.Task;
            return items;
        });

        var first = committer.SubmitAsync(1);
        await WaitUntil(() => { lock (committed) return committed.Count == 1; });
        using var cts = new CancellationTokenSource();
        var cancelled = committer.SubmitAsync(2, cts.Token);
        var kept = committer.SubmitAsync(3);
        await cts.CancelAsync();
        gate.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(3, await kept);
        Assert.Equal(1, await first);
        Assert.Equal([1, 3], committed);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within 10 s");
            await Task.Delay(5);
        }
    }
}
