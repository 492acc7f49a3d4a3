using System.Diagnostics.CodeAnalysis;
using System.Text;
using Dapper;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

public sealed partial class FerryStore
{
    private const string ActiveStatuses = "('claimed', 'started')";

    /// <summary>The final states other than success, in the order of the partial index <c>work_orders_unsuccessful</c>
    /// (schema 6).</summary>
    private static readonly string[] UnsuccessfulStatuses =
        [RunStatus.Failed, RunStatus.Crashed, RunStatus.Cancelled, RunStatus.Killed, RunStatus.Exception, RunStatus.Lost];

    /// <summary>The condition of <c>work_orders_unsuccessful</c> word for word: a query that repeats it may use the index.</summary>
    private static readonly string UnsuccessfulCondition = "(" + string.Join(" OR ", UnsuccessfulStatuses.Select(s => $"status = '{s}'")) + ")";

    /// <summary>
    /// Durable intake: stores every work order of <paramref name="batch"/> with its input and first run in ONE
    /// transaction (group commit), and returns their ids in the same order. When this returns, the batch is on disk.
    /// </summary>
    public Task<IReadOnlyList<EnqueuedRun>> EnqueueAsync(IReadOnlyList<NewWorkOrder> batch, CancellationToken ct = default) => EnqueueAsync(batch, skipExisting: false, ct);

    /// <inheritdoc cref="EnqueueAsync(IReadOnlyList{NewWorkOrder}, CancellationToken)"/>
    /// <param name="skipExisting">True: a work order whose (caller-given) id is already stored is left as it is and
    /// its ids returned, so replaying a journal after a crash stores each work order once.</param>
    public Task<IReadOnlyList<EnqueuedRun>> EnqueueAsync(IReadOnlyList<NewWorkOrder> batch, bool skipExisting, CancellationToken ct = default) =>
        EnqueueAsync(batch, skipExisting, durable: true, ct);

    /// <inheritdoc cref="EnqueueAsync(IReadOnlyList{NewWorkOrder}, bool, CancellationToken)"/>
    /// <param name="durable">False: return once the batch is committed (visible to every reader and worker, kept if the
    /// process dies) without waiting for the disk; a power cut may undo it until the next durable write or
    /// <see cref="FlushAsync"/>. For a caller that keeps the work orders safe elsewhere until then (the intake journal).</param>
    public Task<IReadOnlyList<EnqueuedRun>> EnqueueAsync(IReadOnlyList<NewWorkOrder> batch, bool skipExisting, bool durable, CancellationToken ct = default)
    {
        if (batch.Count == 0) return Task.FromResult<IReadOnlyList<EnqueuedRun>>([]);
        for (var i = 0; i < batch.Count; i++) Validate(batch[i], i);
        // The rows are built before the write lock: on SQLite one writer serves the whole server.
        var rows = PrepareWorkOrders(batch, Now);
        return WriteAsync<IReadOnlyList<EnqueuedRun>>(async scope =>
        {
            if (!skipExisting)
            {
                await InsertWorkOrdersAsync(scope, rows, ct);
                return rows.Ids;
            }
            var given = batch.Where(w => w.Ids is not null).Select(w => w.Ids!.WorkOrderId).ToList();
            var stored = given.Count == 0 ? [] : (await QueryAsync(scope.Connection, scope, $"SELECT id FROM work_orders WHERE {_dialect.InList("id", "@ids")}",
                new { ids = _dialect.IdList(given) }, r => r.GetGuid(0), ct)).ToHashSet();
            await InsertWorkOrdersAsync(scope, rows.Without(i => stored.Contains(rows.Ids[i].WorkOrderId)), ct);
            return rows.Ids;
        }, ct, relaxed: !durable);
    }

    /// <summary>Returns once every write committed before the call, including those made with <c>durable: false</c>,
    /// would survive a power cut.</summary>
    public ValueTask FlushAsync() => _dialect.FlushAsync();

