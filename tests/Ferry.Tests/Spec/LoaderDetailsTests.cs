using Ferry.Diagnostics;
using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class LoaderDetailsTests
{
    [Fact]
    public void Path_to_the_yaml_file_itself_is_accepted()
    {
        using var project = new TempProject();
        project.Write("custom.yaml", "name: demo\nworkflows:\n  sync:\n    steps: { a: { code: return state; } }\n");
        var result = ProjectLoader.Load(Path.Combine(project.Directory, "custom.yaml"), new ProjectLoadOptions());
        result.AssertNoErrors();
        Assert.Equal(Path.Combine(project.Directory, "custom.yaml"), result.Project!.SpecFile);
        Assert.Equal(project.Directory, result.Project.Directory);
    }

    [Fact]
    public void Anchors_and_merge_keys_share_settings_and_local_keys_win()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            credentials: { db: { adaptor: postgres } }
            workflows:
              sync:
                steps:
                  a: &pg { adaptor: postgres, credential: db, code: return state;, timeout: 30s, next: b }
                  b:
                    <<: *pg
                    timeout: 1m
                    next: []
            """);
        result.AssertNoErrors();
        var b = result.Project!.Workflows[0].FindStep("b")!;
        Assert.Equal(("postgres", "db", "return state;"), (b.Adaptor, b.Credential, b.Code));
        Assert.Equal(TimeSpan.FromMinutes(1), b.Timeout);
        Assert.Empty(b.Next);
    }

    [Fact]
    public void Second_yaml_document_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("name: demo\nworkflows:\n  sync:\n    steps: { a: { code: return state; } }\n---\nname: other\n");
        Assert.Equal("demo", result.Project!.Name);
        result.Only(SpecCodes.MoreThanOneDocument);
    }

    [Fact]
    public void False_condition_asks_for_disabled_instead()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a: { code: return state;, next: { b: false } }
                  b: { code: return state; }
            """);
        var d = result.Only(SpecCodes.FalseCondition);
        d.AssertAt(5, 44);
        Assert.Contains("disabled: true", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_credential_with_auth_none_is_a_warning()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            credentials: { key: http }
            workflows:
              sync:
                triggers: { hook: { type: webhook, auth: none, credential: key } }
                steps: { a: { code: return state; } }
            """);
        var d = result.Only(SpecCodes.WebhookCredentialIgnored);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        d.AssertAt(5, 64);
        Assert.False(result.HasErrors);
    }

    [Fact]
    public void Max_backoff_shorter_than_backoff_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                retry: { attempts: 3, backoff: 5m, max_backoff: 30s }
                steps: { a: { code: return state; } }
            """);
        var d = result.Only(SpecCodes.NumberOutOfRange);
        d.AssertAt(4, 53);
        Assert.Contains("(30s) is shorter than 'backoff' (5m)", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_already_in_memory_is_loaded_against_its_folder()
    {
        using var project = new TempProject();
        project.Write("jobs/a.csx", "return state;");
        var result = ProjectLoader.LoadText("name: demo\nworkflows:\n  sync:\n    steps: { a: { code: jobs/a.csx } }\n",
            project.SpecFile, new ProjectLoadOptions());
        result.AssertNoErrors();
        Assert.Equal("return state;", result.Project!.Workflows[0].Steps[0].Code);
        Assert.False(File.Exists(project.SpecFile));
    }

    [Fact]
    public void Diagnostics_render_as_file_line_column_code_message_and_hint()
    {
        using var project = new TempProject();
        var d = project.Load("name: demo\nworkflows:\n  sync:\n    steps: { a: { code: return state;, next: bb } }\n  other:\n    steps: { b: { code: return state; } }\n")
            .Only(SpecCodes.UnknownNextStep);
        Assert.Equal($"{project.SpecFile}:4:46: error FERRY050: The 'next' of step 'a' in workflow 'sync' goes to 'bb', which is not a step of this workflow. Steps of 'sync': a.",
            d.ToString());
    }
}
