using System.Diagnostics;
using System.Text;
using Ferry.Adaptors.Common;
using Ferry.Json;
using Npgsql;

namespace Ferry.Adaptors.Postgres;

/// <summary>Insert and upsert: one multi-row statement per batch, all batches of a call in one transaction.</summary>
public sealed partial class PostgresAdaptor
{
    /// <summary>PostgreSQL's wire protocol allows at most 65,535 parameters in one statement.</summary>
    internal const int MaxParameters = 65_535;

    public const int DefaultBatchSize = 1000;

    private static readonly string[] ManyOptions = ["batchSize"];

    [Operation(OperationKind.Write, Description = "Inserts one record (its keys are the columns) and returns the inserted row, defaults and generated ids included.",
        Example = "var row = await postgres.Insert(\"patients\", new { name = \"Ana\", born = \"1990-04-01\" });\nlog.Info(row.id);")]
    public async Task<dynamic?> Insert(string table, object? record)
    {
        const string op = "insert";
        var plan = Plan(op, table, null, Single(op, table, record), DefaultBatchSize, returnRows: true);
        return await WriteAsync(op, new { table, record = plan.Records[0].Record }, ct => Execute(plan, ct), () => plan.Records[0].Record);
    }

    [Operation(OperationKind.Write, Description = "Inserts many records in batches (default 1000 rows, fewer for wide tables), one statement per batch, all in one transaction. Records with different key sets are written as separate groups. Returns { rowCount, batches }. Options: batchSize.",
        Example = "var r = await postgres.InsertMany(\"visits\", state.data.visits);\nlog.Info($\"{r.rowCount} visits in {r.batches} batches\");")]
    public async Task<dynamic?> InsertMany(string table, object? records, object? options = null)
    {
        const string op = "insertMany";
        var plan = Plan(op, table, null, Many(op, table, records), BatchSize(op, options), returnRows: false);
        return await WriteAsync(op, new { table, records = plan.Records.Select(r => r.Record) }, ct => Execute(plan, ct), plan.Simulate);
    }

    [Operation(OperationKind.Write, Description = "Inserts a record, or updates the existing row with the same conflictColumns (a column name, \"a,b\" or an array; they need a unique index or primary key). Returns the row as stored.",
        Example = "await postgres.Upsert(\"patients\", \"national_id\", new { national_id = p.nin, name = p.name });")]
    public async Task<dynamic?> Upsert(string table, object? conflictColumns, object? record)
    {
        const string op = "upsert";
        var plan = Plan(op, table, ConflictColumns(op, table, conflictColumns), Single(op, table, record), DefaultBatchSize, returnRows: true);
        return await WriteAsync(op, new { table, conflictColumns = plan.Conflict, record = plan.Records[0].Record }, ct => Execute(plan, ct), () => plan.Records[0].Record);
    }

    [Operation(OperationKind.Write, Description = "Upserts many records in batches with INSERT … ON CONFLICT (conflictColumns) DO UPDATE SET col = EXCLUDED.col, one statement per batch, all in one transaction. Within one call a later record with the same key replaces an earlier one. Returns { rowCount, inserted, updated, batches }. Options: batchSize.",
        Example = "var r = await postgres.UpsertMany(\"cases\", new[] { \"outbreak_id\", \"case_id\" }, state.data.cases);\nlog.Info($\"{r.inserted} new, {r.updated} updated\");")]
    public async Task<dynamic?> UpsertMany(string table, object? conflictColumns, object? records, object? options = null)
    {
        const string op = "upsertMany";
        var plan = Plan(op, table, ConflictColumns(op, table, conflictColumns), Many(op, table, records), BatchSize(op, options), returnRows: false);
        return await WriteAsync(op, new { table, conflictColumns = plan.Conflict, records = plan.Records.Select(r => r.Record) },
            ct => Execute(plan, ct), plan.Simulate);
    }

    private int BatchSize(string op, object? options)
    {
        var o = AdaptorOptions.Read(Name, op, options, ManyOptions);
        var size = o.Int("batchSize") ?? DefaultBatchSize;
        return size >= 1 ? size : throw Refuse(op, $"batchSize must be at least 1, found {size}.");
    }

    private List<(int Index, JsObject Record)> Single(string op, string table, object? record) => Js.From(record) switch
    {
        JsObject o => [(0, o)],
        RawJson raw when raw.Materialize() is JsObject o => [(0, o)],
        var other => throw Refuse(op, $"The record must be an object whose keys are column names, e.g. new {{ name = \"Ana\" }}; found {AdaptorOptions.Describe(other)}.", table),
    };

