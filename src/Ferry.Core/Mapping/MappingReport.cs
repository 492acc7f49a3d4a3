namespace Ferry.Mapping;

/// <summary>
/// One broken rule: which record (0-based index in the source array, -1 for the input as a whole), which target
/// field, the rule (<c>required</c>, <c>format</c>, <c>value_map</c>, <c>type</c>, <c>record</c>, <c>source</c>), what was
/// wrong, and the start of the record's JSON.
/// </summary>
public sealed record MappingIssue(int RecordIndex, string Field, string Rule, string Message, string RecordExcerpt)
{
    public override string ToString() =>
        RecordIndex < 0 ? Message : $"record {RecordIndex}{(Field.Length > 0 ? $", field '{Field}'" : "")} ({Rule}): {Message}";
}

/// <summary>What <see cref="Mapper.Apply(MappingSpec, Ferry.Json.JsObject)"/> did: counts, whether it stopped, and the issues found.</summary>
public sealed class MappingReport
{
    /// <summary>At most this many issues are kept in <see cref="Issues"/>; <see cref="IssueCount"/> counts them all.</summary>
    public const int MaxIssues = 10_000;

    /// <summary>Records read from the source (up to the stop, when the mapping stopped).</summary>
    public int Read { get; internal set; }

    /// <summary>Records written to the target.</summary>
    public int Mapped { get; internal set; }

    /// <summary>Records that broke a rule (written to the rejected list with <c>on_error: skip</c>).</summary>
    public int Rejected { get; internal set; }

    /// <summary>True when the mapping stopped (<c>on_error: stop</c>, or no records array at the source): state is unchanged.</summary>
    public bool Stopped { get; internal set; }

    public IReadOnlyList<MappingIssue> Issues => _issues;

    /// <summary>All issues found, including those past <see cref="MaxIssues"/>.</summary>
    public int IssueCount { get; internal set; }

    /// <summary>The state path of the records that were mapped, as the spec names it.</summary>
    public required string Source { get; init; }

    public required string Target { get; init; }

    public required string RejectedPath { get; init; }

    public required string SpecFile { get; init; }

    private readonly List<MappingIssue> _issues = [];

    internal void Add(MappingIssue issue)
    {
        IssueCount++;
        if (_issues.Count < MaxIssues) _issues.Add(issue);
    }

    /// <summary>One line for logs: "mapped 998 of 1000 records, 2 rejected (state.rejected)".</summary>
    public string Summary => Stopped
        ? $"mapping {SpecFile} stopped after {Read} record(s): {FailureMessage}"
        : $"mapped {Mapped} of {Read} record(s) from state.{Source} to state.{Target}" +
          (Rejected > 0 ? $", {Rejected} rejected (listed in state.{RejectedPath})" : "");

    /// <summary>The message the engine fails the step with when <see cref="Stopped"/>, else null.</summary>
    public string? FailureMessage
    {
        get
        {
            if (!Stopped) return null;
            if (_issues.Count == 0) return $"mapping {SpecFile} stopped.";
            var first = _issues[0];
            if (first.RecordIndex < 0) return first.Message;
            var lines = string.Join("; ", _issues.Where(i => i.RecordIndex == first.RecordIndex).Select(i => i.ToString()));
            return $"{lines}. Record: {first.RecordExcerpt}. Fix the record at the source, change the rule in {SpecFile}, " +
                   "or set 'on_error: skip' to list such records in state." + RejectedPath + " and map the rest.";
        }
    }

    public override string ToString() => Summary;
}
