using System.Data.Common;

namespace Ferry.Storage.Dialects;

/// <summary>
/// What differs between SQLite and PostgreSQL, and nothing else: column types for migrations, how parameter values are
/// encoded (ids, timestamps, lists), the row lock of the claim statement and how connections are shared. All SQL text
/// lives in <see cref="FerryStore"/> and <c>Migrations/</c>.
/// </summary>
internal abstract class SqlDialect : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgres</c>: also the suffix of a dialect-specific migration file.</summary>
    public abstract string Name { get; }

    /// <summary>Column types substituted for <c>{{uuid}}</c>, <c>{{time}}</c>, <c>{{bigint}}</c> and <c>{{seq_pk}}</c> in migrations.</summary>
    public abstract IReadOnlyDictionary<string, string> ColumnTypes { get; }

    /// <summary>Appended to the claim's inner SELECT (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>).</summary>
    public abstract string ClaimRowLock { get; }

    /// <summary>True: batch rows into one multi-row INSERT (saves round trips); false: reuse one prepared single-row INSERT.</summary>
    public abstract bool MultiRowInsert { get; }

    /// <summary>
    /// A command for <paramref name="sql"/> kept with the scope's connection across transactions, so a hot statement is
    /// prepared once and not per batch; the caller adds its parameters when it has none, sets values, and does not
    /// dispose it. Null where connections are pooled (PostgreSQL: Npgsql prepares repeated statements itself).
    /// </summary>
    public virtual DbCommand? CachedCommand(WriteScope scope, string sql) => null;

    /// <summary>
    /// Runs the constant statement <paramref name="sql"/> in <paramref name="scope"/> once per row, binding each row's
    /// values to <paramref name="names"/> by position. When <paramref name="returned"/> is given (one slot per row), each
    /// slot receives the values of the first row that execution returned (<c>RETURNING</c>), or null. False when the
    /// dialect has no faster way than a command (the caller then uses one).
    /// </summary>
    public virtual bool TryExecuteEach(WriteScope scope, string sql, IReadOnlyList<string> names, IReadOnlyList<object?[]> rows, object?[]?[]? returned) => false;

    /// <summary>
    /// Inserts <paramref name="rows"/> (values in <paramref name="columns"/> order) into <paramref name="table"/> in the
    /// scope's transaction by the database's bulk path, or returns false when the dialect has none worth its set-up
    /// for this many rows (the caller then uses INSERT statements).
    /// </summary>
    public virtual Task<bool> TryBulkInsertAsync(WriteScope scope, string table, string[] columns, IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        Task.FromResult(false);

    /// <summary>True where an array can be bound as one parameter and expanded with <c>unnest</c> (PostgreSQL), so one
    /// statement can update many rows each with its own values.</summary>
    public virtual bool ArrayParameters => false;

    /// <summary>A connection for reads; the caller disposes it.</summary>
    public abstract Task<DbConnection> OpenReadAsync(CancellationToken ct);

    /// <summary>A connection with an open write transaction (SQLite: the single writer, <c>BEGIN IMMEDIATE</c>).
    /// <paramref name="relaxed"/>: the commit may be undone by a power cut (see <see cref="FerryStore"/> claim notes).</summary>
    public abstract Task<WriteScope> BeginWriteAsync(CancellationToken ct, bool relaxed = false);

    /// <summary>
    /// Returns once every write this caller committed (outside a relaxed scope) would survive a power cut. Called after
    /// the write scope is released, so waiting for the disk does not hold other writers back. Not cancellable: the write
    /// is committed, and reporting it as cancelled would make its caller retry or give up on a write that happened.
    /// PostgreSQL: a commit is already durable when it returns.
    /// </summary>
    public virtual ValueTask MakeDurableAsync() => ValueTask.CompletedTask;

    /// <summary>Returns once every write committed before the call, relaxed ones included, would survive a power cut.
    /// PostgreSQL: every commit already is.</summary>
    public virtual ValueTask FlushAsync() => ValueTask.CompletedTask;

    /// <summary>Serializes claimers that enforce limits (counting active runs and claiming must not interleave).</summary>
    public abstract Task LockClaimsAsync(WriteScope scope, CancellationToken ct);

    /// <summary>Serializes two processes migrating the same database at once.</summary>
    public abstract Task LockMigrationsAsync(WriteScope scope, CancellationToken ct);

    public abstract object Id(Guid id);

    /// <summary>An id as a value of a row that <c>InsertRowsAsync</c> or <c>QueryEachAsync</c> writes: there it reaches
    /// <see cref="TryExecuteEach"/>, or a command parameter through <see cref="ParameterValue"/>.</summary>
    public virtual object RowId(Guid id) => Id(id);

    /// <summary>JSON text given as UTF-8 bytes, as a row value (see <see cref="RowId(Guid)"/>).</summary>
    public virtual object RowText(ReadOnlyMemory<byte> utf8) => System.Text.Encoding.UTF8.GetString(utf8.Span);

    /// <summary>A row value as a command parameter takes it.</summary>
    public virtual object? ParameterValue(object? value) => value;

    public object? Id(Guid? id) => id is { } value ? Id(value) : null;

    /// <inheritdoc cref="RowId(Guid)"/>
    public object? RowId(Guid? id) => id is { } value ? RowId(value) : null;

    public abstract object Time(DateTimeOffset time);

    public object? Time(DateTimeOffset? time) => time is { } value ? Time(value) : null;

    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>A list of strings as one parameter, tested with <see cref="InList"/>.</summary>
    public abstract object List(IReadOnlyCollection<string> values);

    /// <summary>A list of ids as one parameter, tested with <see cref="InList"/>.</summary>
    public abstract object IdList(IReadOnlyCollection<Guid> ids);

    /// <summary>SQL that is true when <paramref name="expression"/> is one of the list in <paramref name="parameter"/>.</summary>
    public abstract string InList(string expression, string parameter);

    public abstract ValueTask DisposeAsync();
}

/// <summary>A connection and its open transaction. Dispose without <see cref="CommitAsync"/> rolls back.</summary>
internal sealed class WriteScope(DbConnection connection, DbTransaction transaction, Func<ValueTask> release) : IAsyncDisposable
{
    private bool _done;

    public DbConnection Connection { get; } = connection;

    public DbTransaction Transaction { get; } = transaction;

    public async Task CommitAsync(CancellationToken ct)
    {
        await Transaction.CommitAsync(ct);
        _done = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_done) await Transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is InvalidOperationException or DbException)
        {
            // The transaction already ended (a failed commit, a dropped connection): the original error is the one to see.
        }
        finally
        {
            await Transaction.DisposeAsync();
            await release();
        }
    }
}
