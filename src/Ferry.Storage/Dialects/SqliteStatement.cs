using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Ferry.Storage.Dialects;

/// <summary>
/// One hot statement of the SQLite writer, prepared once for the life of the connection and executed straight through
/// SQLite's C API: values are bound by position, not looked up by name on every execution as
/// <see cref="SqliteCommand"/> does (a name lookup, a UTF-8 copy of the name and several handle reference counts per
/// parameter per row). Used for the rows intake and completions write by the thousand. Not thread-safe: only the
/// writer, under its lock, uses it.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private const uint PreparePersistent = 0x01; // SQLITE_PREPARE_PERSISTENT: kept for long, allocated outside lookaside
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int[] _positions;

    /// <param name="names">The parameter names (with their <c>@</c>) in the order values will be given.</param>
    public SqliteStatement(sqlite3 db, string sql, IReadOnlyList<string> names)
    {
        _db = db;
        var rc = raw.sqlite3_prepare_v3(db, sql, PreparePersistent, out _statement);
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, db);
        _positions = new int[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            _positions[i] = raw.sqlite3_bind_parameter_index(_statement, names[i]);
            if (_positions[i] == 0) throw new InvalidOperationException($"The statement has no parameter '{names[i]}': {sql}");
        }
    }

    /// <summary>Executes the statement once with <paramref name="values"/> (in the order of the names given at
    /// construction). Returns the values of the first row it returns (<c>RETURNING</c>) when <paramref name="read"/>
    /// asks for them: integers as <see cref="long"/>, reals as <see cref="double"/>, text as <see cref="string"/>,
    /// blobs as byte arrays, NULL as null. Null otherwise, and when no row came back.</summary>
    public object?[]? Execute(object?[] values, bool read)
    {
        try
        {
            for (var i = 0; i < _positions.Length; i++) Bind(_positions[i], values[i]);
            object?[]? first = null;
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
                if (read && first is null) first = ReadRow();
            }
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _db);
            return first;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    private object?[] ReadRow()
    {
        var row = new object?[raw.sqlite3_column_count(_statement)];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = raw.sqlite3_column_type(_statement, i) switch
            {
                raw.SQLITE_INTEGER => raw.sqlite3_column_int64(_statement, i),
                raw.SQLITE_FLOAT => raw.sqlite3_column_double(_statement, i),
                raw.SQLITE_TEXT => raw.sqlite3_column_text(_statement, i).utf8_to_string(),
                raw.SQLITE_BLOB => raw.sqlite3_column_blob(_statement, i).ToArray(),
                _ => null,
            };
        }
        return row;
    }

    private void Bind(int position, object? value)
    {
        var rc = value switch
        {
            null => raw.sqlite3_bind_null(_statement, position),
            // An empty span may reach SQLite as a NULL pointer, which binds NULL: an empty text takes the string overload.
            "" => raw.sqlite3_bind_text(_statement, position, ""),
            string text => BindText(position, text),
            Guid id => BindId(position, id),
            Utf8Text { Bytes.IsEmpty: true } => raw.sqlite3_bind_text(_statement, position, ""),
            Utf8Text utf8 => raw.sqlite3_bind_text(_statement, position, utf8.Bytes.Span),
            long number => raw.sqlite3_bind_int64(_statement, position, number),
            int number => raw.sqlite3_bind_int64(_statement, position, number),
            bool flag => raw.sqlite3_bind_int64(_statement, position, flag ? 1 : 0),
            double real => raw.sqlite3_bind_double(_statement, position, real),
            _ => throw new ArgumentException($"Cannot bind a {value.GetType().Name} to parameter {position}; the store gives SQLite text, ids, integers and reals.", nameof(value)),
        };
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    private int BindId(int position, Guid id)
    {
        Span<byte> text = stackalloc byte[36];
        id.TryFormat(text, out var written, "D");
        return raw.sqlite3_bind_text(_statement, position, text[..written]);
    }

    private int BindText(int position, string text)
    {
        // Ids, names and states: almost always short enough for the stack; SQLite copies the bytes (SQLITE_TRANSIENT).
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (most <= 1024)
        {
            Span<byte> small = stackalloc byte[most];
            var written = Encoding.UTF8.GetBytes(text, small);
            return raw.sqlite3_bind_text(_statement, position, small[..written]);
        }
        var rented = ArrayPool<byte>.Shared.Rent(most);
        try
        {
            var written = Encoding.UTF8.GetBytes(text, rented);
            return raw.sqlite3_bind_text(_statement, position, rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public void Dispose() => _statement.Dispose();
}

/// <summary>JSON text as UTF-8 bytes, bound to SQLite as they are (<see cref="SqliteDialect.RowText"/>).</summary>
internal readonly record struct Utf8Text(ReadOnlyMemory<byte> Bytes);
