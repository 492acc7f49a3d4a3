using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace Ferry.Storage.Dialects;

/// <summary>
/// PostgreSQL: pooled connections from one data source; native uuid and timestamptz; claims lock rows with
/// <c>FOR UPDATE SKIP LOCKED</c> so many workers in many processes share the queue.
/// </summary>
internal sealed class PostgresDialect(string connectionString) : SqlDialect
{
    // Arbitrary constants naming Ferry's advisory locks ("FERRY" + purpose).
    private const long ClaimLockKey = 0x4645525259_01;
    private const long MigrationLockKey = 0x4645525259_02;

    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    public override string Name => "postgres";

    public override IReadOnlyDictionary<string, string> ColumnTypes { get; } = new Dictionary<string, string>
    {
        ["uuid"] = "uuid",
        ["time"] = "timestamptz",
        ["bigint"] = "bigint",
        ["seq_pk"] = "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    };

    public override bool MultiRowInsert => true;

    public override bool ArrayParameters => true;

    public override string ClaimRowLock => "FOR UPDATE SKIP LOCKED";

    public override async Task<DbConnection> OpenReadAsync(CancellationToken ct) => await _dataSource.OpenConnectionAsync(ct);

    // PostgreSQL commits are always durable here; the server's own settings decide.
    public override async Task<WriteScope> BeginWriteAsync(CancellationToken ct, bool relaxed = false)
    {
        var connection = await _dataSource.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            return new WriteScope(connection, transaction, connection.DisposeAsync);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public override Task LockClaimsAsync(WriteScope scope, CancellationToken ct) =>
        scope.Connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = ClaimLockKey }, scope.Transaction, cancellationToken: ct));

    public override Task LockMigrationsAsync(WriteScope scope, CancellationToken ct) =>
        scope.Connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, scope.Transaction, cancellationToken: ct));

    /// <summary>Fewer rows than this go in one INSERT: COPY takes a round trip more, which only pays on a batch.</summary>
    internal const int BulkInsertMinRows = 16;

    private readonly ConcurrentDictionary<string, NpgsqlDbType[]> _copyTypes = new(StringComparer.Ordinal);

    /// <summary>
    /// Binary COPY: the server neither parses nor plans a statement with thousands of parameters, and the rows stream
    /// in PostgreSQL's wire format (the intake mover's work orders, a batch of completions' dataclips, step runs and
    /// log lines). Each column is written as its declared type, read from the catalog once per table.
    /// </summary>
    public override async Task<bool> TryBulkInsertAsync(WriteScope scope, string table, string[] columns, IReadOnlyList<object?[]> rows, CancellationToken ct)
    {
        if (rows.Count < BulkInsertMinRows) return false;
        var connection = (NpgsqlConnection)scope.Connection;
        var key = table + "(" + string.Join(",", columns);
        if (!_copyTypes.TryGetValue(key, out var types))
        {
            var declared = (await connection.QueryAsync<(string Name, string Type)>(new CommandDefinition(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = @table::regclass AND attnum > 0 AND NOT attisdropped",
                new { table }, scope.Transaction, cancellationToken: ct))).ToDictionary(c => c.Name, c => c.Type, StringComparer.Ordinal);
            types = _copyTypes[key] = columns.Select(c => CopyType(table, c, declared.GetValueOrDefault(c))).ToArray();
        }
        await using var importer = await connection.BeginBinaryImportAsync($"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            for (var c = 0; c < types.Length; c++)
            {
                switch (ParameterValue(row[c]))
                {
                    case null: await importer.WriteNullAsync(ct); break;
                    case var value when types[c] == NpgsqlDbType.Integer: await importer.WriteAsync(Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture), types[c], ct); break;
                    case var value when types[c] == NpgsqlDbType.Bigint: await importer.WriteAsync(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture), types[c], ct); break;
                    case var value: await importer.WriteAsync(value, types[c], ct); break;
                }
            }
        }
        await importer.CompleteAsync(ct);
        return true;
    }

    private static NpgsqlDbType CopyType(string table, string column, string? declared) => declared switch
    {
        "uuid" => NpgsqlDbType.Uuid,
        "text" => NpgsqlDbType.Text,
        "integer" => NpgsqlDbType.Integer,
        "bigint" => NpgsqlDbType.Bigint,
        "timestamp with time zone" => NpgsqlDbType.TimestampTz,
        null => throw new InvalidOperationException(
            $"Column {table}.{column} does not exist in the PostgreSQL database, so its schema is not the one this Ferry migrates to. " +
            "Check that --database names Ferry's own database, and restart ferry serve so that its migrations run."),
        _ => throw new InvalidOperationException(
            $"Column {table}.{column} has type {declared} in the PostgreSQL database; Ferry's migrations create uuid, text, integer, bigint or timestamptz columns. " +
            "The column was changed by hand: restore its type from Ferry's migrations (src/Ferry.Storage/Migrations)."),
    };

    public override object Id(Guid id) => id;

    // Npgsql writes timestamptz only from UTC values.
    public override object Time(DateTimeOffset time) => time.ToUniversalTime();

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override object List(IReadOnlyCollection<string> values) => values.ToArray();

    public override object IdList(IReadOnlyCollection<Guid> ids) => ids.ToArray();

    public override string InList(string expression, string parameter) => $"{expression} = ANY({parameter})";

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
