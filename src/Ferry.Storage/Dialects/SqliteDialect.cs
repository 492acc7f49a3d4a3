using System.Data.Common;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Ferry.Storage.Dialects;

/// <summary>
/// SQLite: one writer. Every write goes through one long-lived connection behind a lock, in <c>BEGIN IMMEDIATE</c>
/// transactions, so claims never race and never hit <c>SQLITE_BUSY</c> inside the process; reads use their own pooled
/// connections and see the last commit (WAL). Ids are text, timestamps are Unix milliseconds.
/// <para>
/// Durability without holding the writer: the writer commits with <c>synchronous = NORMAL</c> (the commit's WAL frames
/// are written, not yet flushed), releases the lock, and <see cref="MakeDurableAsync"/> then flushes the WAL file. One
/// flush covers every commit written before it began, so writers that finish together share it, and the next writer
/// works while the disk syncs. (With <c>synchronous = FULL</c> SQLite flushed inside the commit, and the writer lock
/// was held for the disk's latency on every durable write.) A relaxed write (claim, start, heartbeat) skips the flush
/// and becomes durable with the next flush.
/// </para>
/// </summary>
internal sealed class SqliteDialect : SqlDialect
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteStatement> _statements = new(StringComparer.Ordinal);
    private readonly string _walPath;
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private SqliteConnection? _writer;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _wal;
    private long _durableWrites;
    private long _flushedWrites;

    public SqliteDialect(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true };
        _connectionString = builder.ConnectionString;
        _walPath = builder.DataSource + "-wal";
    }

    public override string Name => "sqlite";

    public override IReadOnlyDictionary<string, string> ColumnTypes { get; } = new Dictionary<string, string>
    {
        ["uuid"] = "text",
        ["time"] = "integer",
        ["bigint"] = "integer",
        ["seq_pk"] = "integer PRIMARY KEY",
    };

    public override bool MultiRowInsert => false;

    public override string ClaimRowLock => "";

    // Only called inside a write scope, i.e. under _writeLock: the dictionary and the writer are never shared.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The SQL comes from FerryStore's constants; values are parameters.")]
    public override DbCommand? CachedCommand(WriteScope scope, string sql)
    {
        if (!ReferenceEquals(scope.Connection, _writer)) return null;
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _writer.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        command.Transaction = (SqliteTransaction)scope.Transaction;
        return command;
    }

    // Under _writeLock like CachedCommand. The statement runs inside the scope's open transaction: it is the same connection.
    public override bool TryExecuteEach(WriteScope scope, string sql, IReadOnlyList<string> names, IReadOnlyList<object?[]> rows, object?[]?[]? returned)
    {
        if (!ReferenceEquals(scope.Connection, _writer)) return false;
        if (!_statements.TryGetValue(sql, out var statement))
        {
            statement = new SqliteStatement(_writer.Handle!, sql, names);
            _statements[sql] = statement;
        }
        for (var i = 0; i < rows.Count; i++)
        {
            var first = statement.Execute(rows[i], read: returned is not null);
            if (returned is not null) returned[i] = first;
        }
        return true;
    }

    public override async Task<DbConnection> OpenReadAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await connection.ExecuteAsync("PRAGMA busy_timeout = 5000;");
        return connection;
    }

    public override async Task<WriteScope> BeginWriteAsync(CancellationToken ct, bool relaxed = false)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            if (_writer is null)
            {
                var writer = new SqliteConnection(_connectionString);
                await writer.OpenAsync(ct);
                // WAL is a property of the file (kept once set); synchronous and busy_timeout are per connection.
                // synchronous=NORMAL: commits do not flush; MakeDurableAsync flushes the WAL after the lock is released.
                // SQLite still syncs around checkpoints and when it starts reusing the WAL file.
                // page_size: 8 KB pages for a new database (an existing one keeps its size): intake's rows and index
                // entries fill fewer pages per transaction, so fewer log frames and page splits (Ferry.Bench store:
                // enqueue 18.9 against 22.4 us of CPU per work order, claim and completion unchanged).
                await writer.ExecuteAsync("PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;");
                _writer = writer;
            }
            // BeginTransaction() without deferred is BEGIN IMMEDIATE: the write lock is taken up front.
            var transaction = (DbTransaction)_writer.BeginTransaction(deferred: false);
            return new WriteScope(_writer, transaction, () =>
            {
                // Counted before the lock is released: a flush that reads the count afterwards starts after this commit.
                if (!relaxed) Interlocked.Increment(ref _durableWrites);
                _writeLock.Release();
                return ValueTask.CompletedTask;
            });
        }
        catch
        {
            _writeLock.Release();
            throw;
        }
    }

    public override async ValueTask MakeDurableAsync()
    {
        var mine = Interlocked.Read(ref _durableWrites);
        if (Interlocked.Read(ref _flushedWrites) >= mine) return;
        await _flushLock.WaitAsync();
        try
        {
            // A flush that began after this caller's commit may have finished while it waited: nothing left to do.
            if (_flushedWrites >= mine) return;
            var covered = Interlocked.Read(ref _durableWrites);
            // The WAL file stays in place while the writer connection is open (SQLite deletes it only when the last
            // connection closes), so one handle serves the store's lifetime. fsync flushes the file's pages whichever
            // descriptor wrote them.
            if (_wal is null && File.Exists(_walPath))
                _wal = File.OpenHandle(_walPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            // No WAL file after a commit: an in-memory database (a connection string of one's own), nothing to flush.
            if (_wal is not null) RandomAccess.FlushToDisk(_wal);
            Interlocked.Exchange(ref _flushedWrites, covered);
        }
        finally
        {
            _flushLock.Release();
        }
    }

    public override ValueTask FlushAsync()
    {
        // Counted as a durable write of its own: the flush MakeDurableAsync waits for begins after this call, so after
        // every commit (relaxed or not) that returned before it.
        Interlocked.Increment(ref _durableWrites);
        return MakeDurableAsync();
    }

    public override Task LockClaimsAsync(WriteScope scope, CancellationToken ct) => Task.CompletedTask;

    public override Task LockMigrationsAsync(WriteScope scope, CancellationToken ct) => Task.CompletedTask;

    public override object Id(Guid id) => id.ToString("D");

    // Row values go to SqliteStatement, which binds a Guid as its text and UTF-8 text as it is: no string per id, and
    // no UTF-16 copy of a webhook's body (the writer's statements take them; a command parameter gets text).
    public override object RowId(Guid id) => id;

    public override object RowText(ReadOnlyMemory<byte> utf8) => new Utf8Text(utf8);

    public override object? ParameterValue(object? value) => value switch
    {
        Guid id => id.ToString("D"),
        Utf8Text text => System.Text.Encoding.UTF8.GetString(text.Bytes.Span),
        _ => value,
    };

    public override object Time(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public override object List(IReadOnlyCollection<string> values) => JsonSerializer.Serialize(values);

    public override object IdList(IReadOnlyCollection<Guid> ids) => JsonSerializer.Serialize(ids.Select(id => id.ToString("D")));

    public override string InList(string expression, string parameter) => $"{expression} IN (SELECT value FROM json_each({parameter}))";

    public override async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            if (_writer is not null)
            {
                // Fold the WAL back into the database file so a copied ferry.db is complete after a clean stop.
                foreach (var command in _commands.Values) await command.DisposeAsync();
                _commands.Clear();
                foreach (var statement in _statements.Values) statement.Dispose();
                _statements.Clear();
                await _writer.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE);");
                await _writer.DisposeAsync();
                _writer = null;
            }
        }
        finally
        {
            _writeLock.Release();
            _writeLock.Dispose();
        }
        await _flushLock.WaitAsync();
        _wal?.Dispose();
        _wal = null;
        _flushLock.Release();
        _flushLock.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }
}
