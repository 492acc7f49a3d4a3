using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Ferry.Storage.Dialects;

namespace Ferry.Storage;

/// <summary>
/// The hot statements of the run queue run once per batch (claims, work order status, cursors). On SQLite every write
/// waits for the one writer, so these run through commands kept with the writer connection: each is parsed and
/// planned once per process, not once per call as a Dapper call would. Only constant SQL texts come here (a text
/// built from varying filters would grow the cache); everything else stays on Dapper. Statements run once per row go
/// through <see cref="SqlDialect.TryExecuteEach"/> instead (<c>InsertRowsAsync</c>, <c>QueryEachAsync</c>).
/// </summary>
public sealed partial class FerryStore
{
    /// <summary>Runs <paramref name="sql"/> in <paramref name="scope"/> and maps every row it returns.</summary>
    private async Task<List<T>> QueryStatementAsync<T>(WriteScope scope, string sql, (string Name, object? Value)[] args, Func<DbDataReader, T> map, CancellationToken ct)
    {
        var (command, owned) = Statement(scope, sql, args);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<T>();
            while (await reader.ReadAsync(ct)) rows.Add(map(reader));
            return rows;
        }
        finally
        {
            if (owned) await command.DisposeAsync();
        }
    }

    /// <summary>Runs <paramref name="sql"/> in <paramref name="scope"/>; returns the rows it changed.</summary>
    private async Task<int> ExecuteStatementAsync(WriteScope scope, string sql, (string Name, object? Value)[] args, CancellationToken ct)
    {
        var (command, owned) = Statement(scope, sql, args);
        try
        {
            return await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            if (owned) await command.DisposeAsync();
        }
    }

    /// <summary>The writer's kept command for <paramref name="sql"/> (SQLite), or a new one the caller disposes, with
    /// <paramref name="args"/> bound by name.</summary>
    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "The SQL is a constant of this class; every value is a parameter.")]
    private (DbCommand Command, bool Owned) Statement(WriteScope scope, string sql, (string Name, object? Value)[] args)
    {
        var command = _dialect.CachedCommand(scope, sql);
        var owned = command is null;
        if (command is null)
        {
            command = scope.Connection.CreateCommand();
            command.Transaction = scope.Transaction;
            command.CommandText = sql;
        }
        if (command.Parameters.Count != args.Length)
        {
            command.Parameters.Clear();
            foreach (var (name, _) in args)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                command.Parameters.Add(parameter);
            }
        }
        for (var i = 0; i < args.Length; i++)
        {
            var parameter = command.Parameters[i];
            if (parameter.ParameterName != args[i].Name) throw new InvalidOperationException($"Statement parameters out of order: '{args[i].Name}' bound where '{parameter.ParameterName}' was.");
            parameter.Value = args[i].Value ?? DBNull.Value;
        }
        return (command, owned);
    }
}
