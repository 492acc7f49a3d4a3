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
/// Claims runs from the queue (the runs table) and executes them with the engine, on the version the work order was
/// created for; keeps the claim alive with heartbeats, and stores the outcome, steps, logs and dataclips in one commit.
/// </summary>
public sealed partial class RunWorker(FerryStore store, DeployedProjects projects, ProjectCredentials credentials, RunSignal signal, ServerOptions options, Metrics.FerryMetrics metrics, ILogger<RunWorker> logger)
    : BackgroundService
{
    private readonly string _workerId = $"{Environment.MachineName}/{Environment.ProcessId}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Workers).Select(i => LoopAsync($"{_workerId}/{i}", stoppingToken)));

    private async Task LoopAsync(string workerId, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            ClaimedRun? claimed;
            try
            {
                claimed = await store.ClaimAsync(new ClaimRequest(workerId, options.Lease), ct);
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
            try
            {
                // A claimed run is finished even when shutdown begins: its steps have their own time budgets, the host
                // waits for it up to its shutdown timeout, and a process that dies first leaves it to the janitor
                // (lost, then retried). Cancelling it here would end acknowledged input as `cancelled` for good.
                await RunClaimedAsync(workerId, claimed, CancellationToken.None);
            }
            catch (Exception e)
            {
                // The store failed (e.g. the database went away): the run stays claimed and the janitor reclaims it.
                // One failure must not end this worker, nor (through the host) the server.
                LogRunFailed(logger, claimed.RunId, e);
            }
        }
    }

    private async Task RunClaimedAsync(string workerId, ClaimedRun run, CancellationToken ct)
    {
        // False: the run was cancelled (or taken over) after the claim; there is nothing to do.
        if (!await store.MarkStartedAsync(run.RunId, workerId, ct)) return;
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(run, workerId, heartbeatStop.Token);
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
                CancellationToken = ct,
            });
            if (result.CursorChanged) cursorJson = Js.ToJson(result.Cursor);
            foreach (var step in result.Steps) metrics.StepFinished(step.Duration);
            metrics.RunFinished(result.Status.ToString().ToLowerInvariant(), result.Duration);
            completion = Completion(run, workerId, result, projects.VersionFolder(run.Project, run.Version));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // The run could not start (its version no longer compiles, a credential cannot be decrypted…).
            completion = new RunCompletion(run.RunId, workerId, Storage.RunStatus.Exception, DateTimeOffset.UtcNow, e.Message, null, [], []);
        }
        finally
        {
            await heartbeatStop.CancelAsync();
            await heartbeat;
        }
        // A refused completion (the run was cancelled or declared lost meanwhile) must not move the cursor either.
        var completed = await store.CompleteAsync(completion, CancellationToken.None);
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

    private async Task HeartbeatAsync(ClaimedRun run, string workerId, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(options.Lease / 3, ct);
                await store.HeartbeatAsync(run.RunId, workerId, options.Lease, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the run ended
        }
    }

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "Run {RunId} could not be executed or stored; the janitor will reclaim it")]
    private static partial void LogRunFailed(ILogger logger, Guid runId, Exception e);

    [LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Claiming a run failed; retrying in 1 s")]
    private static partial void LogClaimFailed(ILogger logger, Exception e);
}
