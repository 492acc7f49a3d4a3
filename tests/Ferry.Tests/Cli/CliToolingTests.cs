using Ferry.Json;

namespace Ferry.Tests.Cli;

/// <summary>validate, new, docs and mapping doc through the real executable.</summary>
public sealed class CliToolingTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ferry-cli-tools").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Validate_reports_every_problem_with_file_line_column_and_exits_2()
    {
        var dir = Path.Combine(_work, "broken");
        Directory.CreateDirectory(Path.Combine(dir, "jobs"));
        File.WriteAllText(Path.Combine(dir, "ferry.yaml"), """
            name: broken
            workflows:
              main:
                triggers:
                  nightly: { type: cron, cron: "61 * * * *" }
                steps:
                  fetch:
                    adaptr: http
                    code: jobs/fetch.csx
                    next: { sav: on_success }
                  save:
                    code: jobs/missing.csx
            """);
        File.WriteAllText(Path.Combine(dir, "jobs", "fetch.csx"), "var x = 1;\nvar y = System.IO.File.ReadAllText(\"/etc/passwd\");\nint z = \"text\";\n");

        var r = await FerryProcess.RunAsync(_work, "validate", dir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("broken/ferry.yaml:5:", r.Stderr);             // bad cron
        Assert.Contains("Did you mean 'adaptor'?", r.Stderr);           // unknown key
        Assert.Contains("Did you mean 'save'?", r.Stderr);              // unknown edge target
        Assert.Contains("missing.csx", r.Stderr);                       // missing code file
        Assert.Contains("jobs/fetch.csx:2:", r.Stderr);                 // sandbox refusal, mapped to the .csx line
        Assert.Contains("jobs/fetch.csx:3:", r.Stderr);                 // compile error
        Assert.DoesNotContain("   at ", r.All);
    }

    [Fact]
    public async Task Malformed_yaml_is_refused_with_its_position_by_every_verb_that_loads_the_project()
    {
        var dir = Path.Combine(_work, "bad-yaml");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ferry.yaml"), "name: bad-yaml\nworkflows:\n  main:\n    steps: [unclosed\n");

        foreach (var verb in new[] { "validate", "run", "test" })
        {
            var r = await FerryProcess.RunAsync(_work, verb, dir);
            Assert.True(r.ExitCode == 2, $"{verb}: {r.All}");
            Assert.Contains("bad-yaml/ferry.yaml:", r.Stderr);
            Assert.DoesNotContain("   at ", r.All);
        }
    }

    [Fact]
    public async Task Step_code_that_breaks_the_sandbox_is_refused_before_the_run_with_the_construct_and_line()
    {
        var dir = Path.Combine(_work, "escape");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ferry.yaml"), """
            name: escape
            workflows:
              main:
                steps:
                  sneaky:
                    code: |
                      var ok = 1;
                      System.Diagnostics.Process.Start("sh");
            """);

        var r = await FerryProcess.RunAsync(_work, "run", dir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("escape/ferry.yaml:8:11:", r.Stderr);
        Assert.Contains("System.Diagnostics.Process", r.Stderr);
    }

    [Fact]
    public async Task Validate_accepts_the_sample_and_says_what_it_checked()
    {
        var r = await FerryProcess.RunAsync(_work, "validate", Path.Combine(FerryProcess.RepositoryRoot, "samples", "case-sync"), "--json");
        Assert.True(r.ExitCode == 0, r.All);
        dynamic json = Js.Parse(r.Stdout)!;
        Assert.True((bool)json.valid);
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("http-to-postgres")]
    public async Task New_projects_from_every_template_validate_and_pass_their_flow_tests(string template)
    {
        var created = await FerryProcess.RunAsync(_work, "new", "my-flow", "--template", template);
        Assert.True(created.ExitCode == 0, created.All);

        var validated = await FerryProcess.RunAsync(_work, "validate", "my-flow");
        var tested = await FerryProcess.RunAsync(_work, "test", "my-flow");

        Assert.True(validated.ExitCode == 0, validated.All);
        Assert.True(tested.ExitCode == 0, tested.All);
        Assert.Matches(@"^[1-9]\d* passed, 0 failed", tested.Stdout.Trim());
    }

    [Fact]
    public async Task New_refuses_a_bad_name_and_an_unknown_template_with_a_suggestion()
    {
        var badName = await FerryProcess.RunAsync(_work, "new", "My Flow");
        var badTemplate = await FerryProcess.RunAsync(_work, "new", "ok-name", "--template", "basc");
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("lowercase", badName.Stderr);
        Assert.Equal(2, badTemplate.ExitCode);
        Assert.Contains("Did you mean 'basic'?", badTemplate.Stderr);
    }

    [Fact]
    public async Task Docs_list_adaptors_and_describe_an_operation_from_the_code()
    {
        var all = await FerryProcess.RunAsync(_work, "docs");
        var postgres = await FerryProcess.RunAsync(_work, "docs", "postgres");
        var upsert = await FerryProcess.RunAsync(_work, "docs", "postgres", "upsertMany");
        var unknown = await FerryProcess.RunAsync(_work, "docs", "postgress");

        Assert.Contains("http", all.Stdout);
        Assert.Contains("postgres", all.Stdout);
        Assert.Contains("password", postgres.Stdout);
        Assert.Contains("UpsertMany(", upsert.Stdout);
        Assert.Contains("Example", upsert.Stdout);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("Did you mean 'postgres'?", unknown.Stderr);
    }

    [Fact]
    public async Task The_committed_adaptor_reference_is_what_the_code_generates()
    {
        var r = await FerryProcess.RunAsync(_work, "docs", "--markdown");
        var committed = File.ReadAllText(Path.Combine(FerryProcess.RepositoryRoot, "docs", "adaptor-reference.md"));
        Assert.True(r.Stdout.Trim() == committed.Trim(), "docs/adaptor-reference.md is stale: regenerate it with `ferry docs --markdown > docs/adaptor-reference.md`.");
    }

    [Fact]
    public async Task Mapping_doc_renders_the_sample_spec_as_a_markdown_table_and_as_html()
    {
        var spec = Path.Combine(FerryProcess.RepositoryRoot, "samples", "case-sync", "mappings", "case-to-hmis.yaml");
        var md = await FerryProcess.RunAsync(_work, "mapping", "doc", spec);
        var html = await FerryProcess.RunAsync(_work, "mapping", "doc", spec, "--format", "html", "-o", Path.Combine(_work, "map.html"));

        Assert.True(md.ExitCode == 0, md.All);
        Assert.Contains("| birth_date", md.Stdout);
        Assert.Contains("MM/dd/yyyy", md.Stdout);
        Assert.True(html.ExitCode == 0, html.All);
        Assert.Contains("<table", File.ReadAllText(Path.Combine(_work, "map.html")));
    }

    [Fact]
    public async Task Unknown_verbs_and_options_exit_2_with_a_pointer_to_help()
    {
        var r = await FerryProcess.RunAsync(_work, "runn");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--help", r.Stderr);
    }
}
