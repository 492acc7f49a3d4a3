namespace Ferry.Server.Scheduling;

/// <summary>
/// A background job that runs one pass every <see cref="Interval"/>, on the leader only (<see cref="LeaderLease"/>): cron
/// ticks, retention. A failed pass is logged and tried again at the next interval; stopping ends the loop.
/// </summary>
public abstract partial class LeaderJob(LeaderLease leader, ILogger logger) : BackgroundService
{
    /// <summary>Time between passes.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>What the job is called in the log ("the scheduler", "retention").</summary>
    protected abstract string JobName { get; }

    /// <summary>One pass, run only while this process is the leader.</summary>
    protected abstract Task PassAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await leader.IsLeaderAsync(stoppingToken)) await PassAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogPassFailed(logger, e, JobName);
            }
            await Task.Delay(Interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A pass of {Job} failed; it will try again")]
    private static partial void LogPassFailed(ILogger logger, Exception e, string job);
}
