using System.Text;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Server.Batching;
using Ferry.Server.Projects;
using Ferry.Storage;

namespace Ferry.Server.Queue;

/// <summary>Wakes idle workers as soon as intake commits work (they also poll, so a lost pulse only costs latency).</summary>
public sealed class RunSignal : IDisposable
{
    private readonly SemaphoreSlim _pulse = new(0, int.MaxValue);

    public void Pulse(int count = 1) => _pulse.Release(Math.Max(1, count));

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _pulse.WaitAsync(timeout, ct);

    public void Dispose() => _pulse.Dispose();
}

/// <summary>
/// Claims runs from the queue (the runs table) in batches, under the concurrency limits of ferry.yaml, and executes
/// them with the engine, on the version the work order was created for, within the workflow's time limit; keeps each
/// claim alive with heartbeats, stops a run that is cancelled, and stores outcomes (steps, logs, dataclips, the cursor)
/// through a group commit: one transaction for the runs that finished together. On shutdown, runs still going when the
/// host's shutdown timeout ends are handed back to the queue.
/// </summary>
public sealed partial class RunWorker(
    FerryStore store, DeployedProjects projects, ProjectCredentials credentials, RunSignal signal, ClaimLimits limits, ServerOptions options,
    Metrics.FerryMetrics metrics, RunCompletions completions, ILogger<RunWorker> logger)
    : BackgroundService
{
    /// <summary>Finished runs waiting for their commit, at most this many per worker slot (memory stays bounded).</summary>
    private const int UnsettledPerSlot = 8;

    private readonly string _workerId = $"{Environment.MachineName}/{Environment.ProcessId}";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, InFlight> _inFlight = new();
    private readonly SemaphoreSlim _slots = new(options.Workers, Math.Max(1, options.Workers));
    private readonly SemaphoreSlim _unsettled = new(options.Workers * UnsettledPerSlot, Math.Max(1, options.Workers * UnsettledPerSlot));
    private readonly GroupCommitter<RunCompletion, bool> _committer = new((batch, ct) => store.CompleteManyAsync(batch, ct));

    private sealed record InFlight(string WorkerId, CancellationTokenSource Stop)
    {
        /// <summary>Set when shutdown handed the run back: its engine is stopped and its outcome is not stored.</summary>
        public bool HandedBack { get; set; }

        /// <summary>Stops the run's engine; a run that ended meanwhile (its token source disposed) has nothing left to stop.</summary>
        public async Task StopEngineAsync()
        {
            try { await Stop.CancelAsync(); }
            catch (ObjectDisposedException) { }
        }
    }

    /// <summary>Runs this process is executing (or committing) now.</summary>
    public int InFlightCount => _inFlight.Count;

    /// <summary>Transactions that stored finished runs so far (each covers the runs that finished together).</summary>
    public long CompletionCommits => _committer.Commits;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (options.Workers <= 0) return; // an HTTP-only process (`--workers 0`)
            var running = new List<Task>();
            await ClaimLoopAsync(running, stoppingToken);
            // Shutdown: claimed runs are finished (the host waits up to its shutdown timeout; then StopAsync hands the
            // rest back). Cancelling them here would end acknowledged input as `cancelled` for good.
            Task[] left;
            lock (running) left = [.. running];
            await Task.WhenAll(left);
        }
        finally
        {
            await _committer.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Lets in-flight runs finish until the host's shutdown timeout ends (<see cref="ServerOptions.ShutdownTimeout"/>);
    /// those still running then go back to <c>available</c> at once (not left for their lease to expire) and are stopped.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var left = _inFlight.ToArray();
        if (left.Length == 0) return;
        foreach (var (_, run) in left) run.HandedBack = true;
        try
        {
            var requeued = await store.RequeueAsync(left.Select(r => (r.Key, r.Value.WorkerId)).ToArray(), CancellationToken.None);
            LogHandedBack(logger, requeued.Count);
        }
        catch (Exception e)
        {
            LogHandBackFailed(logger, e);
        }
        // A run may have ended since the snapshot (its commit landed while the others were handed back).
        foreach (var (_, run) in left) await run.StopEngineAsync();
    }

    public override void Dispose()
    {
        _slots.Dispose();
        _unsettled.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Waits for a free slot, then claims as many runs as there are free slots in one transaction (started at once),
    /// and starts each; sleeps on the intake signal (or the poll interval) when the queue has nothing for it.
    /// </summary>
    private async Task ClaimLoopAsync(List<Task> running, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(ct);
                await _unsettled.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // One slot is held; take every other free one too, so a busy queue is claimed in batches.
            var held = 1;
            while (held < FerryStore.MaxClaimBatch && _slots.Wait(0, CancellationToken.None))
            {
                if (_unsettled.Wait(0, CancellationToken.None)) { held++; continue; }
                _slots.Release();
                break;
            }

            IReadOnlyList<ClaimedRun> claimed;
            ClaimLimitSet limitSet;
            try
            {
                limitSet = await limits.GetAsync(ct);
                claimed = await store.ClaimManyAsync(limitSet.For(_workerId, options.Lease), held, start: true, ct);
                if (claimed.Any(limitSet.IsOlderThan))
                {
                    // Runs of a version deployed since the limits this claim used were built: claim them again under that
                    // version's limits (their place in the queue is kept).
                    limitSet = await limits.RefreshAsync(ct);
                    var again = claimed.Where(r => limitSet.Limits(r.Project)).ToArray();
                    if (again.Length > 0)
                    {
                        await store.RequeueAsync(again.Select(r => (r.RunId, _workerId)).ToArray(), ct);
                        claimed = claimed.Except(again).ToArray();
                    }
                }
            }
            catch (Exception e)
            {
                Release(held);
                if (e is OperationCanceledException && ct.IsCancellationRequested) return;
                LogClaimFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            Release(held - claimed.Count);
            var now = options.Clock.GetUtcNow();
            foreach (var run in claimed)
            {
                metrics.RunClaimed(TimeSpan.FromTicks(Math.Max(0, (now - run.AvailableAt).Ticks)));
                var task = RunAsync(run, limitSet.Any);
                lock (running)
                {
                    running.RemoveAll(t => t.IsCompleted);
                    running.Add(task);
                }
            }
            if (claimed.Count == 0)
            {
                try { await signal.WaitAsync(options.PollInterval, ct); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Release(int count)
    {
        if (count <= 0) return;
        _slots.Release(count);
        _unsettled.Release(count);
    }

    /// <summary>Executes one claimed run, then stores its outcome through the group commit.</summary>
    private async Task RunAsync(ClaimedRun run, bool limited)
    {
        await Task.Yield(); // the claim loop goes on claiming while this run executes
        using var stop = new CancellationTokenSource();
        var inFlight = new InFlight(_workerId, stop);
        _inFlight[run.RunId] = inFlight;
        var slotHeld = true;
        try
        {
            var completion = await ExecuteRunAsync(run, inFlight);
            // The engine is done: the slot goes to the next run while this one waits for its commit.
            _slots.Release();
            slotHeld = false;
            // Handed back on shutdown: the run is available again and another worker runs it from the start.
            if (inFlight.HandedBack) return;
            // A refused completion (the run was cancelled or declared lost meanwhile) stores nothing, not even the cursor.
            if (await _committer.SubmitAsync(completion)) completions.Completed(completion);
        }
        catch (Exception e)
        {
            // The store failed (e.g. the database went away): the run stays started and the janitor reclaims it.
            // One failure must not end this worker, nor (through the host) the server.
            LogRunFailed(logger, run.RunId, e);
        }
        finally
        {
            _inFlight.TryRemove(run.RunId, out _);
            if (slotHeld) _slots.Release();
            _unsettled.Release();
            // Claims held back by a limit may take the next run of this workflow now.
            if (limited) signal.Pulse();
        }
    }

    private async Task<RunCompletion> ExecuteRunAsync(ClaimedRun run, InFlight inFlight)
    {
        var ct = CancellationToken.None;
        using var watchStop = new CancellationTokenSource();
        var watch = WatchAsync(run, inFlight.WorkerId, inFlight.Stop, watchStop.Token);
        try
        {
            var workspace = await projects.GetAsync(run.Project, run.Version, ct);
            var plan = workspace.Plan(run.Workflow);
            var cursor = new Steps.Cursor(run.CursorJson is null ? null : Js.Parse(run.CursorJson));
            var values = await credentials.LoadAsync(run.Project, ct);
            ProjectCredentials.RequireAll(plan, values);
            var result = await WorkflowRunner.RunAsync(plan, new RunOptions
            {
                Input = Js.ParseStateObject(Encoding.UTF8.GetBytes(run.InputJson)),
                StartStep = run.StartStep,
                Cursor = cursor,
                Credentials = values,
                CaptureStepInputs = true,
                MinimumLogLevel = Steps.LogLevel.Info,
                CancellationToken = inFlight.Stop.Token,
                Timeout = plan.Timeout,
                TimeoutSource = plan.TimeoutSource,
            });
            foreach (var step in result.Steps) metrics.StepFinished(step.Duration);
            metrics.RunFinished(result.Status.ToString().ToLowerInvariant(), result.Duration);
            return Completion(run, inFlight.WorkerId, result, projects.VersionFolder(run.Project, run.Version)) with
            {
                CursorJson = result.CursorChanged ? Js.ToJson(result.Cursor) : null,
                // The first step's input is the run's input: stored once.
                InputDataclipId = run.InputDataclipId,
                InputJson = run.InputJson,
            };
        }
        catch (Exception e)
        {
            // The run could not start (its version no longer compiles, a credential cannot be decrypted…).
            return new RunCompletion(run.RunId, inFlight.WorkerId, Storage.RunStatus.Exception, DateTimeOffset.UtcNow, e.Message, null, [], []);
        }
        finally
        {
            await watchStop.CancelAsync();
            await watch;
        }
    }

    private RunCompletion Completion(ClaimedRun run, string workerId, RunResult result, string versionFolder)
    {
        string? Relative(string? text) => text is null ? null : DeployedProjects.ProjectRelative(text, versionFolder);
        // A state object handed on unchanged (one step's output is the next step's input) is serialised once.
        var serialised = new Dictionary<JsObject, string>(ReferenceEqualityComparer.Instance);
        string? Clip(JsObject? state)
        {
            if (state is null) return null;
            if (serialised.TryGetValue(state, out var known)) return known;
            var json = Js.ToJson(state);
            json = json.Length <= options.MaxDataclipBytes ? json : Js.ToJson(new { truncated = true, bytes = json.Length, note = "larger than the dataclip limit" });
            serialised[state] = json;
            return json;
        }
        return new RunCompletion(
            run.RunId,
            workerId,
            result.Status.ToString().ToLowerInvariant(), // engine states are named as the store's (DESIGN §1)
            DateTimeOffset.UtcNow,
            Relative(result.Error?.ToString()),
            Clip(result.FinalState),
            result.Steps.Select(s => new StepRunData(s.StepId, s.Status.ToString().ToLowerInvariant(), s.StartedAt, (long)s.Duration.TotalMilliseconds, s.AllocatedBytes, Relative(s.Error?.ToString()), Clip(s.Input), Clip(s.Output))).ToArray(),
            result.Log.Select(l => new LogLineData(l.Time, l.Level.ToString().ToLowerInvariant(), l.StepId, Relative(l.Message)!)).ToArray());
    }

    /// <summary>
    /// While the run goes: renews its lease every third of it, and checks every <see cref="ServerOptions.CancelPollInterval"/>
    /// whether someone cancelled it. Stops the engine when it was cancelled, or when the run is no longer this worker's
    /// (marked lost, taken over): its outcome would be refused anyway.
    /// </summary>
    private async Task WatchAsync(ClaimedRun run, string workerId, CancellationTokenSource stopRun, CancellationToken ct)
    {
        var poll = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(10).Ticks, Math.Min(options.CancelPollInterval.Ticks, options.Lease.Ticks / 3)));
        var heartbeatEvery = options.Lease / 3;
        var sinceHeartbeat = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (true)
            {
                await Task.Delay(poll, ct);
                var stillOurs = true;
                if (sinceHeartbeat.Elapsed >= heartbeatEvery)
                {
                    stillOurs = await store.HeartbeatAsync(run.RunId, workerId, options.Lease, ct);
                    sinceHeartbeat.Restart();
                }
                if (!stillOurs || await store.IsCancelRequestedAsync(run.RunId, ct))
                {
                    await stopRun.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the run ended
        }
        catch (Exception e)
        {
            // The store is unreachable: keep running; the lease tells the janitor if this process is really gone.
            LogWatchFailed(logger, run.RunId, e);
        }
    }

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "Run {RunId} could not be executed or stored; the janitor will reclaim it")]
    private static partial void LogRunFailed(ILogger logger, Guid runId, Exception e);

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Run {RunId}: heartbeats and cancel checks stopped after a store error; the run goes on")]
    private static partial void LogWatchFailed(ILogger logger, Guid runId, Exception e);

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Shutdown: {Count} unfinished runs handed back to the queue")]
    private static partial void LogHandedBack(ILogger logger, int count);

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "Shutdown: unfinished runs could not be handed back; the janitor marks them lost when their lease ends")]
    private static partial void LogHandBackFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Claiming a run failed; retrying in 1 s")]
    private static partial void LogClaimFailed(ILogger logger, Exception e);
}
