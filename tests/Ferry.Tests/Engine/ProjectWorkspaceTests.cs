using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Json;

namespace Ferry.Tests.Engine;

/// <summary>Loading, compiling and planning a whole project: every problem at once, each at its place.</summary>
public sealed class ProjectWorkspaceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-workspace").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static WorkspaceOptions Options => new() { Catalog = BuiltInAdaptors.Catalog };

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Conditions_code_and_mapping_specs_are_all_checked_and_reported_together()
    {
        Write("ferry.yaml", """
            name: checks
            workflows:
              main:
                steps:
                  first:
                    code: |
                      state.n = 1;
                      state.m = undefinedName;
                    next:
                      second: "state.n >>> 2"
                  second:
                    map: mappings/m.yaml
            """);
        Write("mappings/m.yaml", "fields:\n  - { target: a, sorce: b }\n");

        var e = Assert.Throws<FerryInputException>(() => ProjectWorkspace.Open(_dir, Options));

        Assert.Contains(e.Diagnostics, d => d.Code == "FERRY200" && d.Location!.Line == 8 && d.Message.Contains("undefinedName", StringComparison.Ordinal));
        Assert.Contains(e.Diagnostics, d => d.Location!.Line == 10 && d.Location.File.EndsWith("ferry.yaml", StringComparison.Ordinal));
        Assert.Contains(e.Diagnostics, d => d.Location!.File.EndsWith("m.yaml", StringComparison.Ordinal) && d.Location.Line == 2 && (d.Hint ?? "").Contains("source", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_planned_workflow_runs_its_compiled_condition_and_mapping()
    {
        Write("ferry.yaml", """
            name: ok
            workflows:
              main:
                steps:
                  map:
                    map: mappings/m.yaml
                    next: { big: "state.data.Length > 1", small: "state.data.Length <= 1" }
                  big:
                    code: state.route = "big";
                  small:
                    code: state.route = "small";
            """);
        Write("mappings/m.yaml", "fields:\n  - { target: id, source: code }\n");
        var plan = ProjectWorkspace.Open(_dir, Options).Plan(null);

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions { Input = (JsObject)Js.Parse("""{"data":[{"code":"a"},{"code":"b"}]}""")! });

        Assert.Equal(RunStatus.Success, result.Status);
        Assert.Equal(["map", "big"], result.Steps.Select(s => s.StepId));
        Assert.Equal("""{"data":[{"id":"a"},{"id":"b"}],"route":"big"}""", Js.ToJson(result.FinalState));
    }
}
