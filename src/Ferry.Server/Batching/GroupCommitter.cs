using System.Threading.Channels;

namespace Ferry.Server.Batching;

/// <summary>
/// Group commit: callers submit one item each; one background loop takes what is waiting (up to
/// <see cref="MaxBatchSize"/>), commits the batch with ONE call, then completes each caller with its own result.
/// A webhook endpoint awaits <see cref="SubmitAsync"/> and answers 202 only when it returns, so an acknowledged
/// request is always durable, while a storm of requests shares a few fsyncs instead of one each.
/// </summary>
/// <remarks>
/// If the commit throws (or returns the wrong number of results), every caller of that batch gets the exception:
/// nothing in it was acknowledged. Cancelling a caller only removes its item while it still waits in the queue;
/// once taken into a batch the item is committed and the caller gets its result.
/// <para>The loop runs on a thread of its own, not on the thread pool: it is the one serial stage every request passes
/// through, and on a busy server a pool work item waits behind every request queued before it. A commit that completes
/// synchronously (the intake journal's write and fsync) therefore never waits for a pool thread; one that awaits real
/// I/O is waited for on this thread.</para>
/// </remarks>
public sealed class GroupCommitter<TItem, TResult> : IAsyncDisposable
{
    /// <summary>Batch size when none is given.</summary>
    public const int DefaultMaxBatchSize = 256;

    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commit;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly TaskCompletionSource _loop = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GroupCommitter(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commit, int maxBatchSize = DefaultMaxBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _commit = commit;
        MaxBatchSize = maxBatchSize;
        new Thread(Loop) { IsBackground = true, Name = "Ferry group commit" }.Start();
    }

    public int MaxBatchSize { get; }

    /// <summary>Number of commits made so far (for tests and metrics).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    private long _commits;

    /// <summary>Queues <paramref name="item"/> and completes when its batch is committed, with its result.</summary>
    /// <exception cref="InvalidOperationException">The committer is stopping or stopped.</exception>
    public Task<TResult> SubmitAsync(TItem item, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(item);
        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.Register(static (state, token) =>
            {
                var p = (Pending)state!;
                if (Interlocked.CompareExchange(ref p.State, Pending.Cancelled, Pending.Waiting) == Pending.Waiting)
                    p.Completion.TrySetCanceled(token);
            }, pending);
        }
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Registration.Dispose();
            throw new InvalidOperationException("The server is shutting down and accepts no more items; retry against a running instance.");
        }
        _wake.Set();
        return pending.Completion.Task;
    }

    /// <summary>Stops accepting items and waits until everything already submitted is committed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _queue.Writer.TryComplete();
        _wake.Set();
        try
        {
            await _loop.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of patience: cancel the commit in flight; its callers get the cancellation.
            await _abort.CancelAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _abort.Dispose();
    }

    private void Loop()
    {
        var batch = new List<Pending>(MaxBatchSize);
        var items = new List<TItem>(MaxBatchSize);
        var reader = _queue.Reader;
        while (true)
        {
            // Reset before looking, so a submit that lands after the look sets the event again and Wait returns at once.
            _wake.Reset();
            batch.Clear();
            items.Clear();
            while (batch.Count < MaxBatchSize && reader.TryRead(out var pending))
            {
                if (Interlocked.CompareExchange(ref pending.State, Pending.Taken, Pending.Waiting) != Pending.Waiting) continue;
                pending.Registration.Dispose();
                batch.Add(pending);
                items.Add(pending.Item);
            }
            if (batch.Count > 0)
            {
                Commit(batch, items);
                continue;
            }
            if (reader.Completion.IsCompleted) break;
            _wake.Wait();
        }
        _loop.TrySetResult();
    }

    private void Commit(List<Pending> batch, List<TItem> items)
    {
        IReadOnlyList<TResult> results;
        try
        {
            results = _commit(items.ToArray(), _abort.Token).GetAwaiter().GetResult();
            if (results.Count != batch.Count)
                throw new InvalidOperationException($"The commit returned {results.Count} results for a batch of {batch.Count} items; nothing in the batch is acknowledged.");
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _commits);
            foreach (var p in batch)
            {
                if (e is OperationCanceledException oce) p.Completion.TrySetCanceled(oce.CancellationToken);
                else p.Completion.TrySetException(e);
            }
            return;
        }
        Interlocked.Increment(ref _commits);
        for (var i = 0; i < batch.Count; i++) batch[i].Completion.TrySetResult(results[i]);
    }

    private sealed class Pending(TItem item)
    {
        public const int Waiting = 0, Taken = 1, Cancelled = 2;

        public readonly TItem Item = item;
        public readonly TaskCompletionSource<TResult> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration;
        public int State;
    }
}