    /// <summary>The dataclip, work order and run rows of new work orders (one of each per work order, in order).</summary>
    private sealed record WorkOrderRows(IReadOnlyList<EnqueuedRun> Ids, List<object?[]> Clips, List<object?[]> WorkOrders, List<object?[]> Runs)
    {
        public WorkOrderRows Without(Func<int, bool> skip)
        {
            var keep = Enumerable.Range(0, Ids.Count).Where(i => !skip(i)).ToList();
            return new(keep.Select(i => Ids[i]).ToList(), keep.Select(i => Clips[i]).ToList(), keep.Select(i => WorkOrders[i]).ToList(), keep.Select(i => Runs[i]).ToList());
        }
    }

    private static readonly string[] WorkOrderInsertColumns =
        ["id", "project", "workflow", "trigger_name", "version", "status", "input_dataclip_id", "request_meta",
         "retry_attempts", "retry_backoff_ms", "retry_max_backoff_ms", "last_run_id", "created_at", "updated_at"];

    private WorkOrderRows PrepareWorkOrders(IReadOnlyList<NewWorkOrder> batch, DateTimeOffset now)
    {
        var ids = new List<EnqueuedRun>(batch.Count);
        var clips = new List<object?[]>(batch.Count);
        var workOrders = new List<object?[]>(batch.Count);
        var runs = new List<object?[]>(batch.Count);
        foreach (var w in batch)
        {
            var id = w.Ids ?? new EnqueuedRun(TimeOrderedIds.New(now), TimeOrderedIds.New(now));
            var created = w.ReceivedAt is { } at && at < now ? at : now;
            var input = TimeOrderedIds.New(created);
            var workOrderId = _dialect.RowId(id.WorkOrderId);
            var inputId = _dialect.RowId(input);
            var retry = w.Retry ?? RetryPolicy.None;
            ids.Add(id);
            var (body, size) = w.InputUtf8 is { } utf8 ? (_dialect.RowText(utf8), utf8.Length) : (w.InputJson!, Encoding.UTF8.GetByteCount(w.InputJson!));
            clips.Add([inputId, w.Project, workOrderId, body, (long)size, _dialect.Time(created)]);
            workOrders.Add(
            [
                workOrderId, w.Project, w.Workflow, w.Trigger, w.Version, RunStatus.Available, inputId,
                w.RequestMetaJson, retry.Attempts, (long)retry.Backoff.TotalMilliseconds, (long)retry.MaxBackoff.TotalMilliseconds,
                _dialect.RowId(id.RunId), _dialect.Time(created), _dialect.Time(now),
            ]);
            runs.Add(RunRow(id.RunId, id.WorkOrderId, w.Project, w.Workflow, w.Version, 1, w.StartStep, input,
                w.AvailableAt is { } available && available > created ? available : created, created));
        }
        return new WorkOrderRows(ids, clips, workOrders, runs);
    }

    /// <summary>Inserts work orders with their input dataclips and first runs inside the caller's transaction.</summary>
    private async Task InsertWorkOrdersAsync(WriteScope scope, WorkOrderRows rows, CancellationToken ct)
    {
        await InsertRowsAsync(scope, "dataclips", DataclipColumns, rows.Clips, ct);
        await InsertRowsAsync(scope, "work_orders", WorkOrderInsertColumns, rows.WorkOrders, ct);
        await InsertRowsAsync(scope, "runs", RunColumnsForInsert, rows.Runs, ct);
    }

