using Ferry.Diagnostics;

namespace Ferry.Spec;

internal sealed partial class SpecReader
{
    internal static readonly string[] EdgeKeys = ["condition", "label", "disabled"];
    private static readonly string[] ConditionKeywords = ["on_success", "on_failure", "always"];

    /// <summary>
    /// <c>next:</c> as a single target, a list of targets (always), or a mapping of target to condition
    /// (<c>on_success</c>, <c>on_failure</c>, <c>always</c>, <c>true</c>, a C# expression, or <c>{ condition, label, disabled }</c>).
    /// </summary>
    private List<EdgeSpec> ReadNext(YNode node, string where, bool fromTrigger)
    {
        var edges = new List<EdgeSpec>();
        switch (node)
        {
            case YScalar { IsNull: true }:
                break;
            case YScalar target:
                edges.Add(new EdgeSpec { Target = target.Value, Location = At(target), TargetLocation = At(target) });
                break;
            case YSeq list:
                foreach (var item in list.Items)
                {
                    if (item is YScalar { IsNull: false } t)
                    {
                        if (edges.Any(e => e.Target == t.Value))
                            Error(SpecCodes.DuplicateKey, $"'{t.Value}' is listed twice in the 'next' of {where}.", t, "List each next step once.");
                        else edges.Add(new EdgeSpec { Target = t.Value, Location = At(t), TargetLocation = At(t) });
                    }
                    else
                    {
                        Error(SpecCodes.WrongType, $"An entry of the 'next' list of {where} is {item.Kind}, not a step id.", item,
                            "A 'next' list holds step ids (each runs always); to give conditions write a mapping: next: { step-a: on_success, step-b: on_failure }.");
                    }
                }
                break;
            case YMap map:
                ReportDuplicates(map, $"the 'next' of {where}", SpecCodes.DuplicateKey, n => $"The 'next' of {where} names '{n}' twice.");
                foreach (var (key, value) in map.Entries)
                {
                    if (ReadEdge(key, value, where, fromTrigger) is { } edge) edges.Add(edge);
                }
                break;
        }
        return edges;
    }

    private EdgeSpec? ReadEdge(YScalar target, YNode value, string where, bool fromTrigger)
    {
        var edgeWhere = $"the edge to '{target.Value}' in {where}";
        YNode? conditionNode = value;
        string? label = null;
        var disabled = false;
        if (value is YMap map)
        {
            CheckKeys(map, edgeWhere, EdgeKeys);
            conditionNode = map["condition"];
            label = map["label"] is { } l ? ReadString(l, $"the 'label' of {edgeWhere}") : null;
            disabled = map["disabled"] is { } d && (ReadBool(d, $"'disabled' of {edgeWhere}") ?? false);
        }
        else if (value is YSeq)
        {
            Error(SpecCodes.WrongType, $"The condition of {edgeWhere} is a list.", value,
                "Write one condition: on_success, on_failure, always, true, a C# expression in quotes, or { condition: …, label: …, disabled: true }.");
            return null;
        }

        if (conditionNode is null)
            return new EdgeSpec { Target = target.Value, Label = label, Disabled = disabled, Location = At(target), TargetLocation = At(target) };
        if (conditionNode is not YScalar condition)
        {
            ReadString(conditionNode, $"the condition of {edgeWhere}");
            return null;
        }
        var text = condition.IsNull ? "" : condition.Value.Trim();
        if (text.Length == 0)
        {
            Error(SpecCodes.EmptyExpression, $"The condition of {edgeWhere} is empty.", condition,
                "Write always, on_success, on_failure, or a C# boolean expression over state such as \"state.data.count > 0\".");
            return null;
        }

        var kind = EdgeConditionKind.Expression;
        string? expression = null;
        switch (text)
        {
            case "always" or "true" or "True" or "TRUE":
                kind = EdgeConditionKind.Always;
                break;
            case "on_success":
                kind = EdgeConditionKind.OnSuccess;
                break;
            case "on_failure":
                kind = EdgeConditionKind.OnFailure;
                break;
            case "false" or "False" or "FALSE":
                Error(SpecCodes.FalseCondition, $"The condition of {edgeWhere} is false, so the edge could never be taken.", condition,
                    $"To switch the edge off for now, write {target.Value}: {{ condition: always, disabled: true }}; otherwise remove it.");
                return null;
            default:
                if (IsMisspeltKeyword(text) is { } keyword)
                {
                    Error(SpecCodes.InvalidValue, $"Unknown edge condition '{text}' in {edgeWhere}.", condition,
                        $"Did you mean '{keyword}'? Conditions are on_success, on_failure, always, true, or a C# expression over state.");
                    return null;
                }
                expression = condition.Value.Trim();
                break;
        }
        if (fromTrigger && kind is EdgeConditionKind.OnSuccess or EdgeConditionKind.OnFailure)
        {
            Error(SpecCodes.TriggerEdgeOnOutcome, $"The edge to '{target.Value}' in {where} is '{text}', but a trigger has no success or failure.", condition,
                "Edges from a trigger are 'always' or a C# expression over the input state (e.g. \"state.data.form_type == \\\"registration\\\"\").");
            return null;
        }
        return new EdgeSpec
        {
            Target = target.Value,
            Condition = kind,
            Expression = expression,
            Label = label,
            Disabled = disabled,
            Location = kind == EdgeConditionKind.Expression ? ExpressionLocation(condition) : At(target),
            TargetLocation = At(target),
        };
    }

