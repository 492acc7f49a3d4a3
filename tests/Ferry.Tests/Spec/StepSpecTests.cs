using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class StepSpecTests
{
    /// <summary>A project with one step 'fetch' (line 6, column 7) whose keys start at line 7, column 9.</summary>
    private static string OneStep(string stepBody, string credentials = "") => $"""
        name: demo
        {credentials}
        workflows:
          sync:
            steps:
              fetch:
        {string.Join("\n", stepBody.Split('\n').Select(l => "        " + l))}
        """;

    [Fact]
    public void Missing_code_file_is_reported_with_the_resolved_path_and_a_close_file()
    {
        using var project = new TempProject();
        project.Write("jobs/fetch-cases.csx", "return state;");
        var result = project.Load(OneStep("code: jobs/fetch-case.csx"));
        var d = result.Only(SpecCodes.CodeFileNotFound);
        d.AssertAt(7, 15);
        Assert.Contains("jobs/fetch-case.csx", d.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(project.Directory, "jobs/fetch-case.csx"), d.Message, StringComparison.Ordinal);
        Assert.StartsWith("Did you mean 'jobs/fetch-cases.csx'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_mapping_file_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("map: mappings/case.yaml"));
        var d = result.Only(SpecCodes.MapFileNotFound);
        d.AssertAt(7, 14);
        Assert.Contains("mappings/case.yaml", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_file_with_the_wrong_extension_is_reported()
    {
        using var project = new TempProject();
        project.Write("jobs/fetch.cs", "return state;");
        var d = project.Load(OneStep("code: jobs/fetch.cs")).Only(SpecCodes.CodeFileExtension);
        d.AssertAt(7, 15);
        Assert.Contains("jobs/fetch.csx", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Mapping_file_with_the_wrong_extension_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(OneStep("map: mappings/case.json")).Only(SpecCodes.MapFileExtension);
        d.AssertAt(7, 14);
        Assert.Contains(".yaml", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_path_outside_the_project_is_refused()
    {
        using var project = new TempProject();
        var d = project.Load(OneStep("code: ../elsewhere/job.csx")).Only(SpecCodes.InvalidValue);
        d.AssertAt(7, 15);
        Assert.Contains("outside the project folder", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_with_neither_code_nor_map_is_reported()
    {
        using var project = new TempProject();
        var d = project.Load(OneStep("adaptor: http")).Only(SpecCodes.StepWithoutWork);
        d.AssertAt(6, 7);
        Assert.Contains("code: jobs/fetch.csx", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_adaptor_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var d = project.Load(OneStep("adaptor: postgress\ncode: return state;")).Only(SpecCodes.UnknownAdaptor);
        d.AssertAt(7, 18);
        Assert.Equal("Unknown adaptor 'postgress' in step 'fetch' of workflow 'sync'.", d.Message);
        Assert.StartsWith("Did you mean 'postgres'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_adaptor_of_a_credential_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("code: return state;", "credentials: { db: { adaptor: postgre } }"));
        var d = result.Only(SpecCodes.UnknownAdaptor);
        d.AssertAt(2, 31);
        Assert.StartsWith("Did you mean 'postgres'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Undeclared_credential_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("adaptor: postgres\ncredential: hmis\ncode: return state;",
            "credentials: { hmis-db: { adaptor: postgres } }"));
        var d = result.Only(SpecCodes.UnknownCredential);
        d.AssertAt(8, 21);
        Assert.StartsWith("Did you mean 'hmis-db'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_for_another_adaptor_kind_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("adaptor: http\ncredential: hmis-db\ncode: return state;",
            "credentials: { hmis-db: { adaptor: postgres }, api: http }"));
        var d = result.Only(SpecCodes.CredentialAdaptorMismatch);
        d.AssertAt(8, 21);
        Assert.Contains("declared for adaptor 'postgres'", d.Message, StringComparison.Ordinal);
        Assert.Contains("(api)", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_without_adaptor_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("credential: hmis-db\ncode: return state;",
            "credentials: { hmis-db: { adaptor: postgres } }"));
        var d = result.Only(SpecCodes.CredentialWithoutAdaptor);
        d.AssertAt(7, 21);
        Assert.Contains("adaptor: postgres", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Inline_block_code_location_is_its_first_line_and_indentation()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  fetch:
                    code: |
                      var n = 1;
                      state.data = n;
            """);
        result.AssertNoErrors();
        var step = result.Project!.Workflows[0].Steps[0];
        Assert.Equal("var n = 1;\nstate.data = n;", step.Code);
        Assert.Null(step.CodeFile);
        Assert.Equal(7, step.CodeLocation!.Line);
        Assert.Equal(11, step.CodeLocation.Column);
        Assert.Equal(result.Project.SpecFile, Path.GetFullPath(Path.Combine(project.Directory, "ferry.yaml")));
    }

    [Fact]
    public void One_line_inline_code_location_is_the_value()
    {
        using var project = new TempProject();
        var result = project.Load(OneStep("code: \"return state;\""));
        var step = result.Project!.Workflows[0].Steps[0];
        Assert.Equal("return state;", step.Code);
        Assert.Equal(7, step.CodeLocation!.Line);
        Assert.Equal(16, step.CodeLocation.Column);
    }

    [Fact]
    public void Code_file_is_read_and_located_at_its_first_line()
    {
        using var project = new TempProject();
        project.Write("jobs/fetch.csx", "state.data = 42;\n");
        var result = project.Load(OneStep("code: jobs/fetch.csx"));
        result.AssertNoErrors();
        var step = result.Project!.Workflows[0].Steps[0];
        Assert.Equal("state.data = 42;\n", step.Code);
        Assert.Equal("jobs/fetch.csx", step.CodeFile);
        Assert.Equal(1, step.CodeLocation!.Line);
        Assert.Equal(1, step.CodeLocation.Column);
        Assert.EndsWith("jobs/fetch.csx", step.CodeLocation.File, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(project.Directory, "jobs/fetch.csx"), Path.GetFullPath(step.CodeLocation.File));
    }
}
