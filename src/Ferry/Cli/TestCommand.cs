using System.CommandLine;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Testing;

namespace Ferry.Cli;

/// <summary><c>ferry test [PROJECT]</c>: runs the project's flow tests in test mode and prints a summary.</summary>
internal static class TestCommand
{
    public static Command Build()
    {
        var project = CommonOptions.Project();
        var filter = new Option<string?>("--filter") { Description = "Run only tests whose name or file contains this text." };
        var json = CommonOptions.Json();
        var command = new Command("test", "Run the flow tests in tests/*.yaml without touching any real system.") { project, filter, json };
        command.SetAction((parse, cancel) =>
        {
            var o = new Output(parse.GetValue(json));
            return FerryCommand.Guard(o, () => Execute(o, parse.GetValue(project)!, parse.GetValue(filter), cancel));
        });
        return command;
    }

    private static async Task<int> Execute(Output output, string projectPath, string? filter, CancellationToken cancel)
    {
        var workspace = ProjectWorkspace.Open(projectPath, Workspace.Options());
        output.Diagnostics(workspace.Warnings);
        var files = FlowTestLoader.Find(workspace.Project.Directory);
        var results = new List<FlowTestResult>();
        var invalid = new List<Diagnostic>();
        foreach (var file in files)
        {
            FlowTest test;
            try
            {
                test = FlowTestLoader.Load(file, Paths.Display(file));
            }
            catch (FerryInputException e)
            {
                invalid.AddRange(e.Diagnostics);
                continue;
            }
            if (filter is not null && !test.Name.Contains(filter, StringComparison.OrdinalIgnoreCase) && !test.File.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            WorkflowPlan plan;
            try
            {
                plan = workspace.Plan(test.Workflow);
            }
            catch (FerryInputException e)
            {
                invalid.AddRange(e.Diagnostics.Select(d => d with { Location = d.Location ?? new SourceLocation(test.File, 0, 0) }));
                continue;
            }
            var result = await FlowTestRunner.RunAsync(test, plan, cancel);
            results.Add(result);
            if (result.Passed)
            {
                output.Success($"✓ {test.Name} ({result.Duration.TotalMilliseconds:0} ms)");
            }
            else
            {
                output.Failure($"✗ {test.Name} ({test.File})");
                foreach (var failure in result.Failures) output.Failure($"    {failure}");
                foreach (var line in result.Run?.Log.Where(l => l.Level >= Steps.LogLevel.Warn) ?? []) output.Dim($"    log: [{line.StepId}] {line.Message}");
            }
        }
        output.Diagnostics(invalid);
        var passed = results.Count(r => r.Passed);
        var failed = results.Count - passed;
        if (files.Count == 0) output.Info("No flow tests found: add tests/*.yaml (see docs/spec.md, \"Flow tests\").");
        if (output.Json)
        {
            Output.Stdout(Js.ToJson(new
            {
                passed,
                failed,
                invalid = invalid.Select(d => d.ToString()),
                tests = results.Select(r => new { name = r.Test.Name, file = r.Test.File, passed = r.Passed, failures = r.Failures, durationMs = Math.Round(r.Duration.TotalMilliseconds, 3) }),
            }, indented: true));
        }
        else
        {
            Output.Stdout($"{passed} passed, {failed} failed");
        }
        if (invalid.Count > 0) return ExitCodes.InvalidInput;
        return failed > 0 ? ExitCodes.RunFailed : ExitCodes.Success;
    }
}
