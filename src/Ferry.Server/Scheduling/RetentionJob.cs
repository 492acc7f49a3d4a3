using Ferry.Server.Projects;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server.Scheduling;

/// <summary>
/// Applies each project's <c>retention</c> (from its current version's ferry.yaml) on the leader, at start and then
/// every <see cref="ServerOptions.RetentionInterval"/>: dataclips wiped per the policy, finished history older than
/// <c>history_days</c> deleted in short batches. A project without <c>retention</c> keeps everything for
/// <see cref="ServerOptions.DefaultHistoryDays"/>.
/// </summary>
public sealed partial class RetentionJob(FerryStore store, DeployedProjects projects, LeaderLease leader, ServerOptions options, ILogger<RetentionJob> logger)
    : LeaderJob(leader, logger)
{
    /// <summary>Work orders deleted or wiped per transaction, so intake is never blocked for long.</summary>
    public const int BatchSize = 500;

    protected override TimeSpan Interval => options.RetentionInterval;

    protected override string JobName => "retention";

    protected override Task PassAsync(CancellationToken ct) => ApplyAsync(ct);

    /// <summary>The policy the job applies for a project's <c>retention</c> spec (null: the server default).</summary>
    public static RetentionPolicy PolicyFor(RetentionSpec? spec, int defaultHistoryDays) => new(
        spec?.Policy ?? RetentionPolicy.RetainAll,
        TimeSpan.FromDays(spec?.HistoryDays ?? defaultHistoryDays),
        spec?.DataclipDays is { } days ? TimeSpan.FromDays(days) : null);

    /// <summary>One pass over every project; returns what was wiped and deleted in all.</summary>
    public async Task<RetentionResult> ApplyAsync(CancellationToken ct)
    {
        var now = options.Clock.GetUtcNow();
        int wiped = 0, deleted = 0;
        foreach (var project in await projects.ListCurrentAsync(ct))
        {
            if (project.Spec is not { } spec)
            {
                LogProjectFailed(logger, project.Name, project.LoadError!);
                continue;
            }
            try
            {
                var pass = await store.ApplyRetentionAsync(project.Name, PolicyFor(spec.Retention, options.DefaultHistoryDays), now, BatchSize, ct);
                wiped += pass.DataclipsWiped;
                deleted += pass.WorkOrdersDeleted;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogProjectFailed(logger, project.Name, e);
            }
        }
        if (wiped + deleted > 0) LogApplied(logger, wiped, deleted);
        return new RetentionResult(wiped, deleted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: {Wiped} dataclips wiped, {Deleted} work orders deleted")]
    private static partial void LogApplied(ILogger logger, int wiped, int deleted);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention of project {Project} failed; the next pass tries again")]
    private static partial void LogProjectFailed(ILogger logger, string project, Exception e);

}
