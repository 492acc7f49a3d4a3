using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

public sealed partial class FerryStore
{
    private const string FinalStatuses = "('success', 'failed', 'crashed', 'cancelled', 'killed', 'exception', 'lost')";

    /// <summary>
    /// Runs a finished work order again as a new run (attempt = last + 1). With <paramref name="fromStep"/> the run
    /// starts at that step with the input the step last received; otherwise from the start with the work order's input.
    /// By default the run uses the version the last run ran on; pass <paramref name="version"/> for another (e.g. latest).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown work order, or the step has no stored input (the message lists those that do).</exception>
    /// <exception cref="InvalidOperationException">The work order still has a run in flight, or the needed input was wiped by retention.</exception>
    /// <remarks><paramref name="audit"/> makes the audit entry from the new run, written in the same transaction.</remarks>
    public Task<EnqueuedRun> RetryAsync(Guid workOrderId, string? fromStep = null, int? version = null, Func<EnqueuedRun, AuditEntry>? audit = null, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(async scope =>
        {
            var orders = await QueryAsync(scope.Connection, scope, """
                SELECT w.project, w.workflow, w.input_dataclip_id, r.status, r.version, w.seq
                FROM work_orders w JOIN runs r ON r.id = w.last_run_id WHERE w.id = @id
                """, new { id = _dialect.Id(workOrderId) },
                r => (Project: r.GetString(0), Workflow: r.GetString(1), Input: r.GetGuid(2), Status: r.GetString(3), Version: r.GetInt32(4), Seq: r.GetInt64(5)), ct);
            if (orders.Count == 0) throw new ArgumentException($"workOrderId {workOrderId} is not a known work order; list work orders to find its id.", nameof(workOrderId));
            var order = orders[0];
            if (!RunStatus.IsFinal(order.Status))
            {
                throw new InvalidOperationException($"Work order {workOrderId} still has a run in flight ({order.Status}); cancel it or wait for it to finish, then retry.");
            }
            var input = order.Input;
            if (fromStep is not null)
            {
                var stepInputs = await QueryAsync(scope.Connection, scope, """
                    SELECT s.step_id, s.input_dataclip_id FROM step_runs s JOIN runs r ON r.id = s.run_id
                    WHERE r.work_order_id = @id AND s.input_dataclip_id IS NOT NULL
                    ORDER BY r.seq DESC, s.ordinal DESC
                    """, new { id = _dialect.Id(workOrderId) }, r => (Step: r.GetString(0), Input: r.GetGuid(1)), ct);
                var match = stepInputs.FirstOrDefault(s => s.Step == fromStep);
                if (match.Step is null)
                {
                    var known = stepInputs.Select(s => s.Step).Distinct().Order(StringComparer.Ordinal).ToList();
                    throw new ArgumentException(
                        $"fromStep '{fromStep}' has no stored input in work order {workOrderId}; " +
                        (known.Count == 0 ? "no step of it stored one, so retry from the start." : $"steps with a stored input: {string.Join(", ", known)}."), nameof(fromStep));
                }
                input = match.Input;
            }
            var body = await scope.Connection.ExecuteScalarAsync<string?>(Cmd("SELECT body FROM dataclips WHERE id = @id", new { id = _dialect.Id(input) }, scope, ct));
            if (body is null)
            {
                throw new InvalidOperationException(
                    $"The input {(fromStep is null ? "of work order " + workOrderId : $"of step '{fromStep}'")} was wiped by the project's retention policy (or was over the dataclip size limit), so it cannot be run again.");
            }
            var attempt = 1 + await scope.Connection.ExecuteScalarAsync<int>(Cmd("SELECT MAX(attempt) FROM runs WHERE work_order_id = @id", new { id = _dialect.Id(workOrderId) }, scope, ct));
            var runId = TimeOrderedIds.New(now);
            await InsertRowsAsync(scope, "runs", RunColumnsForInsert,
                [RunRow(runId, workOrderId, order.Project, order.Workflow, version ?? order.Version, attempt, fromStep, input, now, now)], ct);
            await scope.Connection.ExecuteAsync(Cmd("UPDATE work_orders SET last_run_id = @run, status = 'available', updated_at = @now WHERE id = @id",
                new { id = _dialect.Id(workOrderId), run = _dialect.Id(runId), now = _dialect.Time(now) }, scope, ct));
            await LowerRetentionMarksAsync(scope, order.Project, order.Seq - 1, ct);
            var retried = new EnqueuedRun(workOrderId, runId);
            await InsertAuditAsync(scope, audit?.Invoke(retried), ct);
            return retried;
        }, ct);
    }

