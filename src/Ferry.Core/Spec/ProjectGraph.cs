using Ferry.Diagnostics;

namespace Ferry.Spec;

/// <summary>A cycle between steps, written as its path (<c>a → b → a</c>), and the edge that closes it.</summary>
public sealed record GraphCycle(IReadOnlyList<string> Steps, EdgeSpec ClosingEdge);

/// <summary>Graph questions the engine and the validator ask of a workflow (triggers → steps, joined by edges).</summary>
public static class ProjectGraph
{
    /// <summary>
    /// The edges a trigger starts a run with: its enabled <c>next</c> edges, or, when it names none, an <c>always</c>
    /// edge into the first step. A null trigger (a manual start, or a workflow without triggers) starts at the first step.
    /// </summary>
    public static IReadOnlyList<EdgeSpec> StartEdges(WorkflowSpec workflow, TriggerSpec? trigger)
    {
        if (trigger is not null && trigger.Next.Count > 0) return trigger.Next.Where(e => !e.Disabled).ToArray();
        if (workflow.Steps.Count == 0) return [];
        return [new EdgeSpec { Target = workflow.Steps[0].Id, Location = trigger?.Location ?? workflow.Location }];
    }

    /// <summary>The steps a trigger can start (see <see cref="StartEdges"/>), whatever their conditions, in written order.</summary>
    public static IReadOnlyList<StepSpec> StartSteps(WorkflowSpec workflow, TriggerSpec? trigger)
    {
        var targets = StartEdges(workflow, trigger).Select(e => e.Target).ToHashSet(StringComparer.Ordinal);
        return workflow.Steps.Where(s => targets.Contains(s.Id)).ToArray();
    }

    /// <summary>Ids of the steps reachable from <paramref name="fromStep"/> along enabled edges, itself included (empty if it is unknown).</summary>
    public static IReadOnlySet<string> Reachable(WorkflowSpec workflow, string fromStep) => ReachableFrom(workflow, [fromStep]);

    /// <summary>Steps that no trigger can reach (or, without triggers, that the first step cannot reach), in written order.</summary>
    public static IReadOnlyList<StepSpec> Unreachable(WorkflowSpec workflow)
    {
        var starts = workflow.Triggers.Count == 0
            ? StartSteps(workflow, null).Select(s => s.Id)
            : workflow.Triggers.SelectMany(t => StartSteps(workflow, t)).Select(s => s.Id);
        var reached = ReachableFrom(workflow, starts);
        return workflow.Steps.Where(s => !reached.Contains(s.Id)).ToArray();
    }

    /// <summary>Edges into a step, with the step they leave (triggers are not included).</summary>
    public static IReadOnlyList<(StepSpec From, EdgeSpec Edge)> IncomingEdges(WorkflowSpec workflow, string stepId) =>
        workflow.Steps.SelectMany(s => s.Next.Where(e => e.Target == stepId).Select(e => (s, e))).ToArray();

    /// <summary>
    /// Steps ordered so that every step comes after the steps with edges into it; ties keep the written order.
    /// Throws <see cref="FerryInputException"/> (FERRY051) when the workflow has a cycle.
    /// </summary>
    public static IReadOnlyList<StepSpec> TopologicalOrder(WorkflowSpec workflow)
    {
        var index = workflow.Steps.Select((s, i) => (s.Id, i)).GroupBy(x => x.Id).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        var inDegree = new int[workflow.Steps.Count];
        foreach (var step in workflow.Steps)
        {
            foreach (var target in Targets(step, index)) inDegree[target]++;
        }
        var ready = new PriorityQueue<int, int>();
        for (var i = 0; i < inDegree.Length; i++)
        {
            if (inDegree[i] == 0) ready.Enqueue(i, i);
        }
        var order = new List<StepSpec>(workflow.Steps.Count);
        while (ready.TryDequeue(out var i, out _))
        {
            order.Add(workflow.Steps[i]);
            foreach (var target in Targets(workflow.Steps[i], index))
            {
                if (--inDegree[target] == 0) ready.Enqueue(target, target);
            }
        }
        if (order.Count < workflow.Steps.Count && FindCycles(workflow) is [var cycle, ..])
        {
            throw new FerryInputException(SpecCodes.Cycle, $"Workflow '{workflow.Name}' has a cycle: {string.Join(" → ", cycle.Steps)}.",
                cycle.ClosingEdge.TargetLocation ?? cycle.ClosingEdge.Location, "Remove or redirect one of these edges.");
        }
        return order;
    }

    /// <summary>Every distinct cycle among the steps (disabled edges included: they may be switched on), each once.</summary>
    public static IReadOnlyList<GraphCycle> FindCycles(WorkflowSpec workflow)
    {
        var byId = workflow.Steps.GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1: on the current path, 2: done
        var path = new List<string>();
        var cycles = new List<GraphCycle>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        void Visit(StepSpec step)
        {
            state[step.Id] = 1;
            path.Add(step.Id);
            foreach (var edge in step.Next)
            {
                if (!byId.TryGetValue(edge.Target, out var next)) continue;
                var mark = state.GetValueOrDefault(next.Id);
                if (mark == 0) Visit(next);
                else if (mark == 1)
                {
                    var steps = path.Skip(path.LastIndexOf(next.Id)).Append(next.Id).ToArray();
                    var key = string.Join("\n", steps.Skip(1).Order(StringComparer.Ordinal));
                    if (seen.Add(key)) cycles.Add(new GraphCycle(steps, edge));
                }
            }
            path.RemoveAt(path.Count - 1);
            state[step.Id] = 2;
        }

        foreach (var step in byId.Values)
        {
            if (state.GetValueOrDefault(step.Id) == 0) Visit(step);
        }
        return cycles;
    }

    private static IEnumerable<int> Targets(StepSpec step, Dictionary<string, int> index) =>
        step.Next.Select(e => index.TryGetValue(e.Target, out var i) ? i : -1).Where(i => i >= 0).Distinct();

    private static HashSet<string> ReachableFrom(WorkflowSpec workflow, IEnumerable<string> starts)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<StepSpec>(starts.Select(workflow.FindStep).OfType<StepSpec>());
        while (pending.TryPop(out var step))
        {
            if (!reached.Add(step.Id)) continue;
            foreach (var edge in step.Next.Where(e => !e.Disabled))
            {
                if (workflow.FindStep(edge.Target) is { } next && !reached.Contains(next.Id)) pending.Push(next);
            }
        }
        return reached;
    }
}
