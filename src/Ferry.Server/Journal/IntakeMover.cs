using System.Threading.Channels;
using Ferry.Server.Queue;
using Ferry.Storage;

namespace Ferry.Server.Journal;

/// <summary>
/// Between the <see cref="IntakeJournal"/> and the store: <see cref="Accept"/> journals a batch of accepted
/// requests (the webhook's 202 waits only for that fsync), and a background loop stores journaled entries as work
/// orders, up to <see cref="MaxBatch"/> per transaction, in arrival order, then wakes the workers. At start it first
/// stores what the journal recovered, skipping work orders already stored. When the database is unreachable the loop
/// keeps retrying (1 s doubling to 30 s) and intake keeps accepting until <see cref="MaxBacklog"/> requests wait;
/// beyond that, webhooks answer 503 with Retry-After.
/// </summary>
/// <remarks>
/// The journal already keeps every entry safe, so the work orders are committed without waiting for the disk (visible
/// at once to the API and the workers), and the journal lets go of them only after the database has flushed them, at
/// most <see cref="FlushInterval"/> later: one flush of the database for many transactions instead of one each. While
/// requests keep coming, transactions are at least <see cref="CommitInterval"/> apart, so a busy intake stores large
/// batches: fewer commits, and the index pages every batch touches written to the database's log once per batch. From
/// <see cref="BusyRate"/> on, when the CPU is what limits intake, they are <see cref="BusyCommitInterval"/> apart (or
/// <see cref="MaxBatch"/> entries): each work order then waits a few tens of milliseconds more for its run, and the
/// server accepted 11 % more requests per second (docs/benchmarks.md).
/// </remarks>
public sealed partial class IntakeMover : IHostedService, IDisposable
{
    /// <summary>Most entries stored in one transaction.</summary>
    public const int MaxBatch = 1000;

    /// <summary>Least time between two transactions while requests keep coming; a request after a quiet spell is stored at once.</summary>
    public static readonly TimeSpan CommitInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Least time between two transactions while requests come at <see cref="BusyRate"/> or faster.</summary>
    public static readonly TimeSpan BusyCommitInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Requests per second from which transactions are <see cref="BusyCommitInterval"/> apart.</summary>
    public const int BusyRate = 10_000;

    /// <summary>The least time before the next transaction, after one that stored <paramref name="stored"/> entries
    /// <paramref name="sinceLast"/> milliseconds after the one before it.</summary>
    internal static TimeSpan IntervalAfter(int stored, long sinceLast) =>
        stored * 1000L >= BusyRate * Math.Max(sinceLast, 1) ? BusyCommitInterval : CommitInterval;

    /// <summary>Longest time a stored work order waits for the database's flush before the journal lets go of it.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);

    private readonly IntakeJournal _journal;
    private readonly FerryStore _store;
    private readonly RunSignal _signal;
    private readonly ILogger<IntakeMover> _logger;
    private readonly Channel<JournalEntry> _queue = Channel.CreateUnbounded<JournalEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _progressGate = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _accepted;
    private long _stored;
    private long _flushed; // stored entries the database has flushed, and the journal let go of
    private long _lastFlush = Environment.TickCount64;
    private Task? _loop;

    public IntakeMover(IntakeJournal journal, FerryStore store, RunSignal signal, ServerOptions options, ILogger<IntakeMover> logger)
    {
        _journal = journal;
        _store = store;
        _signal = signal;
        _logger = logger;
        MaxBacklog = options.IntakeBacklog;
        _accepted = journal.Recovered.Count;
        foreach (var warning in journal.Warnings) LogJournalDamage(logger, warning);
    }

    /// <summary>Accepted requests that may wait for the database before intake refuses more (503).</summary>
    public int MaxBacklog { get; }

    /// <summary>Accepted requests (journaled) not yet stored as work orders.</summary>
    public long Backlog => Interlocked.Read(ref _accepted) - Interlocked.Read(ref _stored);

    /// <summary>
    /// Journals <paramref name="entries"/> (fsync) and queues them for the store. When this returns they are acknowledged:
    /// they reach the database even if the process dies now. Synchronous, like <see cref="IntakeJournal.Append"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The backlog is full (the database is unreachable or far behind): nothing was accepted.</exception>
    public void Accept(IReadOnlyList<JournalEntry> entries, CancellationToken ct)
    {
        var backlog = Backlog;
        if (backlog + entries.Count > MaxBacklog)
        {
            throw new InvalidOperationException(
                $"{backlog:N0} accepted requests are still waiting to be stored in the database (the limit is {MaxBacklog:N0}; the database is unreachable or behind)");
        }
        _journal.Append(entries, ct);
        Interlocked.Add(ref _accepted, entries.Count);
        foreach (var entry in entries)
        {
            // After StopAsync the loop takes no more; the entry is journaled and is stored at the next start.
            _queue.Writer.TryWrite(entry);
        }
    }

    /// <summary>
    /// Waits until every request acknowledged before the call is stored (read-your-writes for the API), at most
    /// <paramref name="timeout"/>. Returns at once when nothing waits.
    /// </summary>
    public async Task WaitStoredAsync(TimeSpan timeout, CancellationToken ct)
    {
        var target = Interlocked.Read(ref _accepted);
        if (Interlocked.Read(ref _stored) >= target) return;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            while (Interlocked.Read(ref _stored) < target)
            {
                Task progress;
                lock (_progressGate) progress = _progress.Task;
                if (Interlocked.Read(ref _stored) >= target) return;
                await progress.WaitAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Out of patience: answer with what the database has.
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stores what is queued (intake stopped before this is called), until <paramref name="cancellationToken"/>
    /// says stop; anything left stays in the journal for the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_loop is null) return;
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _abort.CancelAsync();
            LogLeftInJournal(_logger, Backlog, _journal.Directory);
        }
    }