    /// <summary>Where the expression text starts, so a compile error at column c maps to Column + c - 1.</summary>
    private SourceLocation ExpressionLocation(YScalar condition)
    {
        var location = AtText(condition);
        if (condition.IsBlock || condition.IsQuoted) return location;
        var leading = condition.Value.Length - condition.Value.TrimStart().Length;
        return location with { Column = location.Column + leading };
    }

    private static string? IsMisspeltKeyword(string text)
    {
        if (!text.All(c => char.IsAsciiLetterLower(c) || c == '_') || !text.Contains('_')) return null;
        return Suggestions.Closest(text, ConditionKeywords);
    }

    /// <summary>Edge targets, cycles and unreachable steps of one workflow.</summary>
    private void CheckGraph(WorkflowSpec workflow)
    {
        var ids = workflow.Steps.Select(s => s.Id).ToArray();
        var edges = workflow.Steps.SelectMany(s => s.Next.Select(e => (From: $"step '{s.Id}'", Edge: e)))
            .Concat(workflow.Triggers.SelectMany(t => t.Next.Select(e => (From: $"trigger '{t.Name}'", Edge: e))));
        var unknownTargets = 0;
        foreach (var (from, edge) in edges)
        {
            if (ids.Contains(edge.Target)) continue;
            unknownTargets++;
            var location = edge.TargetLocation ?? edge.Location;
            _diagnostics.Add(new Diagnostic(SpecCodes.UnknownNextStep,
                $"The 'next' of {from} in workflow '{workflow.Name}' goes to '{edge.Target}', which is not a step of this workflow.", location,
                Hint(DidYouMean(edge.Target, ids), $"Steps of '{workflow.Name}': {string.Join(", ", ids)}.")));
        }

        foreach (var cycle in ProjectGraph.FindCycles(workflow))
        {
            _diagnostics.Add(new Diagnostic(SpecCodes.Cycle,
                $"Workflow '{workflow.Name}' has a cycle: {string.Join(" → ", cycle.Steps)}.", cycle.ClosingEdge.TargetLocation ?? cycle.ClosingEdge.Location,
                "A workflow is a directed acyclic graph: remove or redirect one of these edges (to repeat work, loop inside a step's code)."));
        }

        // A misspelt target usually explains the steps it leaves unreachable: report the cause only.
        if (workflow.Steps.Count == 0 || unknownTargets > 0) return;
        foreach (var step in ProjectGraph.Unreachable(workflow))
        {
            var from = workflow.Triggers.Count == 0 ? $"the first step '{workflow.Steps[0].Id}' (the workflow has no trigger)" : "any trigger";
            _diagnostics.Add(new Diagnostic(SpecCodes.UnreachableStep,
                $"Step '{step.Id}' of workflow '{workflow.Name}' is not reachable from {from}, so it never runs.", step.Location,
                $"Add '{step.Id}' to the 'next' of a step (or trigger) that runs before it, or remove the step.", DiagnosticSeverity.Warning));
        }
    }
}
