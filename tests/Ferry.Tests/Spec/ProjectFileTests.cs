using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class ProjectFileTests
{
    private const string Valid = """
        name: demo
        workflows:
          sync:
            steps:
              fetch:
                code: state.data = 1;
        """;

    [Fact]
    public void Missing_ferry_yaml_is_reported_with_the_path_as_typed()
    {
        var result = ProjectLoader.Load("no-such-project-folder", new ProjectLoadOptions());
        Assert.Null(result.Project);
        var d = result.Only(SpecCodes.FileNotFound);
        Assert.Equal("no-such-project-folder/ferry.yaml", d.Location!.File);
        Assert.Contains("does not exist", d.Message, StringComparison.Ordinal);
        Assert.Contains("ferry new", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_without_ferry_yaml_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load();
        Assert.Null(result.Project);
        Assert.Contains("No ferry.yaml", result.Only(SpecCodes.FileNotFound).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_yaml_reports_the_parser_message_and_position()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync: { steps: [a, b }
            """);
        Assert.Null(result.Project);
        var d = result.Only(SpecCodes.MalformedYaml);
        Assert.Equal(3, d.Location!.Line);
        Assert.True(d.Location.Column > 1, d.ToString());
        Assert.Contains("not valid YAML", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Line:", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Root_that_is_a_list_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("- name: demo\n");
        Assert.Null(result.Project);
        var d = result.Only(SpecCodes.RootNotMapping);
        d.AssertAt(1, 1);
        Assert.Contains("a list", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_file_is_reported_as_not_a_mapping()
    {
        using var project = new TempProject();
        Assert.Contains("empty", project.Load("# nothing yet\n").Only(SpecCodes.RootNotMapping).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_is_reported_with_did_you_mean_at_every_level()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            descripton: typo at the top
            workflows:
              sync:
                tigers: {}
                steps:
                  fetch:
                    adapter: http
                    code: state.data = 1;
                    next: { store: { condition: always, lable: x } }
                  store:
                    code: return state;
            """);
        var unknown = result.Diagnostics.Where(d => d.Code == SpecCodes.UnknownKey).ToArray();
        Assert.Equal(4, unknown.Length);
        unknown[0].AssertAt(2, 1);
        Assert.Equal("Unknown key 'descripton' in the top level of ferry.yaml.", unknown[0].Message);
        Assert.StartsWith("Did you mean 'description'?", unknown[0].Hint, StringComparison.Ordinal);
        unknown[1].AssertAt(5, 5);
        Assert.Contains("Did you mean 'triggers'?", unknown[1].Hint, StringComparison.Ordinal);
        unknown[2].AssertAt(8, 9);
        Assert.Contains("Did you mean 'adaptor'?", unknown[2].Hint, StringComparison.Ordinal);
        unknown[3].AssertAt(10, 45);
        Assert.Contains("Did you mean 'label'?", unknown[3].Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_reported_at_the_second_key_with_the_first_position()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  fetch:
                    code: state.data = 1;
                    code: state.data = 2;
                  fetch:
                    code: return state;
            """);
        var duplicates = result.Diagnostics.Where(d => d.Code == SpecCodes.DuplicateKey).ToArray();
        Assert.Equal(2, duplicates.Length);
        duplicates[0].AssertAt(7, 9);
        Assert.Contains("'code'", duplicates[0].Message, StringComparison.Ordinal);
        Assert.Contains("line 6, column 9", duplicates[0].Hint, StringComparison.Ordinal);
        duplicates[1].AssertAt(8, 7);
        Assert.Equal("Workflow 'sync' has two steps named 'fetch'.", duplicates[1].Message);
        Assert.Equal("state.data = 1;", result.Project!.Workflows[0].Steps[0].Code);
    }

    [Fact]
    public void Two_workflows_with_the_same_name_are_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps: { a: { code: return state; } }
              sync:
                steps: { b: { code: return state; } }
            """);
        var d = result.Only(SpecCodes.DuplicateWorkflow);
        d.AssertAt(5, 3);
        Assert.Equal("Two workflows are named 'sync'.", d.Message);
        Assert.Single(result.Project!.Workflows);
    }

    [Fact]
    public void List_where_a_mapping_is_expected_is_a_wrong_type()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  - fetch
                  - store
            """);
        var d = result.Only(SpecCodes.WrongType);
        d.AssertAt(5, 7);
        Assert.Equal("'steps' of workflow 'sync' must be a mapping (key: value lines), but it is a list.", d.Message);
        Assert.Contains("steps: { fetch:", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_number_concurrency_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(Valid.Replace("  sync:\n", "  sync:\n    concurrency: many\n", StringComparison.Ordinal));
        var d = result.Only(SpecCodes.InvalidNumber);
        d.AssertAt(4, 18);
        Assert.Contains("'many'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Concurrency_below_one_is_out_of_range()
    {
        using var project = new TempProject();
        var result = project.Load("concurrency: 0\n" + Valid);
        result.Only(SpecCodes.NumberOutOfRange).AssertAt(1, 14);
    }

    [Fact]
    public void Bad_duration_and_bad_size_are_reported_with_the_notation_to_use()
    {
        using var project = new TempProject();
        var result = project.Load(Valid.Replace("  sync:\n", "  sync:\n    timeout: 30\n    memory: lots\n", StringComparison.Ordinal));
        var duration = result.Only(SpecCodes.InvalidDuration);
        duration.AssertAt(4, 14);
        Assert.Contains("'30s'", duration.Hint, StringComparison.Ordinal);
        var size = result.Only(SpecCodes.InvalidSize);
        size.AssertAt(5, 13);
        Assert.Contains("10MB", size.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_boolean_enabled_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(Valid.Replace("  sync:\n", "  sync:\n    enabled: maybe\n", StringComparison.Ordinal));
        result.Only(SpecCodes.InvalidBoolean).AssertAt(4, 14);
    }

    [Fact]
    public void Invalid_project_workflow_step_and_trigger_names_are_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: My Project
            workflows:
              Sync_All:
                triggers:
                  Nightly: { type: manual }
                steps:
                  fetch cases:
                    code: return state;
            """);
        var names = result.Diagnostics.Where(d => d.Code == SpecCodes.InvalidName).ToArray();
        Assert.Equal(4, names.Length);
        names[0].AssertAt(1, 7);
        Assert.Contains("'my-project'", names[0].Hint, StringComparison.Ordinal);
        names[1].AssertAt(3, 3);
        Assert.Contains("'sync-all'", names[1].Hint, StringComparison.Ordinal);
        names[2].AssertAt(5, 7);
        names[3].AssertAt(7, 7);
        Assert.Contains("'fetch-cases'", names[3].Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_name_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(Valid.Replace("name: demo\n", "", StringComparison.Ordinal));
        var d = result.Only(SpecCodes.MissingKey);
        d.AssertAt(1, 1);
        Assert.Contains("name:", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_retention_policy_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var result = project.Load(Valid + "\nretention: { policy: retain_errors, history_days: 30 }\n");
        var d = result.Only(SpecCodes.UnknownRetentionPolicy);
        d.AssertAt(7, 22);
        Assert.StartsWith("Did you mean 'retain_with_errors'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Workflow_with_no_steps_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                triggers: { go: { type: manual } }
              other:
            """);
        var errors = result.Diagnostics.Where(d => d.Code == SpecCodes.WorkflowWithoutSteps).ToArray();
        Assert.Equal(2, errors.Length);
        errors[0].AssertAt(3, 3);
        Assert.Equal("Workflow 'sync' has no steps.", errors[0].Message);
        errors[1].AssertAt(5, 3);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: Demo
            workflows:
              sync:
                concurrency: lots
                triggers:
                  nightly: { type: cron, cron: "0 25 * * *" }
                steps:
                  fetch:
                    adaptor: postgress
                    code: jobs/missing.csx
                    next: store
            """);
        Assert.NotNull(result.Project);
        Assert.Equal(
            [SpecCodes.InvalidName, SpecCodes.InvalidNumber, SpecCodes.CronInvalid, SpecCodes.UnknownAdaptor, SpecCodes.CodeFileNotFound, SpecCodes.UnknownNextStep],
            result.Diagnostics.Select(d => d.Code));
        Assert.All(result.Diagnostics, d => Assert.True(d.Location!.Line > 0));
    }

    [Fact]
    public void Five_problems_yield_five_diagnostics()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                timeout: soon
                steps:
                  fetch:
                    adaptor: htp
                    code: return state;
                    next: { stor: on_success }
                  store:
                    adaptor: http
                    credential: nobody
                    map: mappings/x.txt
            """);
        Assert.Equal(5, result.Diagnostics.Count);
        Assert.Equal(
            [SpecCodes.InvalidDuration, SpecCodes.UnknownAdaptor, SpecCodes.UnknownNextStep, SpecCodes.UnknownCredential, SpecCodes.MapFileExtension],
            result.Diagnostics.Select(d => d.Code));
    }
}
