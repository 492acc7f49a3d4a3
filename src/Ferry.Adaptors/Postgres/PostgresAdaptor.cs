using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Steps;
using Npgsql;

namespace Ferry.Adaptors.Postgres;

/// <summary>
/// The <c>postgres</c> adaptor: parameterised queries, batched inserts and upserts, table descriptions and
/// transactions against a PostgreSQL database. Values are always sent as parameters; table and column names are
/// validated and quoted. Rows are JSON objects keyed by column name.
/// </summary>
[StepApi]
[Adaptor("postgres", Description = "Queries and writes a PostgreSQL database: parameterised SQL, batched insert/upsert, describeTable, transactions.")]
[CredentialField("host", Description = "Server host name or IP (or use connectionString)", Example = "db.example.org")]
[CredentialField("port", Type = "number", Description = "Server port (default 5432)", Example = "5432")]
[CredentialField("database", Description = "Database name", Example = "hmis")]
[CredentialField("username", Description = "Login role", Example = "ferry")]
[CredentialField("password", Description = "Login password", Secret = true)]
[CredentialField("connectionString", Description = "A full Npgsql connection string instead of the separate fields", Secret = true,
    Example = "Host=db.example.org;Database=hmis;Username=ferry;Password=…")]
[CredentialField("sslmode", Description = "disable, allow, prefer, require, verify-ca or verify-full", Example = "require")]
public sealed partial class PostgresAdaptor : Adaptor, IAsyncDisposable
{
    internal static readonly IReadOnlySet<string> PublicCredentialFields = new HashSet<string>(StringComparer.Ordinal) { "host", "port", "database", "username", "sslmode" };

    private readonly NpgsqlConnectionStringBuilder _settings;
    private readonly SecretScrubber _secrets = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _txConnection;
    private NpgsqlTransaction? _transaction;
    private bool _inTransaction;

    public PostgresAdaptor(AdaptorContext context) : base(context)
    {
        _secrets.AddCredential(context.Configuration, PublicCredentialFields);
        // Test modes record writes, so they may run without connection details; a read then fails with a clear message.
        _settings = context.Mode != ExecutionMode.Live && context.Configuration.Count == 0
            ? new NpgsqlConnectionStringBuilder()
            : PostgresDataSources.FromCredential(context.AdaptorName, context.Configuration);
        if (_settings.Password is { } pw) _secrets.Add(pw);
    }

    /// <summary>Credential rules beyond single fields, checked before a run starts (see AdaptorDescriptor).</summary>
    public static IEnumerable<string> CheckCredential(JsObject values)
    {
        var problems = new List<string>();
        try
        {
            var settings = PostgresDataSources.FromCredential("postgres", values);
            if (values.Get("connectionString") is null)
            {
                if (string.IsNullOrEmpty(settings.Database)) problems.Add("'database' is missing: the name of the database to use, e.g. \"hmis\".");
                if (string.IsNullOrEmpty(settings.Username)) problems.Add("'username' is missing: the login role, e.g. \"ferry\".");
            }
        }
        catch (PostgresAdaptorException e)
        {
            problems.Add(e.Message);
        }
        return problems;
    }

    private string Name => Context.AdaptorName;

    /// <summary>Statements sent to the server by this instance (one per round trip); tests and benchmarks read it.</summary>
    internal int StatementsExecuted { get; private set; }

    [Operation(OperationKind.Read, Description = "Runs a SELECT (or any statement returning rows) with @name parameters from an object and returns the rows as an array of objects.",
        Example = "var rows = await postgres.Query(\"SELECT id, name FROM patients WHERE updated_at > @since\", new { since = cursor.Value ?? \"2000-01-01\" });")]
    public async Task<dynamic?> Query(string sql, object? parameters = null)
    {
        const string op = "query";
        var args = Parameters(op, sql, parameters);
        return await ReadAsync(op, Request(sql, args), ct => Run(op, null, async (conn, tx, ct2) =>
        {
            await using var cmd = Command(conn, tx, sql, args);
            await using var reader = await cmd.ExecuteReaderAsync(ct2);
            return (object?)await PostgresValues.ReadRowsAsync(reader, m => Refuse(op, m), ct2);
        }, ct, sql, args));
    }

