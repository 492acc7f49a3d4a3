using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Ferry.Server.Projects;
using Ferry.Server.Queue;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server.Scheduling;

/// <summary>
/// Cron triggers in the server. On the leader only, every <see cref="ServerOptions.SchedulerInterval"/>: for each
/// project's current version, each enabled workflow's enabled cron trigger, the latest due tick since the trigger's
/// last tick becomes ONE work order, stored together with the new last tick (so a crash or a second leader never runs a
/// tick twice). After downtime, missed ticks collapse into one run. A trigger seen for the first time starts from now.
/// </summary>
public sealed partial class Scheduler(
    FerryStore store, DeployedProjects projects, LeaderLease leader, RunSignal signal, ServerOptions options, ILogger<Scheduler> logger) : LeaderJob(leader, logger)
{
    private readonly ConcurrentDictionary<(string Cron, string? Zone), CronSchedule> _schedules = new();

    protected override TimeSpan Interval => options.SchedulerInterval;

    protected override string JobName => "the scheduler";

    protected override Task PassAsync(CancellationToken ct) => TickAsync(ct);

    /// <summary>One pass over every project's cron triggers at the current time; returns the runs enqueued.</summary>
    public async Task<int> TickAsync(CancellationToken ct)
    {
        var now = options.Clock.GetUtcNow();
        var ticks = (await store.ListScheduleTicksAsync(null, ct)).ToDictionary(t => (t.Project, t.Workflow, t.Trigger), t => t.LastTick);
        var enqueued = 0;
        foreach (var project in await projects.ListCurrentAsync(ct))
        {
            // One project that cannot be read (its version fails to load…) must not stop the others' schedules.
            if (project.Spec is not { } spec)
            {
                LogProjectFailed(logger, project.Name, project.Version, project.LoadError!);
                continue;
            }
            try
            {
                foreach (var workflow in spec.Workflows)
                {
                    foreach (var trigger in workflow.Triggers.Where(t => t.Type == TriggerType.Cron && t.Cron is not null))
                    {
                        if (await TickTriggerAsync(project.Name, project.Version, workflow, trigger, ticks, now, ct)) enqueued++;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogProjectFailed(logger, project.Name, project.Version, e);
            }
        }
        if (enqueued > 0) signal.Pulse(enqueued);
        return enqueued;
    }

    private async Task<bool> TickTriggerAsync(string project, int version, WorkflowSpec workflow, TriggerSpec trigger,
        Dictionary<(string, string, string), DateTimeOffset> ticks, DateTimeOffset now, CancellationToken ct)
    {
        if (!ticks.TryGetValue((project, workflow.Name, trigger.Name), out var last))
        {
            await store.StartScheduleAsync(project, workflow.Name, trigger.Name, now, ct);
            LogStarted(logger, project, workflow.Name, trigger.Name, trigger.Cron!, trigger.Timezone ?? "UTC");
            return false;
        }
        var schedule = _schedules.GetOrAdd((trigger.Cron!, trigger.Timezone), k => CronSchedule.Parse(k.Cron, k.Zone, trigger.Location));
        if (schedule.Due(last.UtcDateTime, now.UtcDateTime) is not { } due) return false;
        var tick = new DateTimeOffset(due, TimeSpan.Zero);
        var meta = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["cron"] = trigger.Cron!,
            ["timezone"] = schedule.TimeZone.Id,
            ["tick"] = tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        });
        // A disabled workflow or trigger lets its ticks pass: the tick is recorded, nothing runs, and enabling it again
        // does not bring back a run for the time it was off.
        if (!workflow.Enabled || !trigger.Enabled)
        {
            await store.AdvanceScheduleAsync(project, workflow.Name, trigger.Name, tick, ct);
            return false;
        }
        var order = new NewWorkOrder(project, workflow.Name, trigger.Name, version, "{}",
            workflow.Retry is { } r ? new RetryPolicy(r.Attempts, r.Backoff, r.MaxBackoff) : null, RequestMetaJson: meta);
        var enqueued = await store.EnqueueScheduledAsync(order, tick, ct);
        if (enqueued is null) return false; // another leader (or an earlier pass) already ran this tick
        LogTick(logger, project, workflow.Name, trigger.Name, tick, enqueued.RunId);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cron trigger {Project}/{Workflow}/{Trigger} ({Cron}, {Zone}) scheduled from now")]
    private static partial void LogStarted(ILogger logger, string project, string workflow, string trigger, string cron, string zone);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cron trigger {Project}/{Workflow}/{Trigger}: tick {Tick:O} queued as run {RunId}")]
    private static partial void LogTick(ILogger logger, string project, string workflow, string trigger, DateTimeOffset tick, Guid runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cron triggers of {Project} v{Version} could not be checked; the next pass tries again")]
    private static partial void LogProjectFailed(ILogger logger, string project, int version, Exception e);

}
