using System.Data.Common;
using Dapper;
using Npgsql;

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

    public override object Id(Guid id) => id;

    // Npgsql writes timestamptz only from UTC values.
    public override object Time(DateTimeOffset time) => time.ToUniversalTime();

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override object List(IReadOnlyCollection<string> values) => values.ToArray();

    public override object IdList(IReadOnlyCollection<Guid> ids) => ids.ToArray();

    public override string InList(string expression, string parameter) => $"{expression} = ANY({parameter})";

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