    [Operation(OperationKind.Read, Description = "Runs a query and returns the first column of the first row (null when there is no row).",
        Example = "var count = await postgres.QueryValue(\"SELECT count(*) FROM patients WHERE district = @d\", new { d = \"Gulu\" });")]
    public async Task<dynamic?> QueryValue(string sql, object? parameters = null)
    {
        const string op = "queryValue";
        var args = Parameters(op, sql, parameters);
        return await ReadAsync(op, Request(sql, args), ct => Run(op, null, async (conn, tx, ct2) =>
        {
            await using var cmd = Command(conn, tx, sql, args);
            await using var reader = await cmd.ExecuteReaderAsync(ct2);
            return await reader.ReadAsync(ct2) && reader.FieldCount > 0 ? PostgresValues.Read(reader, 0) : null;
        }, ct, sql, args));
    }

    [Operation(OperationKind.Write, Description = "Runs a statement that changes data (UPDATE, DELETE, DDL…) with @name parameters. Returns { rowCount }. In test modes it is recorded, not run, and returns the canned response or null.",
        Example = "await postgres.Execute(\"UPDATE patients SET synced = true WHERE id = @id\", new { id = p.id });")]
    public async Task<dynamic?> Execute(string sql, object? parameters = null)
    {
        const string op = "execute";
        var args = Parameters(op, sql, parameters);
        return await WriteAsync(op, Request(sql, args), ct => Run(op, null, async (conn, tx, ct2) =>
        {
            await using var cmd = Command(conn, tx, sql, args);
            var n = await cmd.ExecuteNonQueryAsync(ct2);
            var r = new JsObject();
            r.Set("rowCount", n);
            return (object?)r;
        }, ct, sql, args));
    }

    [Operation(OperationKind.Read, Description = "Describes a table: { schema, table, columns: [{ name, type, nullable, default }], primaryKey: [names] }.",
        Example = "var t = await postgres.DescribeTable(\"public.patients\");\nlog.Info(t.primaryKey);")]
    public async Task<dynamic?> DescribeTable(string table)
    {
        const string op = "describeTable";
        var (quoted, _, _) = SqlIdentifier.Table(table, m => Refuse(op, m, table));
        var request = new JsObject();
        request.Set("table", table);
        return await ReadAsync(op, request, ct => Run(op, table, async (conn, tx, ct2) => (object?)await Describe(conn, tx, op, table, quoted, ct2), ct));
    }

    [Operation(OperationKind.Write, Description = "Opens a transaction: every following operation of this step uses it until Commit() or Rollback(). One left open at the end of the step is rolled back. In test modes nothing is opened.",
        Example = "await postgres.BeginTransaction();\nawait postgres.Execute(\"DELETE FROM staging\");\nawait postgres.InsertMany(\"staging\", state.data.rows);\nawait postgres.Commit();")]
    public async Task<dynamic?> BeginTransaction()
    {
        if (_inTransaction)
            throw Refuse("beginTransaction", "A transaction is already open; call Commit() or Rollback() before beginning another.");
        _inTransaction = true;
        if (Context.Mode != ExecutionMode.Live)
        {
            Context.Log.Debug($"[{Context.Mode.ToString().ToLowerInvariant()}] {Name}.beginTransaction: no transaction opened (writes are not performed).");
            return null;
        }
        try
        {
            _txConnection = await Open("beginTransaction", Context.CancellationToken);
            _transaction = await _txConnection.BeginTransactionAsync(Context.CancellationToken);
        }
        catch
        {
            _inTransaction = false;
            await DisposeConnection();
            throw;
        }
        return null;
    }

    [Operation(OperationKind.Write, Description = "Commits the open transaction.", Example = "await postgres.Commit();")]
    public async Task<dynamic?> Commit() => await EndTransaction("commit", commit: true);

    [Operation(OperationKind.Write, Description = "Rolls back the open transaction.", Example = "await postgres.Rollback();")]
    public async Task<dynamic?> Rollback() => await EndTransaction("rollback", commit: false);

