using Dapper;

namespace Ferry.Storage;

public sealed partial class FerryStore
{
    /// <summary>The last tick of every cron trigger the scheduler has seen (all projects when <paramref name="project"/> is null).</summary>
    public Task<IReadOnlyList<ScheduleTick>> ListScheduleTicksAsync(string? project = null, CancellationToken ct = default) =>
        ReadAsync(
            "SELECT project, workflow, trigger_name, last_tick FROM schedule_ticks" + (project is null ? "" : " WHERE project = @project") +
            " ORDER BY project, workflow, trigger_name",
            new { project }, r => new ScheduleTick(r.GetString(0), r.GetString(1), r.GetString(2), _dialect.ReadTime(r, 3)), ct);

    /// <summary>
    /// The first time the scheduler sees a cron trigger: records <paramref name="from"/> as its last tick, so the
    /// schedule starts from then (no run for the past). Does nothing when the trigger already has a last tick (another
    /// leader got there first, or it was seen before); returns the last tick now stored.
    /// </summary>
    public async Task<DateTimeOffset> StartScheduleAsync(string project, string workflow, string trigger, DateTimeOffset from, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(project);
        ArgumentException.ThrowIfNullOrWhiteSpace(workflow);
        ArgumentException.ThrowIfNullOrWhiteSpace(trigger);
        var now = Now;
        return await WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO schedule_ticks (project, workflow, trigger_name, last_tick, updated_at) VALUES (@project, @workflow, @trigger, @from, @now)
                ON CONFLICT (project, workflow, trigger_name) DO NOTHING
                """, new { project, workflow, trigger, from = _dialect.Time(from), now = _dialect.Time(now) }, scope, ct));
            var rows = await QueryAsync(scope.Connection, scope,
                "SELECT last_tick FROM schedule_ticks WHERE project = @project AND workflow = @workflow AND trigger_name = @trigger",
                new { project, workflow, trigger }, r => _dialect.ReadTime(r, 0), ct);
            return rows[0];
        }, ct);
    }

    /// <summary>
    /// Moves a trigger's last tick forward to <paramref name="tick"/> without running anything (a disabled trigger lets
    /// its ticks pass). Never moves it back.
    /// </summary>
    public Task AdvanceScheduleAsync(string project, string workflow, string trigger, DateTimeOffset tick, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(scope => scope.Connection.ExecuteAsync(Cmd("""
            INSERT INTO schedule_ticks (project, workflow, trigger_name, last_tick, updated_at) VALUES (@project, @workflow, @trigger, @tick, @now)
            ON CONFLICT (project, workflow, trigger_name) DO UPDATE SET last_tick = excluded.last_tick, updated_at = excluded.updated_at
            WHERE schedule_ticks.last_tick < excluded.last_tick
            """, new { project, workflow, trigger, tick = _dialect.Time(tick), now = _dialect.Time(now) }, scope, ct)), ct);
    }

    /// <summary>
    /// Runs one due cron tick: moves the trigger's last tick forward to <paramref name="tick"/> and enqueues
    /// <paramref name="order"/> (its <see cref="NewWorkOrder.Trigger"/> names the cron trigger) in ONE transaction.
    /// Null, and nothing written, when the stored last tick is already at or past <paramref name="tick"/>: a second
    /// leader, or a retry after a crash, never runs a tick twice.
    /// </summary>
    public Task<EnqueuedRun?> EnqueueScheduledAsync(NewWorkOrder order, DateTimeOffset tick, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentException.ThrowIfNullOrWhiteSpace(order.Project);
        ArgumentException.ThrowIfNullOrWhiteSpace(order.Workflow);
        ArgumentException.ThrowIfNullOrWhiteSpace(order.Trigger);
        ArgumentNullException.ThrowIfNull(order.InputJson);
        if (order.Version < 1) throw new ArgumentException($"order.Version is {order.Version}; use a deployed version (1 or more).", nameof(order));
        var now = Now;
        return WriteAsync<EnqueuedRun?>(async scope =>
        {
            var key = new { project = order.Project, workflow = order.Workflow, trigger = order.Trigger, tick = _dialect.Time(tick), now = _dialect.Time(now) };
            // Only forward: on PostgreSQL a concurrent leader waits on the row lock, then sees the new tick and updates nothing.
            var moved = await scope.Connection.ExecuteAsync(Cmd("""
                UPDATE schedule_ticks SET last_tick = @tick, updated_at = @now
                WHERE project = @project AND workflow = @workflow AND trigger_name = @trigger AND last_tick < @tick
                """, key, scope, ct));
            if (moved == 0)
            {
                var exists = await scope.Connection.ExecuteScalarAsync<int>(Cmd(
                    "SELECT COUNT(*) FROM schedule_ticks WHERE project = @project AND workflow = @workflow AND trigger_name = @trigger", key, scope, ct));
                if (exists > 0) return null;
                moved = await scope.Connection.ExecuteAsync(Cmd("""
                    INSERT INTO schedule_ticks (project, workflow, trigger_name, last_tick, updated_at) VALUES (@project, @workflow, @trigger, @tick, @now)
                    ON CONFLICT (project, workflow, trigger_name) DO NOTHING
                    """, key, scope, ct));
                if (moved == 0) return null;
            }
            var rows = PrepareWorkOrders([order], now);
            await InsertWorkOrdersAsync(scope, rows, ct);
            return rows.Ids[0];
        }, ct);
    }

    /// <summary>
    /// Hands runs back to the queue: each run still claimed or started by its worker becomes <c>available</c> again
    /// (same attempt, same place in the queue), so another worker takes it at once instead of waiting for the lease to
    /// run out. Used on graceful shutdown for runs that did not finish in time. Returns the runs handed back.
    /// </summary>
    public Task<IReadOnlyList<Guid>> RequeueAsync(IReadOnlyList<(Guid RunId, string WorkerId)> runs, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync<IReadOnlyList<Guid>>(async scope =>
        {
            var requeued = new List<Guid>();
            foreach (var (runId, workerId) in runs)
            {
                var workOrder = await QueryAsync(scope.Connection, scope, """
                    UPDATE runs SET status = 'available', worker_id = NULL, claimed_at = NULL, started_at = NULL, lease_until = NULL
                    WHERE id = @id AND worker_id = @workerId AND status IN ('claimed', 'started')
                    RETURNING work_order_id
                    """, new { id = _dialect.Id(runId), workerId }, r => r.GetGuid(0), ct);
                if (workOrder.Count == 0) continue;
                await scope.Connection.ExecuteAsync(Cmd("UPDATE work_orders SET status = 'available', updated_at = @now WHERE id = @id AND last_run_id = @run",
                    new { id = _dialect.Id(workOrder[0]), run = _dialect.Id(runId), now = _dialect.Time(now) }, scope, ct));
                requeued.Add(runId);
            }
            return requeued;
        }, ct);
    }
}

/// <summary>The last tick a cron trigger ran for (or, before its first run, when the scheduler first saw it).</summary>
public sealed record ScheduleTick(string Project, string Workflow, string Trigger, DateTimeOffset LastTick);
