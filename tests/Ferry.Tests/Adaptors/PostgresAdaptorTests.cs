using System.Diagnostics;
using Ferry.Adaptors;
using Ferry.Adaptors.Postgres;
using Ferry.Json;
using Ferry.Testing;
using Ferry.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Ferry.Tests.Adaptors;

[Collection(UsesPostgres.Name)]
public sealed class PostgresAdaptorTests(PostgresServer server, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly int[] Codes = [1, 2];
    private static readonly string[] XTag = ["x"];
    private static readonly string[] CaseKey = ["outbreak", "case_id"];
    private string _database = "";

    public async Task InitializeAsync()
    {
        var cs = await server.CreateDatabaseAsync(nameof(PostgresAdaptorTests));
        _database = new NpgsqlConnectionStringBuilder(cs).Database!;
        await server.ExecuteAsync(_database, """
            CREATE TABLE patients (
                id serial PRIMARY KEY, national_id text UNIQUE, name text NOT NULL, born date, seen_at timestamptz,
                data jsonb, tags json, active boolean NOT NULL DEFAULT true, score numeric, visits int);
            CREATE TABLE cases (outbreak text, case_id text, status text, n int, PRIMARY KEY (outbreak, case_id));
            CREATE TABLE bulk (id int PRIMARY KEY, name text NOT NULL, value numeric, payload jsonb);
            CREATE SCHEMA hmis;
            CREATE TABLE hmis.facilities (code text PRIMARY KEY, name text);
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private object Credential => new { host = server.Host, port = server.Port, database = _database, username = PostgresServer.SuperUser };

    private AdaptorHarness Harness(ExecutionMode mode = ExecutionMode.Live, TestModeRecorder? recorder = null, object? credential = null) =>
        new("postgres", credential ?? Credential, mode, recorder);

    private PostgresAdaptor Pg(ExecutionMode mode = ExecutionMode.Live, TestModeRecorder? recorder = null) => new(Harness(mode, recorder).Context);

    private async Task<long> Count(string table, string where = "true")
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString(_database));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE {where}", conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Query_binds_named_parameters_and_returns_rows_as_json_objects()
    {
        await server.ExecuteAsync(_database, """
            INSERT INTO patients (national_id, name, born, seen_at, data, tags, score, visits)
            VALUES ('N1', 'Ana', '1990-04-01', '2024-05-06 07:08:09+00', '{"district":"Gulu","kids":[1,2]}', '["a"]', 12.50, 3),
                   ('N2', 'Ben', '1985-01-02', null, null, null, null, null)
            """);
        await using var pg = Pg();
        dynamic rows = (await pg.Query("SELECT * FROM patients WHERE born > @after AND name <> @not ORDER BY id", new { after = "1989-12-31", not = "Zed" }))!;

        Assert.Equal(1, (int)rows.Length);
        var row = rows[0];
        Assert.Equal("Ana", (string)row.name);
        Assert.Equal("1990-04-01", (string)row.born);
        Assert.Equal("2024-05-06T07:08:09Z", (string)row.seen_at);
        Assert.Equal("Gulu", (string)row.data.district);
        Assert.Equal(2, (int)row.data.kids[1]);
        Assert.Equal("a", (string)row.tags[0]);
        Assert.True((bool)row.active);
        Assert.Equal(12.50m, (decimal)row.score);
        Assert.Equal(3, (int)row.visits);
    }

    [Fact]
    public async Task QueryValue_returns_the_first_column_of_the_first_row_or_null()
    {
        await using var pg = Pg();
        Assert.Equal(42L, (long)(await pg.QueryValue("SELECT @a::bigint * 2", new { a = 21 }))!);
        Assert.Null(await pg.QueryValue("SELECT id FROM patients WHERE false"));
    }

    [Fact]
    public async Task Insert_returns_the_stored_row_with_defaults_and_maps_json_dates_and_booleans()
    {
        await using var pg = Pg();
        dynamic row = (await pg.Insert("patients", new
        {
            national_id = "N9",
            name = "Cy",
            born = "2001-02-03",
            seen_at = "2024-01-02T03:04:05+03:00",
            data = new { district = "Lira", codes = Codes },
            tags = XTag,
            score = 1.5,
            visits = 7,
        }))!;

        Assert.True((int)row.id > 0);
        Assert.True((bool)row.active);
        Assert.Equal("2024-01-02T00:04:05Z", (string)row.seen_at);
        Assert.Equal("Lira", (string)row.data.district);
        Assert.Equal(1, await Count("patients", "data->'codes' = '[1,2]'::jsonb AND born = '2001-02-03' AND tags::text = '[\"x\"]'"));
    }

    [Fact]
    public async Task InsertMany_writes_every_record_grouping_records_with_different_fields()
    {
        await using var pg = Pg();
        var records = Js.Parse("""[{"id":1,"name":"a"},{"id":2,"name":"b","value":2.5},{"id":3,"name":"c"},{"id":4,"name":"d","payload":{"k":[1]}}]""");
        dynamic r = (await pg.InsertMany("bulk", records))!;
        Assert.Equal(4L, (long)r.rowCount);
        Assert.Equal(3, (int)r.batches);
        Assert.Equal(4, await Count("bulk"));
        Assert.Equal(1, await Count("bulk", "id = 2 AND value = 2.5"));
        Assert.Equal(1, await Count("bulk", "payload = '{\"k\":[1]}'"));
    }

    [Fact]
    public async Task Upsert_by_one_column_inserts_then_updates_the_same_row()
    {
        await using var pg = Pg();
        dynamic first = (await pg.Upsert("patients", "national_id", new { national_id = "U1", name = "Old", visits = 1 }))!;
        dynamic second = (await pg.Upsert("patients", "national_id", new { national_id = "U1", name = "New", visits = 2 }))!;
        Assert.Equal((int)first.id, (int)second.id);
        Assert.Equal("New", (string)second.name);
        Assert.Equal(1, await Count("patients", "national_id = 'U1' AND name = 'New' AND visits = 2"));
        Assert.Equal(1, await Count("patients"));
    }

    [Fact]
    public async Task UpsertMany_by_two_columns_counts_inserts_and_updates_and_keeps_the_last_duplicate()
    {
        await server.ExecuteAsync(_database, "INSERT INTO cases VALUES ('ebola', 'c1', 'suspected', 1), ('ebola', 'c2', 'suspected', 1)");
        await using var pg = Pg();
        var records = new object[]
        {
            new { outbreak = "ebola", case_id = "c1", status = "confirmed", n = 2 },
            new { outbreak = "ebola", case_id = "c3", status = "suspected", n = 1 },
            new { outbreak = "mpox", case_id = "c1", status = "suspected", n = 1 },
            new { outbreak = "ebola", case_id = "c3", status = "confirmed", n = 2 },
        };
        dynamic r = (await pg.UpsertMany("cases", CaseKey, records))!;

        Assert.Equal(2L, (long)r.inserted);
        Assert.Equal(1L, (long)r.updated);
        Assert.Equal(4, await Count("cases"));
        Assert.Equal(1, await Count("cases", "outbreak = 'ebola' AND case_id = 'c1' AND status = 'confirmed' AND n = 2"));
        Assert.Equal(1, await Count("cases", "outbreak = 'ebola' AND case_id = 'c2' AND status = 'suspected'"));
        Assert.Equal(1, await Count("cases", "outbreak = 'ebola' AND case_id = 'c3' AND status = 'confirmed'"));
        Assert.Equal(1, await Count("cases", "outbreak = 'mpox' AND case_id = 'c1'"));
    }

    [Fact]
    public async Task UpsertMany_of_2500_rows_takes_three_batches_of_at_most_1000_one_statement_each()
    {
        var h = Harness();
        await using var pg = new PostgresAdaptor(h.Context);
        var records = Enumerable.Range(1, 2500).Select(i => new { id = i, name = $"n{i}", value = i * 1.5m, payload = new { i } }).ToList();

        dynamic r = (await pg.UpsertMany("bulk", "id", records))!;

        Assert.Equal(3, (int)r.batches);
        Assert.Equal(2500L, (long)r.inserted);
        Assert.Equal(3, pg.StatementsExecuted);
        var batchLines = h.Log.Entries.Where(e => e.Message.Contains("upsertMany bulk: batch", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.Equal(3, batchLines.Count);
        Assert.Contains("batch 3 of 3, 500 rows", batchLines[2], StringComparison.Ordinal);
        Assert.Equal(2500, await Count("bulk"));
        Assert.Equal(1, await Count("bulk", "id = 2500 AND value = 3750 AND payload = '{\"i\":2500}'"));
    }

    [Fact]
    public async Task BatchSize_option_and_the_parameter_limit_bound_rows_per_statement()
    {
        await using var pg = Pg();
        var records = Enumerable.Range(1, 10).Select(i => new { id = i, name = "x" }).ToList();
        dynamic r = (await pg.InsertMany("bulk", records, new { batchSize = 4 }))!;
        Assert.Equal(3, (int)r.batches);
        Assert.Equal(10, await Count("bulk"));
    }

    [Fact]
    public async Task Transaction_commits_when_the_code_completes_and_rolls_back_when_it_throws()
    {
        await using var pg = Pg();
        await pg.Transaction(async () =>
        {
            await pg.Insert("bulk", new { id = 1, name = "kept" });
            await pg.Execute("UPDATE bulk SET value = 5 WHERE id = @id", new { id = 1 });
        });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => pg.Transaction(async () =>
        {
            await pg.Insert("bulk", new { id = 2, name = "dropped" });
            throw new InvalidOperationException("step failed");
        }));

        Assert.Equal("step failed", e.Message);
        Assert.Equal(1, await Count("bulk"));
        Assert.Equal(1, await Count("bulk", "id = 1 AND value = 5"));
    }

    [Fact]
    public async Task Explicit_begin_and_rollback_discard_writes_and_an_open_transaction_is_rolled_back_on_dispose()
    {
        var h = Harness();
        var pg = new PostgresAdaptor(h.Context);
        await pg.BeginTransaction();
        await pg.InsertMany("bulk", new[] { new { id = 1, name = "a" }, new { id = 2, name = "b" } });
        Assert.Equal(2L, (long)(await pg.QueryValue("SELECT count(*) FROM bulk"))!);
        await pg.Rollback();
        Assert.Equal(0, await Count("bulk"));

        await pg.BeginTransaction();
        await pg.Insert("bulk", new { id = 3, name = "c" });
        await pg.DisposeAsync();
        Assert.Equal(0, await Count("bulk"));
        Assert.Contains(h.Log.Entries, l => l.Message.Contains("was rolled back", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commit_without_a_transaction_says_to_begin_one()
    {
        await using var pg = Pg();
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Commit());
        Assert.Contains("no open transaction", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeTable_lists_columns_types_nullability_and_primary_key()
    {
        await using var pg = Pg();
        dynamic t = (await pg.DescribeTable("cases"))!;
        Assert.Equal("public", (string)t.schema);
        Assert.Equal("""["outbreak","case_id"]""", Js.ToJson(t.primaryKey));
        Assert.Equal("""{"name":"n","type":"integer","nullable":true,"default":null}""", Js.ToJson(t.columns[3]));

        dynamic p = (await pg.DescribeTable("patients"))!;
        Assert.Equal("nextval('patients_id_seq'::regclass)", (string)p.columns[0]["default"]);
        Assert.False((bool)p.columns[2].nullable);
        dynamic f = (await pg.DescribeTable("hmis.facilities"))!;
        Assert.Equal("hmis", (string)f.schema);
    }

    [Fact]
    public async Task Unknown_table_and_column_are_reported_with_did_you_mean()
    {
        await using var pg = Pg();
        var t = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.DescribeTable("patient"));
        Assert.Contains("Did you mean 'patients'?", t.Message, StringComparison.Ordinal);

        var c = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Insert("patients", new { name = "x", nationalid = "1" }));
        Assert.Equal("42703", c.SqlState);
        Assert.Contains("postgres.insert on patients failed: 42703", c.Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'national_id'?", c.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failing_batch_is_named_with_sqlstate_and_nothing_from_the_call_is_saved()
    {
        await using var pg = Pg();
        var records = Enumerable.Range(1, 25).Select(i => (object)new { id = i, name = i == 17 ? null : $"n{i}" }).ToList();
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.InsertMany("bulk", records, new { batchSize = 10 }));
        Assert.Equal("23502", e.SqlState);
        Assert.Equal("bulk", e.Table);
        Assert.Contains("postgres.insertMany on bulk in batch 2 of 3 (records #10–#19) failed: 23502", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing from this call was saved", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, await Count("bulk"));
    }

    [Fact]
    public async Task Sql_injection_through_values_is_stored_as_data()
    {
        await using var pg = Pg();
        const string evil = "x'); DROP TABLE bulk; --";
        await pg.Insert("bulk", new { id = 1, name = evil });
        dynamic rows = (await pg.Query("SELECT name FROM bulk WHERE name = @n", new { n = evil }))!;
        Assert.Equal(evil, (string)rows[0].name);
        Assert.Equal(1, await Count("bulk"));
    }

    [Theory]
    [InlineData("bulk; DROP TABLE patients")]
    [InlineData("bulk\" (id) VALUES (1); --")]
    [InlineData("a.b.c")]
    [InlineData("")]
    public async Task Invalid_table_names_are_refused_before_reaching_the_database(string table)
    {
        var h = Harness();
        await using var pg = new PostgresAdaptor(h.Context);
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Insert(table, new { id = 1, name = "x" }));
        Assert.Contains("table name", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, pg.StatementsExecuted);
        // Both tables are still there (Count would throw on a dropped table).
        Assert.Equal(0, await Count("patients"));
        Assert.Equal(0, await Count("bulk"));
    }

    [Fact]
    public async Task Invalid_column_names_from_record_keys_are_refused_with_the_record_number()
    {
        await using var pg = Pg();
        var records = Js.Parse("""[{"id":1,"name":"a"},{"id":2,"name\" text); DROP TABLE bulk; --":"b"}]""");
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.InsertMany("bulk", records));
        Assert.Contains("Record #1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not a valid column name", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, pg.StatementsExecuted);
    }

    [Fact]
    public async Task Wrong_password_is_a_clear_error_without_the_password()
    {
        var credential = new { host = server.Host, port = server.Port, database = _database, username = PostgresServer.PasswordUser, password = "wrong-password-123" };
        var h = Harness(credential: credential);
        await using var pg = new PostgresAdaptor(h.Context);
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Query("SELECT 1"));
        Assert.Equal("28P01", e.SqlState);
        Assert.Contains($"could not connect to database '{_database}' on 127.0.0.1:{server.Port} as '{PostgresServer.PasswordUser}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Check the credential's username and password", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-123", e.Message, StringComparison.Ordinal);

        var good = new { host = server.Host, port = server.Port, database = _database, username = PostgresServer.PasswordUser, password = PostgresServer.PasswordUserPassword };
        await using var ok = new PostgresAdaptor(Harness(credential: good).Context);
        Assert.Equal(1, (int)(await ok.QueryValue("SELECT 1"))!);
    }

    [Fact]
    public async Task Connection_string_credential_works_and_a_missing_database_is_named()
    {
        await using var pg = new PostgresAdaptor(Harness(credential: new { connectionString = server.ConnectionString(_database) }).Context);
        Assert.Equal(0L, (long)(await pg.QueryValue("SELECT count(*) FROM patients"))!);

        await using var missing = new PostgresAdaptor(Harness(credential: new { host = server.Host, port = server.Port, database = "nope", username = "postgres" }).Context);
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => missing.Query("SELECT 1"));
        Assert.Equal("3D000", e.SqlState);
        Assert.Contains("Check the credential's database name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_mode_serves_canned_reads_and_records_writes_without_touching_the_database()
    {
        var recorder = new TestModeRecorder([
            new CannedResponse("postgres", "query", null, Js.Parse("""{"parameters":{"d":"Gulu"}}"""), Js.Parse("""[{"id":1,"name":"Ana"}]""")),
        ]);
        // Port 1 on loopback: any attempt to connect would fail the test.
        var credential = new { host = "127.0.0.1", port = 1, database = "none", username = "nobody" };
        await using var pg = new PostgresAdaptor(Harness(ExecutionMode.Test, recorder, credential).Context);

        dynamic rows = (await pg.Query("SELECT * FROM patients WHERE district = @d", new { d = "Gulu" }))!;
        await pg.Transaction(async () =>
        {
            await pg.Insert("patients", new { name = "Ben" });
            dynamic r = (await pg.UpsertMany("cases", "outbreak,case_id", new[] { new { outbreak = "o", case_id = "c" } }))!;
            Assert.Equal(1L, (long)r.rowCount);
        });
        await pg.Execute("DELETE FROM patients");

        Assert.Equal("Ana", (string)rows[0].name);
        Assert.Equal(["insert", "upsertMany", "execute"], recorder.Writes.Select(w => w.Operation));
        Assert.Equal("""{"table":"patients","record":{"name":"Ben"}}""", Js.ToJson(recorder.Writes[0].Request));
        Assert.Equal(0, pg.StatementsExecuted);
    }

    [Fact]
    public async Task Dry_run_reads_live_and_records_writes_without_performing_them()
    {
        await server.ExecuteAsync(_database, "INSERT INTO bulk VALUES (1, 'live', null, null)");
        var h = Harness(ExecutionMode.DryRun);
        await using var pg = new PostgresAdaptor(h.Context);

        dynamic rows = (await pg.Query("SELECT name FROM bulk"))!;
        await pg.Insert("bulk", new { id = 2, name = "never" });
        await pg.UpsertMany("bulk", "id", new[] { new { id = 1, name = "changed" } });
        await pg.Execute("DELETE FROM bulk");

        Assert.Equal("live", (string)rows[0].name);
        Assert.Equal(3, h.Recorder!.Writes.Count);
        Assert.Equal(1, await Count("bulk", "name = 'live'"));
        Assert.Equal(1, await Count("bulk"));
    }

    [Fact]
    public async Task Sql_naming_a_parameter_that_was_not_given_says_which_one()
    {
        await using var pg = Pg();
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Query("SELECT * FROM patients WHERE born > @since AND name = @name", new { name = "Ana" }));
        Assert.Contains("The SQL uses @since but the parameters have no 'since'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Result_with_duplicate_column_names_asks_for_aliases()
    {
        await using var pg = Pg();
        var e = await Assert.ThrowsAsync<PostgresAdaptorException>(() => pg.Query("SELECT 1 AS id, 2 AS id"));
        Assert.Contains("two columns named 'id'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpsertMany_of_10000_rows_reports_its_throughput()
    {
        await using var pg = Pg();
        var records = Enumerable.Range(1, 10_000).Select(i => new { id = i, name = $"patient {i}", value = i / 3m, payload = new { i, district = "Gulu" } }).ToList();
        await pg.UpsertMany("bulk", "id", records);
        var watch = Stopwatch.StartNew();
        dynamic r = (await pg.UpsertMany("bulk", "id", records))!;
        watch.Stop();
        output.WriteLine($"upsertMany 10,000 rows (update path): {watch.ElapsedMilliseconds} ms, {10_000 / watch.Elapsed.TotalSeconds:0} rows/s");
        Assert.Equal(10_000L, (long)r.updated);
        Assert.Equal(10_000, await Count("bulk"));
    }
}
