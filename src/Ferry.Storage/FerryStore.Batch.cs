using System.Diagnostics.CodeAnalysis;
using System.Text;
using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

/// <summary>The run queue's batch paths for workers: many claims in one statement, many completions in one commit.</summary>
public sealed partial class FerryStore
{
    /// <summary>Most runs one <see cref="ClaimManyAsync"/> takes.</summary>
    public const int MaxClaimBatch = 1000;

    /// <summary>
    /// Takes up to <paramref name="max"/> available runs, oldest first, atomically (no two claimers ever get the same
    /// run; PostgreSQL skips rows another claimer holds with <c>FOR UPDATE SKIP LOCKED</c>), with every limit
    /// <see cref="ClaimAsync"/> respects: project and workflow limits count the runs claimed here too, and an ordered
    /// workflow gives at most one run, only when none of it is active and it is the oldest waiting. Empty when nothing
    /// may be taken now. The runs are returned in arrival order, each with its input.
    /// </summary>
    /// <param name="start">
    /// True: the runs go straight to <c>started</c> (started_at = now) in the same statement, saving the
    /// <see cref="MarkStartedAsync"/> write per run. Only for a worker that begins every run it claims at once (it
    /// claims no more than its free slots): a started run cannot be cancelled before it begins, only asked to stop
    /// (<see cref="IsCancelRequestedAsync"/>), and queue latency (created → started) would otherwise include time spent
    /// waiting inside the worker. False: the runs are <c>claimed</c>; start each with <see cref="MarkStartedAsync"/>.
    /// </param>
    public Task<IReadOnlyList<ClaimedRun>> ClaimManyAsync(ClaimRequest request, int max, bool start = false, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.WorkerId);
        if (request.Lease <= TimeSpan.Zero) throw new ArgumentException($"ClaimRequest.Lease must be positive, got {request.Lease}.", nameof(request));
        if (max is < 1 or > MaxClaimBatch) throw new ArgumentOutOfRangeException(nameof(max), max, $"Claim between 1 and {MaxClaimBatch} runs at a time.");
        var now = Now;
        var leaseUntil = now + request.Lease;
        var limited = request.ProjectLimits is { Count: > 0 } || request.WorkflowLimits is { Count: > 0 } || request.OrderedWorkflows is { Count: > 0 };
        var set = start
            ? "status = 'started', worker_id = @worker, claimed_at = @now, started_at = @now, lease_until = @leaseUntil"
            : "status = 'claimed', worker_id = @worker, claimed_at = @now, lease_until = @leaseUntil";
        return WriteAsync<IReadOnlyList<ClaimedRun>>(async scope =>
        {
            // The last argument says which runs: the first @max available ones, or (limited) the @ids chosen below.
            (string, object?)[] claimArgs = [("worker", request.WorkerId), ("now", _dialect.Time(now)), ("leaseUntil", _dialect.Time(leaseUntil)), ("max", max)];
            string target;
            if (!limited)
            {
                target = $"SELECT r.seq FROM runs r WHERE r.status = 'available' AND r.available_at <= @now ORDER BY r.seq LIMIT @max {_dialect.ClaimRowLock}";
            }
            else
            {
                await _dialect.LockClaimsAsync(scope, ct);
                var active = await ActiveCountsAsync(scope, ct);
                var filters = new StringBuilder();
                var args = new DynamicParameters(new { now = _dialect.Time(now) });
                AddLimitFilters(request, active, filters, args);
                // Blocked flows are filtered in SQL; the flows that still have room get at most that many runs of this
                // window. A window full of one nearly-full flow gives a small batch; the next call skips that flow.
                args.Add("window", Math.Min(MaxClaimBatch, max * 4));
                var candidates = await QueryAsync(scope.Connection, scope, $"""
                    SELECT r.id, r.project, r.workflow FROM runs r
                    WHERE r.status = 'available' AND r.available_at <= @now{filters}
                    ORDER BY r.seq LIMIT @window {_dialect.ClaimRowLock}
                    """, args, r => (Id: r.GetGuid(0), Project: r.GetString(1), Workflow: r.GetString(2)), ct);
                var chosen = ChooseWithinLimits(request, active, candidates, max);
                if (chosen.Count == 0) return [];
                claimArgs[^1] = ("ids", _dialect.IdList(chosen));
                target = $"SELECT r.seq FROM runs r WHERE {_dialect.InList("r.id", "@ids")}";
            }
            // The target rows are available and held (PostgreSQL: locked by this statement or the SELECT above; SQLite:
            // one writer). No status test on the outer UPDATE: SQLite would then walk every available run by its index.
            var rows = await QueryStatementAsync(scope, $"""
                UPDATE runs SET {set}
                WHERE seq IN ({target})
                RETURNING seq, id, work_order_id, project, workflow, version, attempt, start_step, input_dataclip_id, available_at
                """, claimArgs, r => (Seq: r.GetInt64(0), Run: new ClaimedRun(r.GetGuid(1), r.GetGuid(2), r.GetString(3), r.GetString(4), r.GetInt32(5), r.GetInt32(6), "",
                    StringOrNull(r, 7), leaseUntil, _dialect.ReadTime(r, 9)), Input: r.GetGuid(8)), ct);
            if (rows.Count == 0) return [];
            var claimed = rows.OrderBy(c => c.Seq).ToList(); // RETURNING gives no order on PostgreSQL
            await SetWorkOrdersStatusAsync(scope, claimed.Select(c => (c.Run.WorkOrderId, c.Run.RunId)).ToList(), start ? RunStatus.Started : RunStatus.Claimed, now, ct);
            var bodies = new Dictionary<Guid, string?>(claimed.Count);
            foreach (var (id, body) in await QueryStatementAsync(scope, $"SELECT id, body FROM dataclips WHERE {_dialect.InList("id", "@ids")}",
                [("ids", _dialect.IdList(claimed.Select(c => c.Input).Distinct().ToList()))], r => (r.GetGuid(0), StringOrNull(r, 1)), ct))
            {
                bodies[id] = body;
            }
            // Each flow's cursor, read once per batch rather than once per run (and consistent with the claim).
            var cursors = new Dictionary<(string, string), string?>();
            foreach (var flow in claimed.Select(c => (c.Run.Project, c.Run.Workflow)).Distinct())
                cursors[flow] = await ReadCursorAsync(scope, flow.Project, flow.Workflow, ct);
            return claimed.Select(c => c.Run with
            {
                InputJson = bodies.GetValueOrDefault(c.Input) ?? "{}",
                InputDataclipId = bodies.GetValueOrDefault(c.Input) is null ? null : c.Input,
                CursorJson = cursors[(c.Run.Project, c.Run.Workflow)],
            }).ToList();
        }, ct, relaxed: true);
    }

    /// <summary>From candidates in arrival order, the ids that fit the room each project and workflow has left
    /// (an ordered workflow has room for one run).</summary>
    private static List<Guid> ChooseWithinLimits(ClaimRequest request, List<(string Project, string Workflow, int Count)> active,
        IReadOnlyList<(Guid Id, string Project, string Workflow)> candidates, int max)
    {
        var projectRoom = new Dictionary<string, int>();
        foreach (var (project, limit) in request.ProjectLimits ?? new Dictionary<string, int>())
            projectRoom[project] = limit - active.Where(a => a.Project == project).Sum(a => a.Count);
        var flowRoom = new Dictionary<(string, string), int>();
        foreach (var (flow, limit) in request.WorkflowLimits ?? new Dictionary<(string, string), int>())
            flowRoom[flow] = limit - active.Where(a => a.Project == flow.Project && a.Workflow == flow.Workflow).Sum(a => a.Count);
        foreach (var flow in request.OrderedWorkflows ?? new HashSet<(string, string)>())
            flowRoom[flow] = Math.Min(flowRoom.GetValueOrDefault(flow, 1), active.Any(a => a.Project == flow.Project && a.Workflow == flow.Workflow) ? 0 : 1);
        var chosen = new List<Guid>();
        foreach (var (id, project, workflow) in candidates)
        {
            if (chosen.Count == max) break;
            if (projectRoom.TryGetValue(project, out var pRoom) && pRoom <= 0) continue;
            if (flowRoom.TryGetValue((project, workflow), out var fRoom) && fRoom <= 0) continue;
            if (projectRoom.ContainsKey(project)) projectRoom[project] = pRoom - 1;
            if (flowRoom.ContainsKey((project, workflow))) flowRoom[(project, workflow)] = fRoom - 1;
            chosen.Add(id);
        }
        return chosen;
    }

    /// <summary>
    /// Records many run ends in ONE transaction (one commit, one fsync), each with its step runs, logs and dataclips,
    /// exactly as <see cref="CompleteAsync"/> would one by one. Returns one result per completion, in order: false when
    /// that completion is refused (the run is already final — cancelled, lost — or held by another worker); a refused
    /// completion writes nothing and does not stop the others.
    /// </summary>
    /// <exception cref="ArgumentException">A completion reports a state that is not a final state a worker reports; nothing is written.</exception>
    public Task<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<RunCompletion> completions, CancellationToken ct = default)
    {
        for (var i = 0; i < completions.Count; i++)
        {
            if (!RunStatus.Completions.Contains(completions[i].Status))
            {
                throw new ArgumentException(
                    $"completions[{i}].Status '{completions[i].Status}' is not a final state a worker reports; use one of {string.Join(", ", RunStatus.Completions)}. Nothing was written.",
                    nameof(completions));
            }
        }
        if (completions.Count == 0) return Task.FromResult<IReadOnlyList<bool>>([]);
        var now = Now;
        // Everything but the statements is prepared before the write lock: on SQLite one writer serves the whole server.
        var prepared = completions.Select(c => PrepareCompletion(c, now)).ToList();
        var updates = prepared.Select(p => p.Update).ToList();
        // One statement for the whole batch where the database takes arrays (PostgreSQL: a command per run cost about
        // 200 µs of its time per run), unless a run appears twice (each completion must be judged on its own).
        var atOnce = _dialect.ArrayParameters && completions.Select(c => c.RunId).Distinct().Count() == completions.Count;
        return WriteAsync<IReadOnlyList<bool>>(async scope =>
        {
            var updated = atOnce ? await FinishRunsAtOnceAsync(scope, completions, updates, ct) : await QueryEachAsync(scope, $"""
                UPDATE runs SET status = @status, finished_at = @finished, error = @error, output_dataclip_id = @output, lease_until = NULL
                WHERE id = @id AND worker_id = @workerId AND status IN {ActiveStatuses}
                RETURNING project, work_order_id, workflow
                """, ["id", "workerId", "status", "finished", "error", "output"], updates,
                r => (Project: (string)r[0]!, WorkOrder: AsGuid(r[1]), Workflow: (string)r[2]!), ct);
            var results = new bool[completions.Count];
            var clips = new List<object?[]>();
            var steps = new List<object?[]>();
            var logs = new List<object?[]>();
            var finished = new List<(Guid WorkOrder, Guid Run, string Status)>();
            var cursors = new List<(string Project, string Workflow, string Json)>();
            for (var c = 0; c < completions.Count; c++)
            {
                if (updated[c] is not { } row) continue;
                results[c] = true;
                var completion = completions[c];
                finished.Add((row.WorkOrder, completion.RunId, completion.Status));
                var workOrder = _dialect.RowId(row.WorkOrder);
                foreach (var clip in prepared[c].Clips)
                {
                    clip[1] = row.Project;
                    clip[2] = workOrder;
                    clips.Add(clip);
                }
                steps.AddRange(prepared[c].Steps);
                logs.AddRange(prepared[c].Logs);
                if (completion.CursorJson is { } cursor) cursors.Add((row.Project, row.Workflow, cursor));
            }
            await InsertRowsAsync(scope, "dataclips", DataclipColumns, clips, ct);
            await InsertRowsAsync(scope, "step_runs", StepRunColumns, steps, ct);
            await InsertRowsAsync(scope, "log_lines", LogLineColumns, logs, ct);
            foreach (var group in finished.GroupBy(f => f.Status))
                await SetWorkOrdersStatusAsync(scope, group.Select(f => (f.WorkOrder, f.Run)).ToList(), group.Key, now, ct);
            foreach (var (project, workflow, json) in cursors) await UpsertCursorAsync(scope, project, workflow, json, now, ct);
            return results;
        }, ct);
    }

    /// <summary>The rows of one completion, ready to insert once the run update accepts it (dataclip rows still lack
    /// their project and work order, which that update returns).</summary>
    private sealed record PreparedCompletion(object?[] Update, List<object?[]> Clips, List<object?[]> Steps, List<object?[]> Logs);

    private PreparedCompletion PrepareCompletion(RunCompletion completion, DateTimeOffset now)
    {
        var runId = _dialect.RowId(completion.RunId);
        var clips = new List<object?[]>();
        // A state handed from one step to the next (and the last step's output, which is the run's) is stored once:
        // equal JSON texts share one dataclip within a run, and a text equal to the run's input refers to its input.
        var clipIds = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (completion is { InputDataclipId: { } inputId, InputJson: { } inputJson }) clipIds[inputJson] = inputId;
        Guid? Clip(string? json, Guid? id = null)
        {
            if (json is null) return null;
            if (clipIds.TryGetValue(json, out var known)) return known;
            var clipId = id ?? TimeOrderedIds.New(now);
            clipIds[json] = clipId;
            clips.Add(ClipRow(clipId, "", Guid.Empty, json, now));
            return clipId;
        }
        var output = Clip(completion.OutputJson, completion.OutputJson is null ? null : TimeOrderedIds.New(now));
        var steps = new List<object?[]>(completion.Steps.Count);
        for (var i = 0; i < completion.Steps.Count; i++)
        {
            var step = completion.Steps[i];
            var input = Clip(step.InputJson);
            var stepOutput = Clip(step.OutputJson);
            steps.Add([_dialect.RowId(TimeOrderedIds.New(now)), runId, i, step.StepId, step.Status, _dialect.Time(step.StartedAt),
                step.DurationMs, step.AllocatedBytes, step.Error, _dialect.RowId(input), _dialect.RowId(stepOutput)]);
        }
        var logs = completion.Logs.Select(l => new object?[] { runId, _dialect.Time(l.Time), l.Level, l.StepId, l.Message }).ToList();
        object?[] update = [runId, completion.WorkerId, completion.Status, _dialect.Time(completion.FinishedAt), completion.Error, _dialect.RowId(output)];
        return new PreparedCompletion(update, clips, steps, logs);
    }

    private static readonly string[] StepRunColumns =
        ["id", "run_id", "ordinal", "step_id", "status", "started_at", "duration_ms", "allocated_bytes", "error", "input_dataclip_id", "output_dataclip_id"];

    private static readonly string[] LogLineColumns = ["run_id", "time", "level", "step_id", "message"];

    /// <summary>A work order's status is its last run's status: sets it for every pair whose run is still the last.
    /// (A run belongs to one work order, so matching ids against both lists is the same as matching each pair.)</summary>
    private async Task SetWorkOrdersStatusAsync(WriteScope scope, List<(Guid WorkOrder, Guid Run)> pairs, string status, DateTimeOffset now, CancellationToken ct)
    {
        if (pairs.Count == 0) return;
        if (pairs.Count == 1)
        {
            await SetWorkOrderStatusAsync(scope, pairs[0].WorkOrder, pairs[0].Run, status, now, ct);
            return;
        }
        await ExecuteStatementAsync(scope,
            $"UPDATE work_orders SET status = @status, updated_at = @now WHERE {_dialect.InList("id", "@workOrders")} AND {_dialect.InList("last_run_id", "@runs")}",
            [
                ("status", status),
                ("now", _dialect.Time(now)),
                ("workOrders", _dialect.IdList(pairs.Select(p => p.WorkOrder).ToList())),
                ("runs", _dialect.IdList(pairs.Select(p => p.Run).ToList())),
            ], ct);
    }

    /// <summary>
    /// Runs one parameterised statement once per row and maps the values of the first row each returns (null when
    /// none): text as strings, integers as longs, ids as the provider gives them (see <see cref="AsGuid"/>). Where the
    /// provider batches commands (PostgreSQL) all of them go in one round trip; otherwise (SQLite, in process) one
    /// statement kept with the writer is executed per row.
    /// </summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The SQL is a constant of this class; every value is a parameter.")]
    private async Task<List<T?>> QueryEachAsync<T>(WriteScope scope, string sql, string[] names, List<object?[]> rows, Func<object?[], T> map, CancellationToken ct)
        where T : struct
    {
        var results = new List<T?>(rows.Count);
        var returned = new object?[]?[rows.Count];
        if (_dialect.TryExecuteEach(scope, sql, names.Select(n => "@" + n).ToArray(), rows, returned))
        {
            foreach (var values in returned) results.Add(values is null ? null : map(values));
            return results;
        }
        await using var batch = scope.Connection.CreateBatch();
        batch.Transaction = scope.Transaction;
        foreach (var row in rows)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = sql;
            for (var c = 0; c < names.Length; c++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = names[c];
                parameter.Value = _dialect.ParameterValue(row[c]) ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        do
        {
            if (await reader.ReadAsync(ct))
            {
                var values = new object?[reader.FieldCount];
                reader.GetValues(values!);
                for (var i = 0; i < values.Length; i++) values[i] = values[i] is DBNull ? null : values[i];
                results.Add(map(values));
            }
            else
            {
                results.Add(null);
            }
            while (await reader.ReadAsync(ct))
            {
            }
        }
        while (await reader.NextResultAsync(ct));
        return results;
    }

    /// <summary>
    /// The completions' run updates as one statement over arrays of their values (distinct runs only), with the same
    /// conditions as one by one: the run is still active and held by the reporting worker. One result per completion,
    /// in order; null where the update was refused.
    /// </summary>
    private static async Task<List<(string Project, Guid WorkOrder, string Workflow)?>> FinishRunsAtOnceAsync(
        WriteScope scope, IReadOnlyList<RunCompletion> completions, List<object?[]> updates, CancellationToken ct)
    {
        var rows = await QueryAsync(scope.Connection, scope, $"""
            UPDATE runs SET status = v.status, finished_at = v.finished, error = v.error, output_dataclip_id = v.output, lease_until = NULL
            FROM unnest(@ids, @workers, @statuses, @finished, @errors, @outputs) AS v(id, worker_id, status, finished, error, output)
            WHERE runs.id = v.id AND runs.worker_id = v.worker_id AND runs.status IN {ActiveStatuses}
            RETURNING runs.id, runs.project, runs.work_order_id, runs.workflow
            """, new
        {
            ids = updates.Select(u => (Guid)u[0]!).ToArray(),
            workers = updates.Select(u => (string)u[1]!).ToArray(),
            statuses = updates.Select(u => (string)u[2]!).ToArray(),
            finished = updates.Select(u => (DateTimeOffset)u[3]!).ToArray(),
            errors = updates.Select(u => (string?)u[4]).ToArray(),
            outputs = updates.Select(u => (Guid?)u[5]).ToArray(),
        }, r => (Id: r.GetGuid(0), Project: r.GetString(1), WorkOrder: r.GetGuid(2), Workflow: r.GetString(3)), ct);
        var byRun = rows.ToDictionary(r => r.Id);
        return completions.Select(c => byRun.TryGetValue(c.RunId, out var r) ? (r.Project, r.WorkOrder, r.Workflow) : ((string, Guid, string)?)null).ToList();
    }

    /// <summary>An id read as a plain value: PostgreSQL gives a <see cref="Guid"/>, SQLite the text it is stored as.</summary>
    private static Guid AsGuid(object? value) => value switch
    {
        Guid id => id,
        string text => Guid.Parse(text),
        _ => throw new InvalidOperationException($"Expected an id, read {value?.GetType().Name ?? "NULL"}."),
    };
}
