using Ferry.Engine;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Spec;

namespace Ferry.Tests.Engine;

public class WorkflowRunnerTests
{
    private static StepCode Code(Func<StepGlobals, object?> body) =>
        new(g => Task.FromResult(body(g)), e => new StepFailure(e.GetType().Name, e.Message));

    private static StepCode CodeAsync(Func<StepGlobals, Task<object?>> body) =>
        new(body, e => new StepFailure(e.GetType().Name, e.Message));

    private static PlannedEdge Edge(string target, EdgeConditionKind kind = EdgeConditionKind.Always) => new() { Target = target, Kind = kind };

    private static WorkflowPlan Plan(params PlannedStep[] steps) => new("p", "w", steps, []);

    [Fact]
    public async Task Success_and_failure_edges_pick_the_branch_and_the_run_fails_only_when_a_leaf_failed()
    {
        var plan = Plan(
            new PlannedStep { Id = "fetch", Code = Code(_ => throw new InvalidOperationException("source down")), Next = [Edge("upload", EdgeConditionKind.OnSuccess), Edge("alert", EdgeConditionKind.OnFailure)] },
            new PlannedStep { Id = "upload", Code = Code(g => { g.state.uploaded = true; return null; }) },
            new PlannedStep { Id = "alert", Code = Code(g => { g.state.alerted = true; return null; }) });

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());

        Assert.Equal(["fetch", "alert"], result.Steps.Select(s => s.StepId));
        Assert.Equal(RunStatus.Success, result.Status); // the failure was handled by a leaf that succeeded
        dynamic final = result.FinalState;
        Assert.True((bool)final.alerted);
        Assert.Equal("source down", (string)final.errors.fetch.message);
    }

    [Fact]
    public async Task A_failed_leaf_fails_the_run_with_its_error()
    {
        var plan = Plan(new PlannedStep { Id = "only", Code = Code(_ => throw new FormatException("bad date '13/45/2024'")) });
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Contains("bad date", result.Error!.Message);
    }

    [Fact]
    public async Task Each_branch_gets_its_own_copy_of_state()
    {
        var plan = Plan(
            new PlannedStep { Id = "start", Code = Code(g => { g.state.data = new { n = 1 }; return null; }), Next = [Edge("a"), Edge("b")] },
            new PlannedStep { Id = "a", Code = Code(g => { g.state.data.n = 2; return null; }) },
            new PlannedStep { Id = "b", Code = Code(g => { g.state.data.seenByB = g.state.data.n; return null; }) });

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());

        dynamic final = result.FinalState; // two leaves: keyed by step id
        Assert.Equal(2, (int)final.a.data.n);
        Assert.Equal(1, (int)final.b.data.seenByB);
    }

    [Fact]
    public async Task Expression_edges_are_evaluated_on_the_output_state()
    {
        var plan = Plan(
            new PlannedStep
            {
                Id = "count",
                Code = Code(g => { g.state.count = 3; return null; }),
                Next =
                [
                    new PlannedEdge { Target = "many", Kind = EdgeConditionKind.Expression, Condition = (s, _) => (int)((dynamic)s).count > 2 },
                    new PlannedEdge { Target = "few", Kind = EdgeConditionKind.Expression, Condition = (s, _) => (int)((dynamic)s).count <= 2 },
                ],
            },
            new PlannedStep { Id = "many", Code = Code(_ => null) },
            new PlannedStep { Id = "few", Code = Code(_ => null) });

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());
        Assert.Equal(["count", "many"], result.Steps.Select(s => s.StepId));
    }

    [Fact]
    public async Task Start_and_only_select_where_the_run_begins_and_ends()
    {
        var plan = Plan(
            new PlannedStep { Id = "a", Code = Code(_ => null), Next = [Edge("b")] },
            new PlannedStep { Id = "b", Code = Code(_ => null), Next = [Edge("c")] },
            new PlannedStep { Id = "c", Code = Code(_ => null) });

        var fromB = await WorkflowRunner.RunAsync(plan, new RunOptions { StartStep = "b" });
        var onlyB = await WorkflowRunner.RunAsync(plan, new RunOptions { OnlyStep = "b" });

        Assert.Equal(["b", "c"], fromB.Steps.Select(s => s.StepId));
        Assert.Equal(["b"], onlyB.Steps.Select(s => s.StepId));
        var unknown = await Assert.ThrowsAsync<Ferry.Diagnostics.FerryInputException>(() => WorkflowRunner.RunAsync(plan, new RunOptions { StartStep = "bb" }));
        Assert.Contains("Did you mean 'b'?", unknown.Message);
    }

    [Fact]
    public async Task Configuration_is_injected_from_the_credential_stripped_from_output_and_scrubbed_from_logs()
    {
        var plan = Plan(new PlannedStep
        {
            Id = "s",
            Credential = "api",
            Code = Code(g =>
            {
                string password = g.state.configuration.password;
                g.log.Info($"using {password}");
                g.state.echo = "token=" + password;
                return null;
            }),
        });
        var creds = new Dictionary<string, JsObject> { ["api"] = (JsObject)Js.Parse("""{"username":"u","password":"s3cret-value"}""")! };

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions { Credentials = creds });

        Assert.Equal(RunStatus.Success, result.Status);
        Assert.False(result.FinalState.Has("configuration"));
        Assert.Equal("token=***", (string)((dynamic)result.FinalState).echo);
        Assert.Contains(result.Log, l => l.Message == "using ***");
        Assert.DoesNotContain(result.Log, l => l.Message.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_credential_crashes_the_step_with_what_to_do()
    {
        var plan = Plan(new PlannedStep { Id = "s", Credential = "db", Code = Code(_ => null) });
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());
        Assert.Equal(RunStatus.Crashed, result.Status);
        Assert.Contains("--credentials", result.Error!.Message);
    }

    [Fact]
    public async Task A_step_blocked_in_an_await_past_its_budget_is_killed_and_the_run_stops()
    {
        var plan = Plan(
            new PlannedStep { Id = "slow", Timeout = TimeSpan.FromMilliseconds(100), Code = CodeAsync(async g => { await Task.Delay(10_000); return null; }), Next = [Edge("after")] },
            new PlannedStep { Id = "after", Code = Code(_ => null) });

        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());

        Assert.Equal(RunStatus.Killed, result.Status);
        Assert.Single(result.Steps);
        Assert.Contains("time budget", result.Error!.Message);
    }

    [Fact]
    public async Task A_step_that_returns_a_non_object_fails_with_a_clear_message()
    {
        var plan = Plan(new PlannedStep { Id = "s", Code = Code(_ => 42) });
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Contains("must leave state as a JSON object", result.Error!.Message);
    }

    [Fact]
    public async Task Returned_objects_replace_state_and_logs_carry_step_and_level()
    {
        var plan = Plan(new PlannedStep { Id = "s", Code = Code(g => { g.log.Warn("careful"); return new { data = new[] { 1, 2 } }; }) });
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions());
        Assert.Equal("""{"data":[1,2]}""", Js.ToJson(result.FinalState));
        Assert.Contains(result.Log, l => l.StepId == "s" && l.Level == Ferry.Steps.LogLevel.Warn && l.Message == "careful");
    }
}

public class BuiltInAdaptorsTests
{
    [Fact]
    public void The_listed_catalog_holds_every_adaptor_class_in_the_assembly()
    {
        var scanned = new Ferry.Adaptors.AdaptorCatalog([typeof(Ferry.Adaptors.BuiltInAdaptors).Assembly]).Names.Order();
        Assert.Equal(scanned, Ferry.Adaptors.BuiltInAdaptors.Catalog.Names.Order());
    }
}