    /// <summary>
    /// One pass of the retention job for <paramref name="project"/>: deletes the finished work orders older than the
    /// history period, then wipes the dataclip bodies the policy no longer keeps. Work orders still queued or running
    /// are never touched. Every transaction covers at most <paramref name="batchSize"/> work orders, so however long the
    /// history, the pass never keeps intake and the workers from writing for more than a moment.
    /// </summary>
    public async Task<RetentionResult> ApplyRetentionAsync(string project, RetentionPolicy policy, DateTimeOffset now, int batchSize = 500, CancellationToken ct = default)
    {
        if (!RetentionPolicy.Modes.Contains(policy.Mode))
        {
            throw new ArgumentException($"retention mode '{policy.Mode}' is unknown; use one of {string.Join(", ", RetentionPolicy.Modes)}.", nameof(policy));
        }
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be 1 or more.");
        var deleted = 0;
        if (policy.HistoryPeriod is { } history)
        {
            int batch;
            do
            {
                batch = await DeleteExpiredAsync(project, now - history, batchSize, ct);
                deleted += batch;
            }
            while (batch == batchSize);
        }
        var wiped = 0;
        // Which finished work orders' dataclips the mode wipes at once (retain_all: none).
        Func<string, bool>? wipes = policy.Mode switch
        {
            RetentionPolicy.EraseAll => RunStatus.IsFinal,
            RetentionPolicy.RetainWithErrors => status => status == RunStatus.Success,
            _ => null,
        };
        if (wipes is not null) wiped += await WipeAsync(project, policy.Mode, wipes, null, now, batchSize, ct);
        if (policy.DataclipPeriod is { } keep) wiped += await WipeAsync(project, DataclipPeriodMark, RunStatus.IsFinal, now - keep, now, batchSize, ct);
        return new RetentionResult(wiped, deleted);
    }

    /// <summary>Deletes up to <paramref name="max"/> of the project's finished work orders created before
    /// <paramref name="cutoff"/>, oldest first, with their runs, step runs, logs and dataclips, in one transaction.</summary>
    private Task<int> DeleteExpiredAsync(string project, DateTimeOffset cutoff, int max, CancellationToken ct) => WriteAsync(async scope =>
    {
        var ids = (await QueryAsync(scope.Connection, scope,
            // Oldest first through (project, seq), only up to the project's first work order created after the cutoff:
            // the walk covers the expired work orders, not the whole history (seq follows created_at except for
            // requests replayed from the intake journal, which a later pass takes).
            $"""
            SELECT id FROM work_orders
            WHERE project = @project AND status IN {FinalStatuses} AND created_at < @cutoff
              AND seq < COALESCE((SELECT MIN(seq) FROM work_orders WHERE project = @project AND created_at >= @cutoff), {long.MaxValue})
            ORDER BY seq LIMIT @max
            """,
            new { project, cutoff = _dialect.Time(cutoff), max }, r => r.GetGuid(0), ct)).ToList();
        if (ids.Count == 0) return 0;
        var args = new { ids = _dialect.IdList(ids) };
        var runs = $"SELECT id FROM runs WHERE {_dialect.InList("work_order_id", "@ids")}";
        foreach (var sql in new[]
        {
            $"DELETE FROM log_lines WHERE run_id IN ({runs})",
            $"DELETE FROM step_runs WHERE run_id IN ({runs})",
            $"DELETE FROM dataclips WHERE {_dialect.InList("work_order_id", "@ids")}",
            $"DELETE FROM runs WHERE {_dialect.InList("work_order_id", "@ids")}",
        })
        {
            await scope.Connection.ExecuteAsync(Cmd(sql, args, scope, ct));
        }
        return await scope.Connection.ExecuteAsync(Cmd($"DELETE FROM work_orders WHERE {_dialect.InList("id", "@ids")}", args, scope, ct));
    }, ct);

    /// <summary>The <c>retention_marks</c> kind of the wipe by age (<see cref="RetentionPolicy.DataclipPeriod"/>); the
    /// wipes by mode use the mode's name.</summary>
    private const string DataclipPeriodMark = "dataclip_period";

