using Ferry.Diagnostics;
using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class EdgeSpecTests
{
    [Fact]
    public void Next_to_an_unknown_step_is_reported_with_did_you_mean()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  fetch:
                    code: return state;
                    next: { to-godata: on_success }
                  to-godataa:
                    code: return state;
            """);
        var d = result.Only(SpecCodes.UnknownNextStep);
        d.AssertAt(7, 17);
        Assert.Contains("goes to 'to-godata'", d.Message, StringComparison.Ordinal);
        Assert.StartsWith("Did you mean 'to-godataa'?", d.Hint, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Diagnostics, x => x.Code == SpecCodes.UnreachableStep);
    }

    [Fact]
    public void Cycle_is_reported_with_its_path()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a:
                    code: return state;
                    next: b
                  b:
                    code: return state;
                    next: [c]
                  c:
                    code: return state;
                    next: { a: "state.data.again == true" }
            """);
        var d = result.Only(SpecCodes.Cycle);
        Assert.Equal("Workflow 'sync' has a cycle: a → b → c → a.", d.Message);
        d.AssertAt(13, 17);
    }

    [Fact]
    public void Step_that_points_at_itself_is_a_cycle()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a: { code: return state;, next: a }
            """);
        Assert.Contains("a → a", result.Only(SpecCodes.Cycle).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unreachable_step_is_a_warning()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                triggers:
                  hook: { type: webhook, next: { b: always } }
                steps:
                  a:
                    code: return state;
                  b:
                    code: return state;
                    next: { c: { condition: on_success, disabled: true } }
                  c:
                    code: return state;
            """);
        var unreachable = result.Diagnostics.Where(d => d.Code == SpecCodes.UnreachableStep).ToArray();
        Assert.Equal(2, unreachable.Length);
        unreachable[0].AssertAt(7, 7);
        Assert.Contains("Step 'a'", unreachable[0].Message, StringComparison.Ordinal);
        unreachable[1].AssertAt(12, 7);
        Assert.All(unreachable, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        Assert.False(result.HasErrors);
    }

    [Fact]
    public void Without_triggers_steps_are_reached_from_the_first_step()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a: { code: return state;, next: b }
                  b: { code: return state; }
                  lonely: { code: return state; }
            """);
        var d = result.Only(SpecCodes.UnreachableStep);
        d.AssertAt(7, 7);
        Assert.Contains("from the first step 'a'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void On_failure_from_a_trigger_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                triggers:
                  hook: { type: webhook, next: { a: on_failure } }
                steps:
                  a: { code: return state; }
            """);
        var d = result.Only(SpecCodes.TriggerEdgeOnOutcome);
        d.AssertAt(5, 41);
        Assert.Contains("a trigger has no success or failure", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_condition_is_reported()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a:
                    code: return state;
                    next:
                      b: ""
                      c: { condition: " " }
                  b: { code: return state; }
                  c: { code: return state; }
            """);
        var empty = result.Diagnostics.Where(d => d.Code == SpecCodes.EmptyExpression).ToArray();
        Assert.Equal(2, empty.Length);
        empty[0].AssertAt(8, 14);
        empty[1].AssertAt(9, 27);
    }

    [Fact]
    public void Misspelt_condition_keyword_is_not_taken_for_an_expression()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                steps:
                  a: { code: return state;, next: { b: on_sucess } }
                  b: { code: return state; }
            """);
        var d = result.Only(SpecCodes.InvalidValue);
        d.AssertAt(5, 44);
        Assert.StartsWith("Did you mean 'on_success'?", d.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Edge_forms_are_read_with_expression_locations()
    {
        using var project = new TempProject();
        var result = project.Load("""
            name: demo
            workflows:
              sync:
                triggers:
                  hook: { type: webhook, next: { a: "state.data.kind == \"case\"", b: true } }
                steps:
                  a:
                    code: return state;
                    next:
                      c: on_success
                      d: { condition: state.data.count > 0, label: has rows }
                      e: { disabled: true }
                  b: { code: return state;, next: [c, d] }
                  c: { code: return state;, next: e }
                  d: { code: return state; }
                  e: { code: return state; }
            """);
        result.AssertNoErrors();
        var workflow = result.Project!.Workflows[0];
        var hook = workflow.Triggers[0].Next;
        Assert.Equal(EdgeConditionKind.Expression, hook[0].Condition);
        Assert.Equal("state.data.kind == \"case\"", hook[0].Expression);
        Assert.Equal((5, 42), (hook[0].Location.Line, hook[0].Location.Column));
        Assert.Equal(EdgeConditionKind.Always, hook[1].Condition);

        var a = workflow.FindStep("a")!.Next;
        Assert.Equal(["c", "d", "e"], a.Select(e => e.Target));
        Assert.Equal(EdgeConditionKind.OnSuccess, a[0].Condition);
        Assert.Equal((EdgeConditionKind.Expression, "state.data.count > 0", "has rows"), (a[1].Condition, a[1].Expression, a[1].Label));
        Assert.Equal((11, 27), (a[1].Location.Line, a[1].Location.Column));
        Assert.Equal((11, 11), (a[1].TargetLocation!.Line, a[1].TargetLocation!.Column));
        Assert.True(a[2].Disabled);
        Assert.Equal(EdgeConditionKind.Always, a[2].Condition);
        Assert.All(workflow.FindStep("b")!.Next, e => Assert.Equal(EdgeConditionKind.Always, e.Condition));
        Assert.Equal("e", Assert.Single(workflow.FindStep("c")!.Next).Target);
    }
}
