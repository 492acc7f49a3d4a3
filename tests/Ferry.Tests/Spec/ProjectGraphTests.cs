using Ferry.Diagnostics;
using Ferry.Spec;

namespace Ferry.Tests.Spec;

public class ProjectGraphTests
{
    private static WorkflowSpec Load(TempProject project, string steps, string triggers = "")
    {
        var result = project.Load($"""
            name: demo
            workflows:
              sync:
            {triggers}
                steps:
            {steps}
            """);
        return result.Project!.Workflows[0];
    }

    [Fact]
    public void Topological_order_puts_every_step_after_its_predecessors_and_keeps_written_order_for_ties()
    {
        using var project = new TempProject();
        var workflow = Load(project, """
                  report: { code: return state; }
                  fetch: { code: return state;, next: [clean, enrich] }
                  enrich: { code: return state;, next: report }
                  clean: { code: return state;, next: enrich }
            """);
        Assert.Equal(["fetch", "clean", "enrich", "report"], ProjectGraph.TopologicalOrder(workflow).Select(s => s.Id));
    }

    [Fact]
    public void Topological_order_of_a_cyclic_workflow_throws_with_the_cycle()
    {
        using var project = new TempProject();
        var workflow = Load(project, """
                  a: { code: return state;, next: b }
                  b: { code: return state;, next: a }
            """);
        var e = Assert.Throws<FerryInputException>(() => ProjectGraph.TopologicalOrder(workflow));
        Assert.Equal(SpecCodes.Cycle, e.Diagnostics[0].Code);
        Assert.Contains("a → b → a", e.Diagnostics[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_steps_follow_trigger_next_or_default_to_the_first_step()
    {
        using var project = new TempProject();
        var workflow = Load(project, """
                  a: { code: return state; }
                  b: { code: return state; }
                  c: { code: return state; }
            """, """
                triggers:
                  plain: { type: manual }
                  routed: { type: webhook, next: { c: always, b: "state.data != null" } }
            """);
        Assert.Equal(["a"], ProjectGraph.StartSteps(workflow, workflow.Triggers[0]).Select(s => s.Id));
        Assert.Equal(["b", "c"], ProjectGraph.StartSteps(workflow, workflow.Triggers[1]).Select(s => s.Id));
        Assert.Equal(["c", "b"], ProjectGraph.StartEdges(workflow, workflow.Triggers[1]).Select(e => e.Target));
        Assert.Equal(["a"], ProjectGraph.StartSteps(workflow, null).Select(s => s.Id));
    }

    [Fact]
    public void Reachable_follows_enabled_edges_only()
    {
        using var project = new TempProject();
        var workflow = Load(project, """
                  a: { code: return state;, next: { b: on_success, c: { disabled: true } } }
                  b: { code: return state;, next: d }
                  c: { code: return state; }
                  d: { code: return state; }
            """);
        Assert.Equal(["a", "b", "d"], ProjectGraph.Reachable(workflow, "a").Order());
        Assert.Equal(["b", "d"], ProjectGraph.Reachable(workflow, "b").Order());
        Assert.Empty(ProjectGraph.Reachable(workflow, "nope"));
        Assert.Equal(["c"], ProjectGraph.Unreachable(workflow).Select(s => s.Id));
        Assert.Equal(["b"], ProjectGraph.IncomingEdges(workflow, "d").Select(x => x.From.Id));
    }
}