    public void Dispose()
    {
        _abort.Dispose();
        _journal.Dispose();
    }

    private async Task LoopAsync()
    {
        try
        {
            var recovered = _journal.Recovered;
            if (recovered.Count > 0) LogRecovering(_logger, recovered.Count, _journal.Directory);
            for (var start = 0; start < recovered.Count; start += MaxBatch)
                await StoreAsync(recovered.Skip(start).Take(MaxBatch).ToList(), skipExisting: true);
            await FlushStoredAsync();

            var batch = new List<JournalEntry>(MaxBatch);
            var reader = _queue.Reader;
            var lastCommit = long.MinValue / 2;
            var interval = CommitInterval;
            while (true)
            {
                if (!reader.TryPeek(out _))
                {
                    if (!await WaitForEntriesAsync(reader)) break;
                    if (!reader.TryPeek(out _)) continue; // the flush was due first
                }
                var sinceCommit = Environment.TickCount64 - lastCommit;
                if (sinceCommit < interval.TotalMilliseconds && Backlog < MaxBatch)
                    await Task.Delay(TimeSpan.FromMilliseconds(interval.TotalMilliseconds - sinceCommit), _abort.Token);
                var now = Environment.TickCount64;
                var sinceLast = now - lastCommit;
                lastCommit = now;
                batch.Clear();
                while (batch.Count < MaxBatch && reader.TryRead(out var entry)) batch.Add(entry);
                interval = IntervalAfter(batch.Count, sinceLast);
                await StoreAsync(batch, skipExisting: false);
                if (Environment.TickCount64 - _lastFlush >= FlushInterval.TotalMilliseconds) await FlushStoredAsync();
            }
            await FlushStoredAsync();
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Shutdown out of patience: the rest stays in the journal.
        }
    }

    /// <summary>Waits for the next entry; false once intake has stopped and everything is stored. Stored entries not
    /// yet flushed are flushed when their <see cref="FlushInterval"/> is up, even while nothing new comes.</summary>
    private async Task<bool> WaitForEntriesAsync(ChannelReader<JournalEntry> reader)
    {
        if (_stored == _flushed) return await reader.WaitToReadAsync(_abort.Token);
        var due = FlushInterval.TotalMilliseconds - (Environment.TickCount64 - _lastFlush);
        if (due > 0)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(due));
            try
            {
                return await reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
            {
                // The flush is due.
            }
        }
        await FlushStoredAsync();
        return true;
    }

    private async Task StoreAsync(List<JournalEntry> batch, bool skipExisting)
    {
        var orders = batch.Select(e => e.ToWorkOrder()).ToList();
        var wait = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await _store.EnqueueAsync(orders, skipExisting, durable: false, _abort.Token);
                break;
            }
            catch (Exception e) when (!_abort.IsCancellationRequested)
            {
                LogStoreFailed(_logger, e, batch.Count, Backlog, wait.TotalSeconds);
                await Task.Delay(wait, _abort.Token);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                // The failed commit may have reached the database after all (a connection lost during COMMIT).
                skipExisting = true;
            }
        }
        Interlocked.Add(ref _stored, batch.Count);
        _signal.Pulse(batch.Count);
        lock (_progressGate)
        {
            _progress.TrySetResult();
            _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Flushes the database, then lets the journal go of every entry stored before the flush.</summary>
    private async Task FlushStoredAsync()
    {
        _lastFlush = Environment.TickCount64;
        var stored = Interlocked.Read(ref _stored);
        if (stored == _flushed) return;
        try
        {
            await _store.FlushAsync();
        }
        catch (Exception e) when (!_abort.IsCancellationRequested)
        {
            // The entries stay in the journal (replayed, and skipped where stored, at the next start); the next try
            // comes a second from now, not at every batch.
            LogFlushFailed(_logger, e, stored - _flushed, _journal.Directory);
            _lastFlush = Environment.TickCount64 + 1000 - (long)FlushInterval.TotalMilliseconds;
            return;
        }
        _flushed = stored;
        try
        {
            _journal.Stored(stored);
        }
        catch (IOException e)
        {
            // Only cleanup failed: the entries are stored; their journal file keeps them and they are read again (and skipped) at start.
            LogCleanupFailed(_logger, e, _journal.Directory);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogJournalDamage(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storing {Count} requests the intake journal in {Directory} holds from before the restart (work orders already stored are skipped)")]
    private static partial void LogRecovering(ILogger logger, int count, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing {Count} accepted requests in the database failed ({Backlog} waiting); they are safe in the intake journal. Trying again in {Seconds} s")]
    private static partial void LogStoreFailed(ILogger logger, Exception e, int count, long backlog, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown: {Count} accepted requests are not yet in the database; they stay in the intake journal ({Directory}) and are stored at the next start")]
    private static partial void LogLeftInJournal(ILogger logger, long count, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "Flushing {Count} stored work orders to disk failed; they stay in the intake journal ({Directory}) until a flush succeeds")]
    private static partial void LogFlushFailed(ILogger logger, Exception e, long count, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Letting go of stored requests in the intake journal in {Directory} failed; they are read again (and skipped) at the next start")]
    private static partial void LogCleanupFailed(ILogger logger, Exception e, string directory);
}
