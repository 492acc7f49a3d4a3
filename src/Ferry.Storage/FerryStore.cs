using System.Data.Common;
using Dapper;
using Ferry.Storage.Dialects;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ferry.Storage;

/// <summary>
/// Ferry's one store: versions, durable intake, the run queue, history and cursors, over SQLite (embedded, one node)
/// or PostgreSQL (many nodes). All SQL is shared; <see cref="SqlDialect"/> holds the few differences. Thread-safe;
/// open one per process. Split by concern: <c>FerryStore.Versions.cs</c>, <c>.Queue.cs</c>, <c>.History.cs</c>.
/// </summary>
public sealed partial class FerryStore : IAsyncDisposable
{
    private readonly SqlDialect _dialect;
    private readonly TimeProvider _clock;
    private readonly long _maxDataclipBytes;

    private FerryStore(SqlDialect dialect, StoreOptions options)
    {
        _dialect = dialect;
        _clock = options.Clock;
        _maxDataclipBytes = options.MaxDataclipBytes;
    }

    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public string Provider => _dialect.Name;

    /// <summary>Opens the store and applies pending migrations (a no-op when the schema is current).</summary>
    /// <exception cref="ArgumentException">Unknown provider or malformed connection string.</exception>
    /// <exception cref="InvalidOperationException">The database was written by a newer Ferry.</exception>
    public static async Task<FerryStore> OpenAsync(StoreOptions options, CancellationToken ct = default)
    {
        SqlDialect dialect = options.Provider.ToLowerInvariant() switch
        {
            "sqlite" => new SqliteDialect(options.ConnectionString),
            "postgres" or "postgresql" => new PostgresDialect(options.ConnectionString),
            _ => throw new ArgumentException(
                $"Unknown store provider '{options.Provider}'. Use 'sqlite' (embedded, the default) or 'postgres'.", nameof(options)),
        };
        try
        {
            await Migrator.ApplyAsync(dialect, options.Clock.GetUtcNow(), ct);
        }
        catch
        {
            await dialect.DisposeAsync();
            throw;
        }
        return new FerryStore(dialect, options);
    }

    /// <summary>The embedded store: <c>&lt;dataDirectory&gt;/ferry.db</c> (created with its folder), WAL, synchronous=FULL.</summary>
    public static StoreOptions Sqlite(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(Path.GetFullPath(dataDirectory), "ferry.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
        };
        return new StoreOptions { Provider = "sqlite", ConnectionString = builder.ConnectionString };
    }

    /// <summary>A PostgreSQL store; the connection string is checked for syntax here.</summary>
    public static StoreOptions Postgres(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(
                $"The PostgreSQL connection string is malformed: {e.Message} Expected e.g. 'Host=db;Database=ferry;Username=ferry;Password=…'.",
                nameof(connectionString), e);
        }
        return new StoreOptions { Provider = "postgres", ConnectionString = connectionString };
    }

    public ValueTask DisposeAsync() => _dialect.DisposeAsync();

    private DateTimeOffset Now => _clock.GetUtcNow();

    private static CommandDefinition Cmd(string sql, object? args, WriteScope? scope, CancellationToken ct) =>
        new(sql, args, scope?.Transaction, cancellationToken: ct);

    private async Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> work, CancellationToken ct, bool relaxed = false)
    {
        T result;
        await using (var scope = await _dialect.BeginWriteAsync(ct, relaxed))
        {
            result = await work(scope);
            await scope.CommitAsync(ct);
        }
        // The write is committed and the writer free for the next one; it is acknowledged once it is on disk.
        if (!relaxed) await _dialect.MakeDurableAsync();
        return result;
    }

    private async Task<IReadOnlyList<T>> ReadAsync<T>(string sql, object? args, Func<DbDataReader, T> map, CancellationToken ct)
    {
        await using var connection = await _dialect.OpenReadAsync(ct);
        return await QueryAsync(connection, null, sql, args, map, ct);
    }

    private static async Task<IReadOnlyList<T>> QueryAsync<T>(DbConnection connection, WriteScope? scope, string sql, object? args, Func<DbDataReader, T> map, CancellationToken ct)
    {
        // Disposed synchronously on purpose: Dapper's wrapped reader disposes its command only in Dispose, not in
        // DisposeAsync. A command never disposed stays registered with the connection, and the writer connection lives as
        // long as the server: its list grew by one per query and every later command's disposal scanned it.
        using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, args, scope?.Transaction, cancellationToken: ct));
        var rows = new List<T>();
        while (await reader.ReadAsync(ct)) rows.Add(map(reader));
        return rows;
    }

    private DateTimeOffset? ReadTimeOrNull(DbDataReader r, int i) => r.IsDBNull(i) ? null : _dialect.ReadTime(r, i);

    private static string? StringOrNull(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static Guid? GuidOrNull(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetGuid(i);
}
