using System.Text;
using Ferry.Engine;
using Ferry.Json;
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
/// Claims runs from the queue (the runs table) under the concurrency limits of ferry.yaml and executes them with the
/// engine, on the version the work order was created for, within the workflow's time limit; keeps the claim alive with
/// heartbeats, stops a run that is cancelled, and stores the outcome, steps, logs and dataclips in one commit. On
/// shutdown, runs still going when the host's shutdown timeout ends are handed back to the queue.
/// </summary>
public sealed partial class RunWorker(
    FerryStore store, DeployedProjects projects, ProjectCredentials credentials, RunSignal signal, ClaimLimits limits, ServerOptions options,
    Metrics.FerryMetrics metrics, RunCompletions completions, ILogger<RunWorker> logger)
    : BackgroundService
{
    private readonly string _workerId = $"{Environment.MachineName}/{Environment.ProcessId}";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, InFlight> _inFlight = new();

    private sealed record InFlight(string WorkerId, CancellationTokenSource Stop)
    {
        /// <summary>Set when shutdown handed the run back: its engine is stopped and its outcome is not stored.</summary>
        public bool HandedBack { get; set; }
    }

    /// <summary>Runs this process is executing now.</summary>
    public int InFlightCount => _inFlight.Count;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Workers).Select(i => LoopAsync($"{_workerId}/{i}", stoppingToken)));

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
        foreach (var (_, run) in left) await run.Stop.CancelAsync();
    }

    private async Task LoopAsync(string workerId, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            ClaimedRun? claimed;
            ClaimLimitSet limitSet;
            try
            {
                limitSet = await limits.GetAsync(ct);
                claimed = await store.ClaimAsync(limitSet.For(workerId, options.Lease), ct);
                if (claimed is not null && limitSet.IsOlderThan(claimed))
                {
                    // A run of a version deployed since the limits this claim used were built: claim it again under that
                    // version's limits (its place in the queue is kept).
                    limitSet = await limits.RefreshAsync(ct);
                    if (limitSet.Limits(claimed.Project))
                    {
                        await store.RequeueAsync([(claimed.RunId, workerId)], ct);
                        continue;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogClaimFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            if (claimed is null)
            {
                try { await signal.WaitAsync(options.PollInterval, ct); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            metrics.RunClaimed(TimeSpan.FromTicks(Math.Max(0, (options.Clock.GetUtcNow() - claimed.AvailableAt).Ticks)));
            try
            {
                // A claimed run is finished even when shutdown begins: the host waits for it up to its shutdown timeout
                // (then StopAsync hands it back), and a process that dies first leaves it to the janitor (lost, then
                // retried). Cancelling it here would end acknowledged input as `cancelled` for good.
                await RunClaimedAsync(workerId, claimed);
            }
            catch (Exception e)
            {
                // The store failed (e.g. the database went away): the run stays claimed and the janitor reclaims it.
                // One failure must not end this worker, nor (through the host) the server.
                LogRunFailed(logger, claimed.RunId, e);
            }
            // Workers idle because of a limit may take the next run of this workflow now.
            if (limitSet.Any) signal.Pulse();
        }
    }

    private async Task RunClaimedAsync(string workerId, ClaimedRun run)
    {
        using var stop = new CancellationTokenSource();
        var inFlight = new InFlight(workerId, stop);
        _inFlight[run.RunId] = inFlight;
        try
        {
            await ExecuteRunAsync(workerId, run, inFlight);
        }
        finally
        {
            _inFlight.TryRemove(run.RunId, out _);
        }
    }

    private async Task ExecuteRunAsync(string workerId, ClaimedRun run, InFlight inFlight)
    {
        var ct = CancellationToken.None;
        // False: the run was cancelled (or taken over) after the claim; there is nothing to do.
        if (!await store.MarkStartedAsync(run.RunId, workerId, ct)) return;
        using var watchStop = new CancellationTokenSource();
        var watch = WatchAsync(run, workerId, inFlight.Stop, watchStop.Token);
        RunCompletion completion;
        string? cursorJson = null;
        try
        {
            var workspace = await projects.GetAsync(run.Project, run.Version, ct);
            var plan = workspace.Plan(run.Workflow);
            var cursorText = await store.GetCursorAsync(run.Project, run.Workflow, ct);
            var cursor = new Steps.Cursor(cursorText is null ? null : Js.Parse(cursorText));
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
            if (result.CursorChanged) cursorJson = Js.ToJson(result.Cursor);
            foreach (var step in result.Steps) metrics.StepFinished(step.Duration);
            metrics.RunFinished(result.Status.ToString().ToLowerInvariant(), result.Duration);
            completion = Completion(run, workerId, result, projects.VersionFolder(run.Project, run.Version));
        }
        catch (Exception e)
        {
            // The run could not start (its version no longer compiles, a credential cannot be decrypted…).
            completion = new RunCompletion(run.RunId, workerId, Storage.RunStatus.Exception, DateTimeOffset.UtcNow, e.Message, null, [], []);
        }
        finally
        {
            await watchStop.CancelAsync();
            await watch;
        }
        // Handed back on shutdown: the run is available again and another worker runs it from the start.
        if (inFlight.HandedBack) return;
        // A refused completion (the run was cancelled or declared lost meanwhile) must not move the cursor either.
        var completed = await store.CompleteAsync(completion, CancellationToken.None);
        if (completed) completions.Completed(completion);
        if (completed && cursorJson is not null) await store.SetCursorAsync(run.Project, run.Workflow, cursorJson, CancellationToken.None);
    }
    private RunCompletion Completion(ClaimedRun run, string workerId, RunResult result, string versionFolder)
    {
        string? Relative(string? text) => text is null ? null : DeployedProjects.ProjectRelative(text, versionFolder);
        string? Clip(JsObject? state)
        {
            if (state is null) return null;
            var json = Js.ToJson(state);
            return json.Length <= options.MaxDataclipBytes ? json : Js.ToJson(new { truncated = true, bytes = json.Length, note = "larger than the dataclip limit" });
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