    [Operation(OperationKind.Write, Description = "Runs the given code in a transaction: committed when it completes, rolled back (and the error rethrown) when it throws.",
        Example = "await postgres.Transaction(async () => {\n    await postgres.Execute(\"DELETE FROM cases WHERE batch = @b\", new { b = 7 });\n    await postgres.InsertMany(\"cases\", state.data.cases);\n});")]
    public async Task<dynamic?> Transaction(Func<Task> work)
    {
        await BeginTransaction();
        try
        {
            await work();
        }
        catch
        {
            if (_inTransaction) await EndTransaction("rollback", commit: false);
            throw;
        }
        if (_inTransaction) await EndTransaction("commit", commit: true);
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            Context.Log.Warn($"{Name}: a transaction was still open at the end of the step and was rolled back. Call Commit() to keep its changes.");
            try { await _transaction.RollbackAsync(); }
            catch (NpgsqlException) { }
        }
        _inTransaction = false;
        await DisposeConnection();
        _gate.Dispose();
    }

    private async Task<object?> EndTransaction(string op, bool commit)
    {
        if (!_inTransaction) throw Refuse(op, $"There is no open transaction to {(commit ? "commit" : "roll back")}; call BeginTransaction() first (or use Transaction(async () => …)).");
        _inTransaction = false;
        if (_transaction is null) return null;
        await _gate.WaitAsync(Context.CancellationToken);
        try
        {
            if (commit) await _transaction.CommitAsync(Context.CancellationToken);
            else await _transaction.RollbackAsync(Context.CancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw Failure(op, null, e, "");
        }
        finally
        {
            _gate.Release();
            await DisposeConnection();
        }
        return null;
    }

    private async Task DisposeConnection()
    {
        if (_transaction is not null) await _transaction.DisposeAsync();
        if (_txConnection is not null) await _txConnection.DisposeAsync();
        _transaction = null;
        _txConnection = null;
    }

    /// <summary>Runs database work on the open transaction's connection, or on a pooled connection of its own.</summary>
    private async Task<object?> Run(string op, string? table, Func<NpgsqlConnection, NpgsqlTransaction?, CancellationToken, Task<object?>> work, CancellationToken ct,
        string? sql = null, JsObject? args = null)
    {
        try
        {
            if (_transaction is not null)
            {
                await _gate.WaitAsync(ct);
                try { return await work(_txConnection!, _transaction, ct); }
                finally { _gate.Release(); }
            }
            await using var conn = await Open(op, ct);
            return await work(conn, null, ct);
        }
        catch (PostgresException e)
        {
            // PostgreSQL reads a stray @name as its prefix operator @ (absolute value) or a syntax error.
            var hint = sql is not null ? MissingParameters(sql, args) : await Hint(e, table, ct);
            throw Failure(op, table, e, hint);
        }
        catch (NpgsqlException e)
        {
            throw Failure(op, table, e, "");
        }
    }

    /// <summary>@names the SQL uses that the parameters do not define (empty when there are none).</summary>
    private static string MissingParameters(string sql, JsObject? args)
    {
        var missing = ParameterName().Matches(sql).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal)
            .Where(n => args is null || !args.Has(n)).ToList();
        return missing.Count == 0 ? ""
            : $"The SQL uses {string.Join(", ", missing.Select(n => "@" + n))} but the parameters have no {string.Join(", ", missing.Select(n => $"'{n}'"))}; pass them, e.g. new {{ {missing[0]} = … }}.";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![@\w:])@([A-Za-z_][A-Za-z0-9_]*)", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ParameterName();

    private async Task<NpgsqlConnection> Open(string op, CancellationToken ct)
    {
        try
        {
            return await PostgresDataSources.Get(_settings.ConnectionString).OpenConnectionAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            var what = e is PostgresException pe ? $"{pe.SqlState}: {pe.MessageText}" : Innermost(e);
            var next = (e as PostgresException)?.SqlState switch
            {
                "28P01" or "28000" => "Check the credential's username and password.",
                "3D000" => "Check the credential's database name.",
                _ => "Check host and port, that the server is running and accepts connections from here, and sslmode.",
            };
            throw new PostgresAdaptorException(Name, op, Scrub(
                $"{Name}.{op}: could not connect to database '{_settings.Database}' on {_settings.Host}:{_settings.Port} as '{_settings.Username}': {what}. {next}"),
                (e as PostgresException)?.SqlState, null, e);
        }
    }

    private NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, JsObject? args)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        if (args is not null)
        {
            foreach (var (name, value) in args) cmd.Parameters.Add(PostgresValues.Parameter(value, name));
        }
        StatementsExecuted++;
        return cmd;
    }

    private JsObject? Parameters(string op, string sql, object? parameters)
    {
        if (string.IsNullOrWhiteSpace(sql)) throw Refuse(op, "The SQL text is empty.");
        return Js.From(parameters) switch
        {
            null => null,
            JsObject o => Validated(op, o),
            var other => throw Refuse(op, $"Parameters must be an object whose members match the @names in the SQL, e.g. new {{ id = 5 }}; found {Common.AdaptorOptions.Describe(other)}."),
        };

        JsObject Validated(string op, JsObject o)
        {
            foreach (var key in o.Keys)
            {
                if (!SqlIdentifier.IsValid(key)) throw Refuse(op, $"'{key}' is not a valid parameter name: use letters, digits and _ (and write it as @{key} in the SQL).");
            }
            return o;
        }
    }

    private static JsObject Request(string sql, JsObject? args)
    {
        var r = new JsObject();
        r.Set("sql", sql);
        if (args is not null) r.Set("parameters", args);
        return r;
    }

    private async Task<JsObject> Describe(NpgsqlConnection conn, NpgsqlTransaction? tx, string op, string table, string quoted, CancellationToken ct)
    {
        const string sql = """
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), coalesce(a.attnum = ANY(i.indkey::int2[]), false),
                   array_position(i.indkey::int2[], a.attnum)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE c.oid = to_regclass(@t)
            ORDER BY a.attnum
            """;
        await using var cmd = Command(conn, tx, sql, null);
        cmd.Parameters.AddWithValue("t", quoted);
        var result = new JsObject();
        var columns = new JsArray();
        var key = new SortedList<int, string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                result.Set("schema", reader.GetString(0));
                result.Set("table", reader.GetString(1));
                var column = new JsObject();
                column.Set("name", reader.GetString(2));
                column.Set("type", reader.GetString(3));
                column.Set("nullable", reader.GetBoolean(4));
                column.Set("default", reader.IsDBNull(5) ? null : reader.GetString(5));
                columns.Add(column);
                if (reader.GetBoolean(6)) key.Add(reader.GetInt32(7), reader.GetString(2));
            }
        }
        if (columns.Count == 0)
        {
            throw new PostgresAdaptorException(Name, op, Scrub($"{Name}.{op}: table '{table}' was not found in database '{_settings.Database}'. {await TableSuggestion(conn, tx, table, ct)}").TrimEnd(),
                "42P01", table);
        }
        result.Set("columns", columns);
        result.Set("primaryKey", new JsArray(key.Values));
        return result;
    }

    private async Task<string> Hint(PostgresException e, string? table, CancellationToken ct)
    {
        if (table is null || e.SqlState is not ("42P01" or "42703")) return "";
        try
        {
            await using var conn = await Open("describeTable", ct);
            if (e.SqlState == "42P01") return await TableSuggestion(conn, null, table, ct);
            var (quoted, _, _) = SqlIdentifier.Table(table, m => Refuse("describeTable", m));
            var columns = ((JsArray)(await Describe(conn, null, "describeTable", table, quoted, ct))["columns"]!).Select(c => (string)((JsObject)c!)["name"]!).ToList();
            var bad = e.MessageText.Split('"') is { Length: > 1 } parts ? parts[1] : "";
            var dym = Suggestions.DidYouMean(bad, columns);
            return $"{dym} Columns of {table}: {string.Join(", ", columns)}.".TrimStart();
        }
        catch (Exception)
        {
            return "";
        }
    }

    private async Task<string> TableSuggestion(NpgsqlConnection conn, NpgsqlTransaction? tx, string table, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT n.nspname || '.' || c.relname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','f') AND n.nspname NOT IN ('pg_catalog','information_schema')", null);
        var names = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) names.Add(table.Contains('.', StringComparison.Ordinal) ? reader.GetString(0) : reader.GetString(1));
        }
        var dym = Suggestions.DidYouMean(table, names);
        return dym.Length > 0 ? dym : "Names are case-sensitive as written; check the schema (schema.table) and the credential's database.";
    }

    private PostgresAdaptorException Failure(string op, string? table, NpgsqlException e, string hint, string where = "")
    {
        var on = table is null ? "" : $" on {table}";
        var text = e is PostgresException pe
            ? $"{pe.SqlState}: {pe.MessageText}{(string.IsNullOrEmpty(pe.Detail) ? "" : $" ({pe.Detail})")}"
            : Innermost(e);
        return new PostgresAdaptorException(Name, op, Scrub($"{Name}.{op}{on}{where} failed: {text}. {hint}".TrimEnd()),
            (e as PostgresException)?.SqlState, table, e);
    }

    private PostgresAdaptorException Refuse(string op, string message, string? table = null) =>
        new(Name, op, Scrub($"{Name}.{op}: {message}"), null, table);

    private string Scrub(string text) => Context.Scrubber.Scrub(_secrets.Scrub(text));

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message.TrimEnd('.');
    }

    private static double Ms(Stopwatch w) => Math.Round(w.Elapsed.TotalMilliseconds, 1);
}
