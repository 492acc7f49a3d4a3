using System.CommandLine;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Testing;

namespace Ferry.Cli;

/// <summary><c>ferry validate [PROJECT]</c>: spec, code (compiled), conditions, mappings and flow tests; every problem at once.</summary>
internal static class ValidateCommand
{
    public static Command Build()
    {
        var project = CommonOptions.Project();
        var json = CommonOptions.Json();
        var command = new Command("validate", "Check ferry.yaml, step code, conditions, mapping specs and flow tests, reporting every problem with file:line:col.") { project, json };
        command.SetAction((parse, _) =>
        {
            var o = new Output(parse.GetValue(json));
            return FerryCommand.Guard(o, () => Task.FromResult(Execute(o, parse.GetValue(project)!)));
        });
        return command;
    }

    private static int Execute(Output output, string projectPath)
    {
        var problems = new List<Diagnostic>();
        ProjectWorkspace? workspace = null;
        try
        {
            workspace = ProjectWorkspace.Open(projectPath, Workspace.Options());
            problems.AddRange(workspace.Warnings);
        }
        catch (FerryInputException e)
        {
            problems.AddRange(e.Diagnostics);
        }
        var projectDir = workspace?.Project.Directory ?? (File.Exists(projectPath) ? Path.GetDirectoryName(Path.GetFullPath(projectPath))! : Path.GetFullPath(projectPath));
        var tests = FlowTestLoader.Find(projectDir);
        foreach (var file in tests)
        {
            try
            {
                var test = FlowTestLoader.Load(file, Paths.Display(file));
                if (workspace is not null && test.Workflow is not null && workspace.Project.FindWorkflow(test.Workflow) is null)
                    problems.Add(new Diagnostic("FERRY509", $"Flow test names workflow '{test.Workflow}', which the project does not have.", new SourceLocation(test.File, 0, 0),
                        Suggestions.DidYouMean(test.Workflow, workspace.Project.Workflows.Select(w => w.Name))));
            }
            catch (FerryInputException e)
            {
                problems.AddRange(e.Diagnostics);
            }
        }
        var errors = problems.Count(p => p.IsError);
        output.Diagnostics(problems);
        if (errors == 0 && workspace is not null)
        {
            var p = workspace.Project;
            output.Success($"✓ {p.Name} is valid: {p.Workflows.Count} workflow{(p.Workflows.Count == 1 ? "" : "s")}, {p.Workflows.Sum(w => w.Steps.Count)} steps, {tests.Count} flow test{(tests.Count == 1 ? "" : "s")}.");
        }
        else
        {
            output.Failure($"✗ {errors} problem{(errors == 1 ? "" : "s")} found.");
        }
        if (output.Json)
            Output.Stdout(Js.ToJson(new { valid = errors == 0, problems = problems.Select(d => new { code = d.Code, severity = d.Severity.ToString().ToLowerInvariant(), message = d.Message, location = d.Location?.ToString(), hint = d.Hint }) }, indented: true));
        return errors == 0 ? ExitCodes.Success : ExitCodes.InvalidInput;
    }
}
