using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;

namespace Ferry.Storage;

public sealed partial class FerryStore
{
    /// <summary>Most projects listed by merging one walk per project; beyond, the projects are one filter.</summary>
    private const int MaxMergedProjects = 64;

    private const string WorkOrderColumns =
        "id, project, workflow, trigger_name, version, status, input_dataclip_id, request_meta, retry_attempts, retry_backoff_ms, " +
        "retry_max_backoff_ms, last_run_id, created_at, updated_at, seq";

    private const string RunColumns =
        "id, work_order_id, project, workflow, version, attempt, status, start_step, input_dataclip_id, output_dataclip_id, available_at, " +
        "claimed_at, started_at, finished_at, worker_id, lease_until, cancel_requested, error, created_at";

    public async Task<WorkOrderRecord?> GetWorkOrderAsync(Guid id, CancellationToken ct = default)
    {
        var rows = await ReadAsync($"SELECT {WorkOrderColumns} FROM work_orders WHERE id = @id", new { id = _dialect.Id(id) }, MapWorkOrder, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The keyset position in a page token (the <c>next</c> of the previous page); null for the first page.</summary>
    /// <exception cref="ArgumentException">The token is not one this store made.</exception>
    private static long? PageAfter(string? token, string paramName)
    {
        if (token is null) return null;
        return long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var after)
            ? after
            : throw new ArgumentException($"after '{token}' is not a page token; pass the 'next' value of the previous page.", paramName);
    }

    /// <summary>
    /// Work orders matching the filters, newest first, <see cref="WorkOrderQuery.Limit"/> (1–500) at a time; pass
    /// <see cref="Page{T}.Next"/> as <see cref="WorkOrderQuery.After"/> for the next page (keyset paging: stable while new work arrives).
    /// </summary>
    /// <exception cref="ArgumentException">A filter value is out of range; the message names the field.</exception>
    public async Task<Page<WorkOrderRecord>> ListWorkOrdersAsync(WorkOrderQuery query, CancellationToken ct = default)
    {
        if (query.Limit is < 1 or > WorkOrderQuery.MaxLimit)
        {
            throw new ArgumentException($"limit must be between 1 and {WorkOrderQuery.MaxLimit}, got {query.Limit}.", nameof(query));
        }
        if (query.Status is not null && !RunStatus.All.Contains(query.Status))
        {
            throw new ArgumentException($"status '{query.Status}' is not a run state; use one of {string.Join(", ", RunStatus.All)}.", nameof(query));
        }
        if (query.Since is { } since && query.Until is { } until && since > until)
        {
            throw new ArgumentException($"since ({since:O}) is after until ({until:O}); swap them or drop one.", nameof(query));
        }
        var after = PageAfter(query.After, nameof(query));
        var where = new StringBuilder("1 = 1");
        if (query.Project is not null) where.Append(" AND project = @project");
        // A caller's projects, a few: one newest-first walk of (project, seq) per project, merged, instead of every
        // matching work order of all of them sorted for each page. Many: the list as one filter.
        var perProject = query.Project is null && query.Projects is { Count: > 1 and <= MaxMergedProjects } ? query.Projects.Distinct(StringComparer.Ordinal).ToList() : null;
        if (query.Projects is not null && perProject is null) where.Append(" AND ").Append(_dialect.InList("project", "@projects"));
        if (query.Workflow is not null) where.Append(" AND workflow = @workflow");
        if (query.Status is not null)
        {
            where.Append(" AND status = @status");
            // The partial index work_orders_unsuccessful serves a query that repeats its condition word for word;
            // other states are common enough to be found walking work orders newest first.
            if (UnsuccessfulStatuses.Contains(query.Status)) where.Append(" AND ").Append(UnsuccessfulCondition);
        }
        if (query.Since is not null) where.Append(" AND created_at >= @since");
        if (query.Until is not null) where.Append(" AND created_at < @until");
        if (after is not null) where.Append(" AND seq < @after");
        var args = new DynamicParameters(new
        {
            project = query.Project,
            projects = query.Projects is null || perProject is not null ? null : _dialect.List(query.Projects),
            workflow = query.Workflow,
            status = query.Status,
            since = _dialect.Time(query.Since),
            until = _dialect.Time(query.Until),
            after,
            take = query.Limit + 1,
        });
        var sql = $"SELECT {WorkOrderColumns} FROM work_orders WHERE {where} ORDER BY seq DESC LIMIT @take";
        if (perProject is not null)
        {
            for (var i = 0; i < perProject.Count; i++) args.Add($"p{i}", perProject[i]);
            sql = string.Join(" UNION ALL ", perProject.Select((_, i) =>
                $"SELECT * FROM (SELECT {WorkOrderColumns} FROM work_orders WHERE project = @p{i} AND {where} ORDER BY seq DESC LIMIT @take) AS p{i}"))
                + " ORDER BY seq DESC LIMIT @take";
        }
        var rows = await ReadAsync(sql, args, r => (Record: MapWorkOrder(r), Seq: r.GetInt64(14)), ct);
        var items = rows.Take(query.Limit).Select(r => r.Record).ToList();
        var next = rows.Count > query.Limit ? rows[query.Limit - 1].Seq.ToString(CultureInfo.InvariantCulture) : null;
        return new Page<WorkOrderRecord>(items, next);
    }

    public async Task<RunRecord?> GetRunAsync(Guid id, CancellationToken ct = default)
    {
        var rows = await ReadAsync($"SELECT {RunColumns} FROM runs WHERE id = @id", new { id = _dialect.Id(id) }, MapRun, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The runs of a work order, first attempt first.</summary>
    public Task<IReadOnlyList<RunRecord>> ListRunsAsync(Guid workOrderId, CancellationToken ct = default) =>
        ReadAsync($"SELECT {RunColumns} FROM runs WHERE work_order_id = @id ORDER BY seq", new { id = _dialect.Id(workOrderId) }, MapRun, ct);

    /// <summary>The step runs of a run, in execution order.</summary>
    public Task<IReadOnlyList<StepRunRecord>> ListStepRunsAsync(Guid runId, CancellationToken ct = default) =>
        ReadAsync("""
            SELECT id, run_id, ordinal, step_id, status, started_at, duration_ms, allocated_bytes, error, input_dataclip_id, output_dataclip_id
            FROM step_runs WHERE run_id = @id ORDER BY ordinal
            """, new { id = _dialect.Id(runId) },
            r => new StepRunRecord(r.GetGuid(0), r.GetGuid(1), r.GetInt32(2), r.GetString(3), r.GetString(4), _dialect.ReadTime(r, 5), r.GetInt64(6),
                r.GetInt64(7), StringOrNull(r, 8), GuidOrNull(r, 9), GuidOrNull(r, 10)), ct);

    /// <summary>Log lines of a run after sequence number <paramref name="afterSeq"/> (for tailing), at most <paramref name="limit"/> (1–10,000).</summary>
    public Task<IReadOnlyList<LogLineRecord>> ListLogsAsync(Guid runId, long afterSeq = 0, int limit = 1000, CancellationToken ct = default)
    {
        if (limit is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit must be between 1 and 10000.");
        if (afterSeq < 0) throw new ArgumentOutOfRangeException(nameof(afterSeq), afterSeq, "afterSeq must be 0 or the seq of a log line already read.");
        return ReadAsync("SELECT seq, run_id, time, level, step_id, message FROM log_lines WHERE run_id = @id AND seq > @afterSeq ORDER BY seq LIMIT @limit",
            new { id = _dialect.Id(runId), afterSeq, limit },
            r => new LogLineRecord(r.GetInt64(0), r.GetGuid(1), _dialect.ReadTime(r, 2), r.GetString(3), StringOrNull(r, 4), r.GetString(5)), ct);
    }

    /// <summary>A stored state as JSON text; null when unknown, wiped by retention, or over the size limit when written.</summary>
    public async Task<string?> GetDataclipAsync(Guid id, CancellationToken ct = default)
    {
        var rows = await ReadAsync("SELECT body FROM dataclips WHERE id = @id", new { id = _dialect.Id(id) }, r => StringOrNull(r, 0), ct);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>How many runs are in <paramref name="status"/> (all runs when null): queue depth, in-flight runs, …</summary>
    public async Task<int> CountRunsAsync(string? status = null, CancellationToken ct = default)
    {
        if (status is not null && !RunStatus.All.Contains(status))
        {
            throw new ArgumentException($"status '{status}' is not a run state; use one of {string.Join(", ", RunStatus.All)}.", nameof(status));
        }
        // The queue's and in-flight runs' partial indexes serve a query that repeats their condition word for word.
        var sql = status switch
        {
            null => "SELECT COUNT(*) FROM runs",
            RunStatus.Available => "SELECT COUNT(*) FROM runs WHERE status = 'available'",
            RunStatus.Claimed or RunStatus.Started => $"SELECT COUNT(*) FROM runs WHERE status = @status AND status IN {ActiveStatuses}",
            _ => "SELECT COUNT(*) FROM runs WHERE status = @status",
        };
        var rows = await ReadAsync(sql, new { status }, r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ct);
        return rows[0];
    }

    private WorkOrderRecord MapWorkOrder(DbDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetString(5), r.GetGuid(6), StringOrNull(r, 7),
        new RetryPolicy(r.GetInt32(8), TimeSpan.FromMilliseconds(r.GetInt64(9)), TimeSpan.FromMilliseconds(r.GetInt64(10))),
        r.GetGuid(11), _dialect.ReadTime(r, 12), _dialect.ReadTime(r, 13));

    private RunRecord MapRun(DbDataReader r) => new(
        r.GetGuid(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5), r.GetString(6), StringOrNull(r, 7),
        r.GetGuid(8), GuidOrNull(r, 9), _dialect.ReadTime(r, 10), ReadTimeOrNull(r, 11), ReadTimeOrNull(r, 12), ReadTimeOrNull(r, 13),
        StringOrNull(r, 14), ReadTimeOrNull(r, 15), r.GetInt32(16) != 0, StringOrNull(r, 17), _dialect.ReadTime(r, 18));
}