    private List<(int Index, JsObject Record)> Many(string op, string table, object? records)
    {
        var list = Js.From(records) switch
        {
            JsArray a => a,
            RawJson raw when raw.Materialize() is JsArray a => a,
            var other => throw Refuse(op, $"The records must be an array of objects; found {AdaptorOptions.Describe(other)}.", table),
        };
        var result = new List<(int, JsObject)>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            result.Add(list[i] is JsObject o ? (i, o)
                : throw Refuse(op, $"Record #{i} must be an object whose keys are column names; found {AdaptorOptions.Describe(list[i])}.", table));
        }
        return result;
    }

    private string[] ConflictColumns(string op, string table, object? value)
    {
        IEnumerable<object?> items = Js.From(value) switch
        {
            string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            JsArray a => a,
            var other => throw Refuse(op, $"conflictColumns must be a column name, \"a,b\" or an array of names; found {AdaptorOptions.Describe(other)}.", table),
        };
        var names = items.Select(i => i as string ?? throw Refuse(op, $"conflictColumns must hold column names; found {AdaptorOptions.Describe(i)}.", table)).ToArray();
        if (names.Length == 0) throw Refuse(op, "conflictColumns is empty; name the column(s) of the unique index or primary key to match on.", table);
        foreach (var n in names) SqlIdentifier.Column(n, m => Refuse(op, m, table));
        return names;
    }

    private WritePlan Plan(string op, string table, string[]? conflict, List<(int Index, JsObject Record)> records, int batchSize, bool returnRows)
    {
        var (quoted, _, _) = SqlIdentifier.Table(table, m => Refuse(op, m, table));
        var quotedColumns = new Dictionary<string, string>(StringComparer.Ordinal);
        var groups = new Dictionary<string, List<(int Index, JsObject Record)>>(StringComparer.Ordinal);
        foreach (var (index, record) in records)
        {
            if (record.Count == 0) throw Refuse(op, $"Record #{index} has no fields; there is nothing to write.", table);
            foreach (var key in record.Keys)
            {
                if (!quotedColumns.ContainsKey(key))
                    quotedColumns[key] = SqlIdentifier.Column(key, m => Refuse(op, $"Record #{index}: {m}", table));
            }
            if (conflict is not null)
            {
                var missing = conflict.FirstOrDefault(c => !record.Has(c));
                if (missing is not null)
                    throw Refuse(op, $"Record #{index} has no '{missing}', one of the conflict columns ({string.Join(", ", conflict)}); every record needs them to be matched.", table);
            }
            var signature = string.Join("\u0001", record.Keys.Order(StringComparer.Ordinal));
            if (!groups.TryGetValue(signature, out var group)) groups[signature] = group = [];
            group.Add((index, record));
        }

        var batches = new List<Batch>();
        foreach (var group in groups.Values)
        {
            var columns = group[0].Record.Keys.ToArray();
            var rowsPerBatch = Math.Max(1, Math.Min(batchSize, MaxParameters / columns.Length));
            foreach (var chunk in group.Chunk(rowsPerBatch))
            {
                var rows = conflict is null ? chunk : LastPerKey(op, table, conflict, chunk);
                batches.Add(new Batch(columns, rows));
            }
        }
        return new WritePlan(op, table, quoted, conflict, quotedColumns, records, batches, returnRows);
    }

    /// <summary>One statement cannot update the same row twice; a later record with the same key wins.</summary>
    private (int Index, JsObject Record)[] LastPerKey(string op, string table, string[] conflict, (int Index, JsObject Record)[] chunk)
    {
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        var kept = new List<(int Index, JsObject Record)>(chunk.Length);
        foreach (var row in chunk)
        {
            var key = Js.ToJson(conflict.Select(c => row.Record[c]).ToArray());
            if (byKey.TryGetValue(key, out var at)) kept[at] = row;
            else
            {
                byKey[key] = kept.Count;
                kept.Add(row);
            }
        }
        if (kept.Count < chunk.Length)
            Context.Log.Warn($"{Name}.{op} {table}: {chunk.Length - kept.Count} record(s) repeat a key ({string.Join(", ", conflict)}) already in the same call; the later record was written.");
        return kept.ToArray();
    }

    private async Task<object?> Execute(WritePlan plan, CancellationToken ct) => await Run(plan.Operation, plan.Table, async (conn, userTx, ct2) =>
    {
        var own = userTx is null ? await conn.BeginTransactionAsync(ct2) : null;
        try
        {
            var tx = userTx ?? own;
            long inserted = 0, updated = 0, affected = 0;
            JsObject? lastRow = null;
            for (var b = 0; b < plan.Batches.Count; b++)
            {
                var batch = plan.Batches[b];
                var watch = Stopwatch.StartNew();
                await using var cmd = Command(conn, tx, plan.Sql(batch), null);
                foreach (var (_, record) in batch.Rows)
                {
                    foreach (var column in batch.Columns) cmd.Parameters.Add(PostgresValues.Parameter(record.GetUnmaterialized(column) is RawJson raw ? raw.ToString() : record[column]));
                }
                try
                {
                    if (plan.ReturnRows)
                    {
                        await using var reader = await cmd.ExecuteReaderAsync(ct2);
                        var rows = await PostgresValues.ReadRowsAsync(reader, m => Refuse(plan.Operation, m, plan.Table), ct2);
                        lastRow = rows.Count > 0 ? (JsObject?)rows[^1] : null;
                        affected += rows.Count;
                    }
                    else if (plan.Conflict is not null)
                    {
                        await using var reader = await cmd.ExecuteReaderAsync(ct2);
                        while (await reader.ReadAsync(ct2))
                        {
                            if (reader.GetBoolean(0)) inserted++;
                            else updated++;
                        }
                        affected = inserted + updated;
                    }
                    else
                    {
                        var n = await cmd.ExecuteNonQueryAsync(ct2);
                        inserted += n;
                        affected += n;
                    }
                }
                catch (PostgresException e)
                {
                    var where = plan.Batches.Count > 1 || batch.Rows.Length > 1
                        ? $" in batch {b + 1} of {plan.Batches.Count} (records #{batch.Rows[0].Index}–#{batch.Rows[^1].Index})"
                        : "";
                    var saved = own is not null && plan.Batches.Count > 1 ? " Nothing from this call was saved." : "";
                    throw Failure(plan.Operation, plan.Table, e, (saved + " " + await Hint(e, plan.Table, ct2)).Trim(), where);
                }
                Context.Log.Debug($"{Name}.{plan.Operation} {plan.Table}: batch {b + 1} of {plan.Batches.Count}, {batch.Rows.Length} rows in {Ms(watch)} ms");
            }
            if (own is not null) await own.CommitAsync(ct2);
            if (plan.ReturnRows) return lastRow;
            return plan.Result(affected, plan.Conflict is null ? null : inserted, plan.Conflict is null ? null : updated);
        }
        finally
        {
            if (own is not null) await own.DisposeAsync();
        }
    }, ct);

    private sealed record Batch(string[] Columns, (int Index, JsObject Record)[] Rows);

    private sealed class WritePlan(string operation, string table, string quotedTable, string[]? conflict,
        Dictionary<string, string> quotedColumns, List<(int Index, JsObject Record)> records, List<Batch> batches, bool returnRows)
    {
        public string Operation => operation;

        public string Table => table;

        public string[]? Conflict => conflict;

        public List<(int Index, JsObject Record)> Records => records;

        public List<Batch> Batches => batches;

        public bool ReturnRows => returnRows;

        public string Sql(Batch batch)
        {
            var cols = batch.Columns.Select(c => quotedColumns[c]).ToArray();
            var sb = new StringBuilder(64 + (batch.Rows.Length * cols.Length * 8));
            sb.Append("INSERT INTO ").Append(quotedTable).Append(" (").AppendJoin(", ", cols).Append(") VALUES ");
            var p = 1;
            for (var r = 0; r < batch.Rows.Length; r++)
            {
                if (r > 0) sb.Append(", ");
                sb.Append('(');
                for (var c = 0; c < cols.Length; c++)
                {
                    if (c > 0) sb.Append(", ");
                    sb.Append('$').Append(p++);
                }
                sb.Append(')');
            }
            if (conflict is not null)
            {
                sb.Append(" ON CONFLICT (").AppendJoin(", ", conflict.Select(c => quotedColumns.TryGetValue(c, out var q) ? q : SqlIdentifier.Quote(c))).Append(')');
                var update = batch.Columns.Where(c => !conflict.Contains(c, StringComparer.Ordinal)).Select(c => $"{quotedColumns[c]} = EXCLUDED.{quotedColumns[c]}").ToArray();
                if (update.Length == 0) sb.Append(" DO NOTHING");
                else sb.Append(" DO UPDATE SET ").AppendJoin(", ", update);
            }
            if (returnRows) sb.Append(" RETURNING *");
            else if (conflict is not null) sb.Append(" RETURNING (xmax = 0)");
            return sb.ToString();
        }

        public JsObject Result(long rowCount, long? inserted, long? updated)
        {
            var r = new JsObject();
            r.Set("rowCount", rowCount);
            if (inserted is not null) r.Set("inserted", inserted);
            if (updated is not null) r.Set("updated", updated);
            r.Set("batches", batches.Count);
            return r;
        }

        /// <summary>The result in test modes: what a successful write of every record would report.</summary>
        public JsObject Simulate() => Result(batches.Sum(b => (long)b.Rows.Length), null, null);
    }
}
