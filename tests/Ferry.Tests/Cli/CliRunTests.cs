using Ferry.Json;
using Ferry.Tests.Infrastructure;
using Npgsql;

namespace Ferry.Tests.Cli;

/// <summary>The `ferry` executable end to end on the sample project: exit codes, output files, messages.</summary>
[Collection(UsesPostgres.Name)]
public sealed class CliRunTests(PostgresServer postgres) : IDisposable
{
    private static readonly string Sample = Path.Combine(FerryProcess.RepositoryRoot, "samples", "case-sync");
    private readonly string _work = Directory.CreateTempSubdirectory("ferry-cli").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_work, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Run_in_test_mode_maps_the_sample_and_prints_the_writes_it_would_make_without_a_database()
    {
        var output = Path.Combine(_work, "out.json");
        var creds = Write("creds.json", """{"hmis-db":{"host":"127.0.0.1","database":"nowhere","username":"u","password":"Secret-pw-123"}}""");

        var r = await FerryProcess.RunAsync(_work, "run", Sample, "-s", Path.Combine(Sample, "data", "cases.json"), "--test", "--credentials", creds, "-o", output);

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("1 write would be made (none was performed)", r.Stderr);
        Assert.Contains("postgres.upsertMany", r.Stderr);
        Assert.DoesNotContain("Secret-pw-123", r.All);
        dynamic final = Js.Parse(File.ReadAllBytes(output))!;
        Assert.Equal("1990-03-14", (string)final["upsert-cases"].data[0].birth_date);
        Assert.Equal("format", (string)final["report-rejects"].rejected[0].rule);
    }

    [Fact]
    public async Task Run_upserts_the_sample_into_a_real_postgres_and_a_second_run_updates_instead_of_duplicating()
    {
        var connection = await postgres.CreateDatabaseAsync("cli_sample");
        await using (var conn = new NpgsqlConnection(connection))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand(File.ReadAllText(Path.Combine(Sample, "data", "schema.sql")), conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var creds = Write("creds.json", Js.ToJson(new Dictionary<string, object> { ["hmis-db"] = new { connectionString = connection } }));

        var first = await FerryProcess.RunAsync(_work, "run", Sample, "-s", Path.Combine(Sample, "data", "cases.json"), "--credentials", creds, "-o", Path.Combine(_work, "1.json"));
        var second = await FerryProcess.RunAsync(_work, "run", Sample, "-s", Path.Combine(Sample, "data", "cases.json"), "--credentials", creds, "-o", Path.Combine(_work, "2.json"));

        Assert.True(first.ExitCode == 0, first.All);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains("3 new", first.Stderr);
        Assert.Contains("3 updated", second.Stderr);
        await using var check = new NpgsqlConnection(connection);
        await check.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT count(*), min(birth_date)::text, max(sex) FROM hmis_cases", check);
        await using var reader = await query.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(3L, reader.GetInt64(0));
        Assert.Equal("1985-12-01", reader.GetString(1));
    }

    [Fact]
    public async Task Test_verb_runs_the_sample_flow_tests_and_prints_the_summary_line()
    {
        var r = await FerryProcess.RunAsync(_work, "test", Sample);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("2 passed, 0 failed", r.Stdout);
    }

    [Fact]
    public async Task A_failing_flow_test_exits_1_and_says_what_differed()
    {
        var project = CopySample();
        File.WriteAllText(Path.Combine(project, "tests", "intake-maps-and-upserts.yaml"),
            File.ReadAllText(Path.Combine(project, "tests", "intake-maps-and-upserts.yaml")).Replace("upserted: 3", "upserted: 4", StringComparison.Ordinal));

        var r = await FerryProcess.RunAsync(_work, "test", project);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("1 passed, 1 failed", r.Stdout);
        Assert.Contains("$.upsert-cases.upserted: expected 4, found 3", r.Stderr);
    }

    [Fact]
    public async Task Malformed_state_json_is_refused_with_line_and_column_and_exit_code_2()
    {
        var state = Write("bad.json", "{\n  \"data\": [1, 2,\n}");
        var r = await FerryProcess.RunAsync(_work, "run", Sample, "-s", state, "--test");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad.json:3:", r.Stderr);
        Assert.Contains("Malformed JSON", r.Stderr);
        Assert.DoesNotContain("   at ", r.All);
    }

    [Fact]
    public async Task A_credentials_file_missing_a_required_field_is_refused_before_anything_runs()
    {
        var creds = Write("creds.json", """{"hmis-db":{"host":"127.0.0.1"}}""");
        var r = await FerryProcess.RunAsync(_work, "run", Sample, "-s", Path.Combine(Sample, "data", "cases.json"), "--credentials", creds);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("FERRY304", r.Stderr);
        Assert.Contains("'database'", r.Stderr);
    }

    [Fact]
    public async Task A_project_without_credentials_is_told_to_pass_them()
    {
        var r = await FerryProcess.RunAsync(_work, "run", Sample, "-s", Path.Combine(Sample, "data", "cases.json"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--credentials", r.Stderr);
    }

    [Fact]
    public async Task A_run_whose_leaf_step_throws_exits_1_and_names_the_csx_line()
    {
        Write("fails/ferry.yaml", """
            name: fails
            workflows:
              main:
                steps:
                  boom:
                    code: jobs/boom.csx
            """);
        Write("fails/jobs/boom.csx", "var x = 1;\nthrow new InvalidOperationException(\"the source said no\");\n");

        var r = await FerryProcess.RunAsync(_work, "run", Path.Combine(_work, "fails"), "--json");

        Assert.Equal(1, r.ExitCode);
        dynamic json = Js.Parse(r.Stdout)!;
        Assert.Equal("failed", (string)json.status);
        Assert.Contains("jobs/boom.csx:2", (string)json.error);
        Assert.Contains("the source said no", (string)json.error);
    }

    [Fact]
    public async Task A_runaway_step_is_killed_and_the_cli_still_reports_and_exits_1()
    {
        Write("loop/ferry.yaml", """
            name: loop
            workflows:
              main:
                timeout: 1s
                steps:
                  spin:
                    code: |
                      var n = 0;
                      while (true) { n++; }
            """);
        var r = await FerryProcess.RunAsync(_work, "run", Path.Combine(_work, "loop"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Run killed", r.Stderr);
        Assert.Contains("time budget", r.Stderr);
    }

    [Fact]
    public async Task A_single_csx_step_runs_with_an_adaptor_against_a_loopback_server()
    {
        await using var server = await LoopbackHttpServer.StartAsync();
        server.MapJson("GET", "/facilities", """{"items":[{"code":"F1"},{"code":"F2"}]}""");
        var job = Write("count.csx", "var r = await http.Get(\"/facilities\");\nstate.data = new { count = r.body.items.Length };\n");
        var creds = Write("creds.json", Js.ToJson(new { baseUrl = server.BaseUrl.ToString() }));

        var r = await FerryProcess.RunAsync(_work, "run", job, "-a", "http", "--credentials", creds);

        Assert.True(r.ExitCode == 0, r.All);
        dynamic final = Js.Parse(r.Stdout)!;
        Assert.Equal(2, (int)final.data.count);
    }

    private string CopySample()
    {
        var target = Path.Combine(_work, "case-sync");
        foreach (var file in Directory.EnumerateFiles(Sample, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Sample, file);
            if (relative.StartsWith(".ferry", StringComparison.Ordinal)) continue;
            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        return target;
    }
}
