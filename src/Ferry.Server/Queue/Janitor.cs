using Ferry.Storage;

namespace Ferry.Server.Queue;

/// <summary>
/// Marks runs whose worker stopped heartbeating as lost (and queues their retry when the workflow's policy allows),
/// so that a crashed process never leaves a run claimed forever.
/// </summary>
public sealed partial class Janitor(FerryStore store, RunSignal signal, ServerOptions options, ILogger<Janitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, options.Lease.Ticks / 3));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var lost = await store.ReclaimLostAsync(options.Clock.GetUtcNow(), stoppingToken);
                foreach (var run in lost) LogLost(logger, run.RunId, run.Project, run.Workflow, run.RetryRunId?.ToString() ?? "no retry");
                if (lost.Any(l => l.RetryRunId is not null)) signal.Pulse(lost.Count);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogFailed(logger, e);
            }
            await Task.Delay(period, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} of {Project}/{Workflow} was lost (its worker stopped); retry: {Retry}")]
    private static partial void LogLost(ILogger logger, Guid runId, string project, string workflow, string retry);

    [LoggerMessage(Level = LogLevel.Error, Message = "The janitor's pass failed; it will try again")]
    private static partial void LogFailed(ILogger logger, Exception e);
}