    /// <summary>
    /// Takes the oldest available run this worker may run, atomically: no two claimers ever get the same run.
    /// Skips runs whose project or workflow is at its limit, and in ordered workflows takes a run only when none of
    /// that workflow is claimed or started and it is the oldest waiting. Null when nothing may be taken now.
    /// On SQLite, claims, starts and heartbeats commit without waiting for fsync: a power cut can only undo them
    /// together with the workers on the same machine, and the janitor then treats the run as lost (or it is simply
    /// available again). Intake and completions always wait for the disk.
    /// </summary>
    public Task<ClaimedRun?> ClaimAsync(ClaimRequest request, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.WorkerId);
        if (request.Lease <= TimeSpan.Zero) throw new ArgumentException($"ClaimRequest.Lease must be positive, got {request.Lease}.", nameof(request));
        var now = Now;
        var leaseUntil = now + request.Lease;
        var limited = request.ProjectLimits is { Count: > 0 } || request.WorkflowLimits is { Count: > 0 } || request.OrderedWorkflows is { Count: > 0 };
        return WriteAsync(async scope =>
        {
            var filters = new StringBuilder();
            var args = new DynamicParameters(new { worker = request.WorkerId, now = _dialect.Time(now), leaseUntil = _dialect.Time(leaseUntil) });
            if (limited)
            {
                // Counting active runs and claiming must not interleave with another claimer, or both could take the
                // last free slot: PostgreSQL serializes limited claims on an advisory lock (SQLite has one writer anyway).
                await _dialect.LockClaimsAsync(scope, ct);
                AddLimitFilters(request, await ActiveCountsAsync(scope, ct), filters, args);
            }
            var rows = await QueryAsync(scope.Connection, scope, $"""
                UPDATE runs SET status = 'claimed', worker_id = @worker, claimed_at = @now, lease_until = @leaseUntil
                WHERE id = (
                    SELECT r.id FROM runs r
                    WHERE r.status = 'available' AND r.available_at <= @now{filters}
                    ORDER BY r.seq
                    LIMIT 1 {_dialect.ClaimRowLock})
                RETURNING id, work_order_id, project, workflow, version, attempt, start_step, input_dataclip_id, available_at
                """, args, r => (Run: new ClaimedRun(r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5), "",
                    StringOrNull(r, 6), leaseUntil, _dialect.ReadTime(r, 8)), Input: r.GetGuid(7)), ct);
            if (rows.Count == 0) return null;
            var (run, input) = rows[0];
            await SetWorkOrderStatusAsync(scope, run.WorkOrderId, run.RunId, RunStatus.Claimed, now, ct);
            var body = await scope.Connection.ExecuteScalarAsync<string?>(Cmd("SELECT body FROM dataclips WHERE id = @id", new { id = _dialect.Id(input) }, scope, ct));
            return run with
            {
                InputJson = body ?? "{}",
                InputDataclipId = body is null ? null : input,
                CursorJson = await ReadCursorAsync(scope, run.Project, run.Workflow, ct),
            };
        }, ct, relaxed: true);
    }

    private async Task<string?> ReadCursorAsync(WriteScope scope, string project, string workflow, CancellationToken ct)
    {
        var value = await QueryStatementAsync(scope, CursorQuery, [("project", project), ("workflow", workflow)], r => r.GetString(0), ct);
        return value.Count == 0 ? null : value[0];
    }

    private static async Task<List<(string Project, string Workflow, int Count)>> ActiveCountsAsync(WriteScope scope, CancellationToken ct) =>
        (await QueryAsync(scope.Connection, scope, $"SELECT project, workflow, COUNT(*) FROM runs WHERE status IN {ActiveStatuses} GROUP BY project, workflow",
            null, r => (r.GetString(0), r.GetString(1), Convert.ToInt32(r.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)), ct)).ToList();

    private void AddLimitFilters(ClaimRequest request, List<(string Project, string Workflow, int Count)> active, StringBuilder filters, DynamicParameters args)
    {
        var blockedProjects = (request.ProjectLimits ?? new Dictionary<string, int>())
            .Where(l => active.Where(a => a.Project == l.Key).Sum(a => a.Count) >= l.Value)
            .Select(l => l.Key).ToList();
        var blockedFlows = (request.WorkflowLimits ?? new Dictionary<(string, string), int>())
            .Where(l => active.Where(a => a.Project == l.Key.Project && a.Workflow == l.Key.Workflow).Sum(a => a.Count) >= l.Value)
            .Select(l => FlowKey(l.Key.Project, l.Key.Workflow))
            .Concat((request.OrderedWorkflows ?? new HashSet<(string, string)>())
                .Where(o => active.Any(a => a.Project == o.Project && a.Workflow == o.Workflow))
                .Select(o => FlowKey(o.Project, o.Workflow)))
            .Distinct().ToList();
        var ordered = (request.OrderedWorkflows ?? new HashSet<(string, string)>()).Select(o => FlowKey(o.Project, o.Workflow)).ToList();
        const string flow = "r.project || '/' || r.workflow";
        if (blockedProjects.Count > 0)
        {
            filters.Append(" AND NOT ").Append(_dialect.InList("r.project", "@blockedProjects"));
            args.Add("blockedProjects", _dialect.List(blockedProjects));
        }
        if (blockedFlows.Count > 0)
        {
            filters.Append(" AND NOT ").Append(_dialect.InList(flow, "@blockedFlows"));
            args.Add("blockedFlows", _dialect.List(blockedFlows));
        }
        if (ordered.Count > 0)
        {
            // Ordered: only the oldest waiting run of the workflow, even if a later one is already due.
            filters.Append(" AND (NOT ").Append(_dialect.InList(flow, "@ordered"))
                .Append(" OR NOT EXISTS (SELECT 1 FROM runs o WHERE o.project = r.project AND o.workflow = r.workflow AND o.status = 'available' AND o.seq < r.seq))");
            args.Add("ordered", _dialect.List(ordered));
        }
    }

    private static string FlowKey(string project, string workflow) => project + "/" + workflow;

    /// <summary>Extends the lease of a run this worker holds; false when the run is no longer this worker's (final, lost, cancelled).</summary>
    public Task<bool> HeartbeatAsync(Guid runId, string workerId, TimeSpan lease, CancellationToken ct = default)
    {
        var until = _dialect.Time(Now + lease);
        return WriteAsync(async scope => await scope.Connection.ExecuteAsync(Cmd(
            $"UPDATE runs SET lease_until = @until WHERE id = @id AND worker_id = @workerId AND status IN {ActiveStatuses}",
            new { id = _dialect.Id(runId), workerId, until }, scope, ct)) == 1, ct, relaxed: true);
    }

    /// <summary>claimed → started. False when the run is not claimed by this worker any more (e.g. cancelled meanwhile): do not run it.</summary>
    public Task<bool> MarkStartedAsync(Guid runId, string workerId, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(async scope =>
        {
            var workOrder = await ScalarGuidAsync(scope,
                "UPDATE runs SET status = 'started', started_at = @now WHERE id = @id AND worker_id = @workerId AND status = 'claimed' RETURNING work_order_id",
                new { id = _dialect.Id(runId), workerId, now = _dialect.Time(now) }, ct);
            if (workOrder is null) return false;
            await SetWorkOrderStatusAsync(scope, workOrder.Value, runId, RunStatus.Started, now, ct);
            return true;
        }, ct, relaxed: true);
    }

    /// <summary>
    /// Records the end of a run with its step runs, logs and dataclips in one transaction. Refused (false, nothing
    /// written) when the run is already final — e.g. cancelled or marked lost — or held by another worker.
    /// </summary>
    public Task<bool> CompleteAsync(RunCompletion completion, CancellationToken ct = default)
    {
        if (!RunStatus.Completions.Contains(completion.Status))
        {
            throw new ArgumentException(
                $"RunCompletion.Status '{completion.Status}' is not a final state a worker reports; use one of {string.Join(", ", RunStatus.Completions)}.", nameof(completion));
        }
        return CompleteOneAsync(completion, ct);
    }

    private async Task<bool> CompleteOneAsync(RunCompletion completion, CancellationToken ct) => (await CompleteManyAsync([completion], ct))[0];

    /// <summary>
    /// Appends log lines of a run while it is in flight (workers flush them in batches, so the console can tail a long
    /// run). False, and nothing written, once the run is final: late lines never change a finished run.
    /// </summary>
    public Task<bool> AppendLogsAsync(Guid runId, IReadOnlyList<LogLineData> lines, CancellationToken ct = default) =>
        WriteAsync(async scope =>
        {
            var active = await scope.Connection.ExecuteScalarAsync<int>(Cmd($"SELECT COUNT(*) FROM runs WHERE id = @id AND status IN {ActiveStatuses}",
                new { id = _dialect.Id(runId) }, scope, ct));
            if (active == 0) return false;
            await InsertRowsAsync(scope, "log_lines", ["run_id", "time", "level", "step_id", "message"],
                lines.Select(l => new object?[] { _dialect.Id(runId), _dialect.Time(l.Time), l.Level, l.StepId, l.Message }).ToList(), ct);
            return true;
        }, ct);

    /// <summary>
    /// The janitor: every claimed or started run whose lease ended before <paramref name="now"/> becomes <c>lost</c>;
    /// when its work order's retry policy allows another attempt, a new run (attempt + 1) waits out the backoff.
    /// </summary>
    public Task<IReadOnlyList<LostRun>> ReclaimLostAsync(DateTimeOffset now, CancellationToken ct = default) =>
        WriteAsync<IReadOnlyList<LostRun>>(async scope =>
        {
            var expired = await QueryAsync(scope.Connection, scope, $"""
                UPDATE runs SET status = 'lost', finished_at = @now,
                    error = 'The worker ' || COALESCE(worker_id, '?') || ' stopped renewing its lease; the run was marked lost.'
                WHERE status IN {ActiveStatuses} AND lease_until < @now
                RETURNING id, work_order_id, project, workflow, version, attempt, start_step, input_dataclip_id
                """, new { now = _dialect.Time(now) }, r => (Id: r.GetGuid(0), WorkOrder: r.GetGuid(1), Project: r.GetString(2), Workflow: r.GetString(3),
                Version: r.GetInt32(4), Attempt: r.GetInt32(5), StartStep: StringOrNull(r, 6), Input: r.GetGuid(7)), ct);
            var lost = new List<LostRun>();
            foreach (var run in expired.OrderBy(r => r.Id))
            {
                var policy = (await QueryAsync(scope.Connection, scope,
                    "SELECT retry_attempts, retry_backoff_ms, retry_max_backoff_ms FROM work_orders WHERE id = @id", new { id = _dialect.Id(run.WorkOrder) },
                    r => new RetryPolicy(r.GetInt32(0), TimeSpan.FromMilliseconds(r.GetInt64(1)), TimeSpan.FromMilliseconds(r.GetInt64(2))), ct))[0];
                if (run.Attempt < policy.Attempts)
                {
                    var retryId = TimeOrderedIds.New(now);
                    var at = now + policy.DelayBefore(run.Attempt + 1);
                    await InsertRowsAsync(scope, "runs", RunColumnsForInsert,
                        [RunRow(retryId, run.WorkOrder, run.Project, run.Workflow, run.Version, run.Attempt + 1, run.StartStep, run.Input, at, now)], ct);
                    await scope.Connection.ExecuteAsync(Cmd("UPDATE work_orders SET last_run_id = @run, status = 'available', updated_at = @now WHERE id = @id",
                        new { id = _dialect.Id(run.WorkOrder), run = _dialect.Id(retryId), now = _dialect.Time(now) }, scope, ct));
                    lost.Add(new LostRun(run.Id, run.WorkOrder, run.Project, run.Workflow, run.Attempt, retryId, at));
                }
                else
                {
                    await SetWorkOrderStatusAsync(scope, run.WorkOrder, run.Id, RunStatus.Lost, now, ct);
                    lost.Add(new LostRun(run.Id, run.WorkOrder, run.Project, run.Workflow, run.Attempt, null, null));
                }
            }
            return lost;
        }, ct);

    /// <summary>Cancels a run: available or claimed → <c>cancelled</c> at once; started → cancel requested (the worker
    /// stops it and reports <c>cancelled</c>). False when the run is unknown or already final. <paramref name="audit"/>
    /// is written with the cancellation, in the same transaction.</summary>
    public Task<bool> CancelAsync(Guid runId, AuditEntry? audit = null, CancellationToken ct = default)
    {
        var now = Now;
        return WriteAsync(async scope =>
        {
            var workOrder = await ScalarGuidAsync(scope,
                "UPDATE runs SET status = 'cancelled', finished_at = @now, lease_until = NULL, cancel_requested = 1, error = 'Cancelled before it started.' " +
                "WHERE id = @id AND status IN ('available', 'claimed') RETURNING work_order_id",
                new { id = _dialect.Id(runId), now = _dialect.Time(now) }, ct);
            if (workOrder is not null)
            {
                await SetWorkOrderStatusAsync(scope, workOrder.Value, runId, RunStatus.Cancelled, now, ct);
            }
            else if (await scope.Connection.ExecuteAsync(Cmd("UPDATE runs SET cancel_requested = 1 WHERE id = @id AND status = 'started'",
                new { id = _dialect.Id(runId) }, scope, ct)) == 0)
            {
                return false;
            }
            await InsertAuditAsync(scope, audit, ct);
            return true;
        }, ct);
    }

    /// <summary>True when someone asked to cancel this run (workers poll this with their heartbeat).</summary>
    public async Task<bool> IsCancelRequestedAsync(Guid runId, CancellationToken ct = default)
    {
        var rows = await ReadAsync("SELECT cancel_requested FROM runs WHERE id = @id", new { id = _dialect.Id(runId) }, r => r.GetInt32(0) != 0, ct);
        return rows.Count == 1 && rows[0];
    }

    private static readonly string[] RunColumnsForInsert =
        ["id", "work_order_id", "project", "workflow", "version", "attempt", "status", "start_step", "input_dataclip_id", "available_at", "created_at"];

    private object?[] RunRow(Guid id, Guid workOrder, string project, string workflow, int version, int attempt, string? startStep, Guid input, DateTimeOffset availableAt, DateTimeOffset now) =>
        [_dialect.RowId(id), _dialect.RowId(workOrder), project, workflow, version, attempt, RunStatus.Available, startStep, _dialect.RowId(input), _dialect.Time(availableAt), _dialect.Time(now)];

    private static readonly string[] DataclipColumns = ["id", "project", "work_order_id", "body", "size_bytes", "created_at"];

    private object?[] ClipRow(Guid id, string project, Guid workOrderId, string json, DateTimeOffset now)
    {
        var size = Encoding.UTF8.GetByteCount(json);
        // Over the limit: keep the size (so the console can say why) but not the body.
        return [_dialect.RowId(id), project, _dialect.RowId(workOrderId), size > _maxDataclipBytes ? null : json, (long)size, _dialect.Time(now)];
    }

    private static async Task<Guid?> ScalarGuidAsync(WriteScope scope, string sql, object args, CancellationToken ct)
    {
        var rows = await QueryAsync(scope.Connection, scope, sql, args, r => r.GetGuid(0), ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>A work order's status is its last run's status.</summary>
    private Task<int> SetWorkOrderStatusAsync(WriteScope scope, Guid workOrderId, Guid runId, string status, DateTimeOffset now, CancellationToken ct) =>
        ExecuteStatementAsync(scope, "UPDATE work_orders SET status = @status, updated_at = @now WHERE id = @id AND last_run_id = @run",
            [("status", status), ("now", _dialect.Time(now)), ("id", _dialect.Id(workOrderId)), ("run", _dialect.Id(runId))], ct);

    /// <summary>
    /// Inserts rows in the cheapest way for the database. PostgreSQL: multi-row <c>INSERT … VALUES (…), (…)</c>, one
    /// round trip per chunk. SQLite (in-process, no round trips): one single-row INSERT, kept prepared with the writer
    /// connection for the life of the process, executed per row with its values bound by position (see
    /// <see cref="SqliteStatement"/>): binding thousands of named parameters into one statement was measured ~10× slower
    /// for 100 rows, and binding by name per row cost about a third of intake's database time.
    /// </summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Table and column names are constants of this class; every value is a parameter.")]
    private async Task InsertRowsAsync(WriteScope scope, string table, string[] columns, List<object?[]> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return;
        if (await _dialect.TryBulkInsertAsync(scope, table, columns, rows, ct)) return;
        if (!_dialect.MultiRowInsert)
        {
            var insert = SingleRowInsert(table, columns);
            if (_dialect.TryExecuteEach(scope, insert.Sql, insert.Parameters, rows, null)) return;
        }
        var prefix = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ";
        var perChunk = _dialect.MultiRowInsert ? Math.Max(1, Math.Min(500, 30_000 / columns.Length)) : 1; // under PostgreSQL's 65,535 parameters
        await using var command = scope.Connection.CreateCommand();
        command.Transaction = scope.Transaction;
        for (var start = 0; start < rows.Count; start += perChunk)
        {
            var end = Math.Min(rows.Count, start + perChunk);
            if (command.Parameters.Count != (end - start) * columns.Length)
            {
                var sql = new StringBuilder(prefix);
                command.Parameters.Clear();
                for (var i = 0; i < end - start; i++)
                {
                    sql.Append(i == 0 ? "(" : ", (");
                    for (var c = 0; c < columns.Length; c++)
                    {
                        var parameter = command.CreateParameter();
                        parameter.ParameterName = $"@p{i}_{c}";
                        command.Parameters.Add(parameter);
                        sql.Append(c == 0 ? "" : ", ").Append(parameter.ParameterName);
                    }
                    sql.Append(')');
                }
                command.CommandText = sql.ToString();
                if (!_dialect.MultiRowInsert) await command.PrepareAsync(ct);
            }
            for (var i = start; i < end; i++)
            {
                for (var c = 0; c < columns.Length; c++) command.Parameters[((i - start) * columns.Length) + c].Value = _dialect.ParameterValue(rows[i][c]) ?? DBNull.Value;
            }
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>A single-row INSERT and its parameter names, in column order.</summary>
    private sealed record RowInsert(string Sql, string[] Parameters);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RowInsert> SingleRowInserts = new(StringComparer.Ordinal);

    private static RowInsert SingleRowInsert(string table, string[] columns) =>
        SingleRowInserts.GetOrAdd(table + "(" + string.Join(",", columns), _ =>
        {
            var parameters = columns.Select((_, c) => $"@p{c}").ToArray();
            return new RowInsert($"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", parameters)})", parameters);
        });

    private static void Validate(NewWorkOrder w, int index)
    {
        if (!string.IsNullOrWhiteSpace(w.Project) && !string.IsNullOrWhiteSpace(w.Workflow) && !string.IsNullOrWhiteSpace(w.Trigger) && w.Version >= 1
            && (w.InputJson is not null || w.InputUtf8 is not null) && w.Retry is not { Attempts: < 1 }) return;
        var where = $"batch[{index}]";
        if (string.IsNullOrWhiteSpace(w.Project)) throw new ArgumentException($"{where}.Project is empty; every work order names its project.", nameof(w));
        if (string.IsNullOrWhiteSpace(w.Workflow)) throw new ArgumentException($"{where}.Workflow is empty; every work order names its workflow.", nameof(w));
        if (string.IsNullOrWhiteSpace(w.Trigger)) throw new ArgumentException($"{where}.Trigger is empty; name the trigger (e.g. 'manual').", nameof(w));
        if (w.Version < 1) throw new ArgumentException($"{where}.Version is {w.Version}; use a deployed version (1 or more).", nameof(w));
        if (w.InputJson is null && w.InputUtf8 is null) throw new ArgumentException($"{where}.InputJson is null; pass '{{}}' for an empty state.", nameof(w));
        if (w.Retry is { Attempts: < 1 }) throw new ArgumentException($"{where}.Retry.Attempts is {w.Retry.Attempts}; it counts all runs, so 1 or more.", nameof(w));
    }
}
