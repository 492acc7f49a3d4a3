using System.Collections.Concurrent;
using Ferry.Storage;

namespace Ferry.Server.Queue;

/// <summary>How a work order ended, as a waiting webhook answers it: the run that ended it, its state and output.</summary>
/// <param name="OutputJson">The final state (JSON), or null when the run stored none.</param>
public sealed record RunOutcome(Guid WorkOrderId, Guid RunId, string Status, string? Error, string? OutputJson)
{
    public bool Succeeded => Status == RunStatus.Success;
}

/// <summary>
/// Waiters for the end of a work order (webhooks with <c>reply: after_completion</c>). A worker of this process tells
/// <see cref="Completed"/> the moment it stored a run's outcome; a slow poll of the store finds runs that another
/// <c>ferry serve</c> process (PostgreSQL scale-out) ran, and follows a lost run's retry to the run that replaced it.
/// </summary>
public sealed class RunCompletions(FerryStore store) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<RunCompletion>> _waiters = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>How often a waiter asks the store, in case the run finished in another process (default 1 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Runs being waited for now.</summary>
    public int Waiting => _waiters.Count;

    /// <summary>Called by the worker once <see cref="FerryStore.CompleteAsync"/> stored a run's outcome.</summary>
    public void Completed(RunCompletion completion)
    {
        if (_waiters.TryGetValue(completion.RunId, out var waiter)) waiter.TrySetResult(completion);
    }

    /// <summary>Ends every wait at once (shutdown): waiting callers get their fallback answer, their runs go on.</summary>
    public void Stop() => _stopping.Cancel();

    /// <summary>
    /// Waits until the work order's run ends (following retries of a lost run), at most <paramref name="timeout"/>.
    /// Null when the time ran out, the server is stopping, or the caller went away.
    /// </summary>
    public async Task<RunOutcome?> WaitAsync(Guid workOrderId, Guid runId, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        deadline.CancelAfter(timeout);
        var token = deadline.Token;
        var waiter = Register(runId);
        try
        {
            while (!token.IsCancellationRequested)
            {
                // Asked after registering: a run that ended before the waiter existed is found here, not missed.
                var stored = await FromStoreAsync(workOrderId, runId, token);
                if (stored is { Outcome: { } outcome }) return outcome;
                if (stored is { NextRunId: { } next } && next != runId)
                {
                    Unregister(runId, waiter);
                    runId = next;
                    waiter = Register(runId);
                }
                var delay = Task.Delay(PollInterval, token);
                if (await Task.WhenAny(waiter.Task, delay) == waiter.Task)
                {
                    var c = await waiter.Task;
                    return new RunOutcome(workOrderId, c.RunId, c.Status, c.Error, c.OutputJson);
                }
            }
            return null;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return null;
        }
        finally
        {
            Unregister(runId, waiter);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private TaskCompletionSource<RunCompletion> Register(Guid runId) =>
        _waiters.GetOrAdd(runId, _ => new TaskCompletionSource<RunCompletion>(TaskCreationOptions.RunContinuationsAsynchronously));

    // Several requests never share a run id (each webhook makes its own work order), so the waiter is removed outright.
    private void Unregister(Guid runId, TaskCompletionSource<RunCompletion> waiter) =>
        _waiters.TryRemove(new KeyValuePair<Guid, TaskCompletionSource<RunCompletion>>(runId, waiter));

    /// <summary>The outcome once the work order's latest run is final; else the run to wait for next.</summary>
    private async Task<(RunOutcome? Outcome, Guid? NextRunId)?> FromStoreAsync(Guid workOrderId, Guid runId, CancellationToken ct)
    {
        var order = await store.GetWorkOrderAsync(workOrderId, ct);
        if (order is null) return null;
        var run = await store.GetRunAsync(order.LastRunId, ct);
        if (run is null || !RunStatus.IsFinal(run.Status)) return (null, order.LastRunId);
        // A lost run whose retry is queued is not the end: the work order points at the retry instead.
        var output = run.OutputDataclipId is { } clip ? await store.GetDataclipAsync(clip, ct) : null;
        return (new RunOutcome(workOrderId, run.Id, run.Status, run.Error, output), run.Id == runId ? null : run.Id);
    }
}