    /// <summary>
    /// Empties the bodies of the project's dataclips whose work orders' status <paramref name="wipes"/>
    /// (and, with <paramref name="createdBefore"/>, that were created before it), found through those work orders (a
    /// dataclip belongs to its work order's project). Walks the project's work orders in seq order, one transaction per
    /// <paramref name="batchSize"/> of them, from the <paramref name="kind"/>'s mark in <c>retention_marks</c>; with a
    /// cutoff, only up to the first work order created after it. The mark moves over every work order the walk finds
    /// final (wiped, or kept by the policy), up to the first that is not: the next pass starts there, so a pass costs
    /// what is new since, not the whole history.
    /// </summary>
    private async Task<int> WipeAsync(string project, string kind, Func<string, bool> wipes, DateTimeOffset? createdBefore, DateTimeOffset now, int batchSize, CancellationToken ct)
    {
        var cutoff = createdBefore is { } before ? _dialect.Time(before) : null;
        var created = cutoff is null ? "" : " AND created_at < @cutoff";
        var stop = long.MaxValue;
        if (cutoff is not null)
        {
            var first = await ReadAsync("SELECT MIN(seq) FROM work_orders WHERE project = @project AND created_at >= @cutoff", new { project, cutoff },
                r => r.IsDBNull(0) ? (long?)null : r.GetInt64(0), ct);
            stop = first[0] ?? long.MaxValue;
        }
        var marks = await ReadAsync("SELECT seq FROM retention_marks WHERE project = @project AND kind = @kind", new { project, kind }, r => r.GetInt64(0), ct);
        var wiped = 0;
        var after = marks.Count > 0 ? marks[0] : 0L;
        var settling = true; // every work order walked so far in this pass was final: the mark follows the walk
        while (true)
        {
            var (count, last, seen, settled) = await WriteAsync(async scope =>
            {
                var window = await QueryAsync(scope.Connection, scope, """
                    SELECT seq, id, status, updated_at FROM work_orders
                    WHERE project = @project AND seq > @after AND seq < @stop
                    ORDER BY seq LIMIT @max
                    """, new { project, after, stop, max = batchSize },
                    r => (Seq: r.GetInt64(0), Id: r.GetGuid(1), Status: r.GetString(2), Updated: _dialect.ReadTime(r, 3)), ct);
                if (window.Count == 0) return (0, after, 0, settling);
                var wipe = window.Where(w => wipes(w.Status)).Select(w => w.Id).ToList();
                var count = wipe.Count == 0 ? 0 : await scope.Connection.ExecuteAsync(Cmd($"""
                    UPDATE dataclips SET body = NULL, wiped_at = @now
                    WHERE {_dialect.InList("work_order_id", "@ids")} AND body IS NOT NULL{created}
                    """, new { ids = _dialect.IdList(wipe), now = _dialect.Time(now), cutoff }, scope, ct));
                // With a cutoff, a work order is done with only once its last change (and so its last dataclip) is
                // older than the cutoff: a retry's newer outputs are wiped by a later pass.
                var stillSettling = settling && window.All(w => RunStatus.IsFinal(w.Status) && (createdBefore is null || w.Updated < createdBefore));
                if (stillSettling)
                {
                    // Checked again in the statement that moves the mark, for PostgreSQL, where a retry may commit
                    // meanwhile: a work order that is no longer final, or a mark a retry moved back since this pass read
                    // it, keeps the mark where it is; a retry committing later moves it back itself (RetryAsync).
                    var changed = cutoff is null ? "" : " OR updated_at >= @cutoff";
                    stillSettling = await scope.Connection.ExecuteAsync(Cmd($"""
                        INSERT INTO retention_marks (project, kind, seq)
                        SELECT @project, @kind, @settled
                        WHERE NOT EXISTS (SELECT 1 FROM work_orders WHERE project = @project AND seq > @after AND seq <= @settled
                            AND (status NOT IN {FinalStatuses}{changed}))
                        ON CONFLICT (project, kind) DO UPDATE SET seq = excluded.seq WHERE retention_marks.seq = @after
                        """, new { project, kind, settled = window[^1].Seq, after, cutoff }, scope, ct)) == 1;
                }
                return (count, window[^1].Seq, window.Count, stillSettling);
            }, ct);
            wiped += count;
            settling = settled;
            if (seen < batchSize) return wiped;
            after = last;
        }
    }

    /// <summary>A finished work order runs again (retry): every retention mark of its project moves back to
    /// <paramref name="seq"/> at most, so the next wipe walks over it again. An upsert, not an update: on PostgreSQL a
    /// wipe that is about to write the project's first mark then waits for it, or this waits for the wipe and moves
    /// its mark back. A kind never walked gets 0, which is what no mark means.</summary>
    private static async Task LowerRetentionMarksAsync(WriteScope scope, string project, long seq, CancellationToken ct)
    {
        foreach (var kind in new[] { RetentionPolicy.EraseAll, RetentionPolicy.RetainWithErrors, DataclipPeriodMark })
        {
            await scope.Connection.ExecuteAsync(Cmd("""
                INSERT INTO retention_marks (project, kind, seq) VALUES (@project, @kind, 0)
                ON CONFLICT (project, kind) DO UPDATE SET seq = @seq WHERE retention_marks.seq > @seq
                """, new { project, kind, seq }, scope, ct));
        }
    }

    /// <summary>
    /// Takes or renews the named lease (e.g. <c>scheduler</c>) for <paramref name="holder"/> until now + <paramref name="duration"/>.
    /// True when <paramref name="holder"/> holds it; false while another holder's lease is still running.
    /// </summary>
    public Task<bool> TryAcquireLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        var now = Now;
        return WriteAsync(async scope => await scope.Connection.ExecuteAsync(Cmd("""
            INSERT INTO leases (name, holder, lease_until) VALUES (@name, @holder, @until)
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
            WHERE leases.holder = excluded.holder OR leases.lease_until < @now
            """, new { name, holder, until = _dialect.Time(now + duration), now = _dialect.Time(now) }, scope, ct)) == 1, ct);
    }

    /// <summary>Gives the lease up at once (clean shutdown), if <paramref name="holder"/> holds it.</summary>
    public Task ReleaseLeaseAsync(string name, string holder, CancellationToken ct = default) =>
        WriteAsync(scope => scope.Connection.ExecuteAsync(Cmd("DELETE FROM leases WHERE name = @name AND holder = @holder", new { name, holder }, scope, ct)), ct);
}
