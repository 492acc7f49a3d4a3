using System.Diagnostics;
using Ferry.Adaptors;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Testing;

public sealed record FlowTestResult(FlowTest Test, bool Passed, IReadOnlyList<string> Failures, TimeSpan Duration, RunResult? Run, IReadOnlyList<RecordedCall> Writes);

/// <summary>Runs a flow test in test mode: canned reads, recorded writes, nothing touches a real system.</summary>
public static class FlowTestRunner
{
    public static async Task<FlowTestResult> RunAsync(FlowTest test, WorkflowPlan plan, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var recorder = new TestModeRecorder(test.Responses);
        var credentials = new Dictionary<string, JsObject>(test.Credentials, StringComparer.Ordinal);
        // Test mode never connects, so a credential the test does not give is an empty object, not an error.
        foreach (var step in plan.Steps)
        {
            if (step.Credential is { } name && !credentials.ContainsKey(name)) credentials[name] = new JsObject();
        }
        var run = await WorkflowRunner.RunAsync(plan, new RunOptions
        {
            Input = test.Input.Clone(),
            StartStep = test.Start,
            OnlyStep = test.Only,
            Mode = ExecutionMode.Test,
            Recorder = recorder,
            Credentials = credentials,
            Cursor = new Cursor(test.Cursor),
            MinimumLogLevel = LogLevel.Debug,
            CancellationToken = cancellationToken,
        });

        var failures = new List<string>();
        var status = run.Status.ToString().ToLowerInvariant();
        if (status != test.ExpectStatus)
            failures.Add($"expected the run to end {test.ExpectStatus}, it ended {status}{(run.Error is null ? "" : $": {run.Error}")}");
        if (test.ExpectOutput is not null && Js.FindSubsetMismatch(test.ExpectOutput, run.FinalState) is { } mismatch)
            failures.Add($"output differs at {mismatch}");
        if (test.ExpectError is not null && !(run.Error?.Message ?? "").Contains(test.ExpectError, StringComparison.Ordinal))
            failures.Add($"expected the error to contain \"{test.ExpectError}\", it was \"{run.Error?.Message ?? "(no error)"}\"");
        foreach (var expected in test.ExpectLogs)
        {
            if (!run.Log.Any(l => l.Message.Contains(expected, StringComparison.Ordinal)))
                failures.Add($"expected a log line containing \"{expected}\"");
        }
        var writes = recorder.Writes;
        if (test.ExpectWrites is { } expectedWrites) CompareWrites(expectedWrites, writes, failures);
        return new FlowTestResult(test, failures.Count == 0, failures, clock.Elapsed, run, writes);
    }

    private static void CompareWrites(IReadOnlyList<ExpectedWrite> expected, IReadOnlyList<RecordedCall> actual, List<string> failures)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            if (i >= actual.Count)
            {
                failures.Add($"expected write #{i + 1} ({expected[i].Adaptor}.{expected[i].Operation}, {expected[i].Location}) was not made");
                continue;
            }
            var a = actual[i];
            if (i >= expected.Count)
            {
                failures.Add($"unexpected write #{i + 1}: {a.Adaptor}.{a.Operation} in step '{a.Step}' {Excerpt(a.Request)}");
                continue;
            }
            var e = expected[i];
            if (e.Adaptor != a.Adaptor || !string.Equals(e.Operation, a.Operation, StringComparison.OrdinalIgnoreCase) || (e.Step is not null && e.Step != a.Step))
            {
                failures.Add($"write #{i + 1}: expected {e.Adaptor}.{e.Operation}{(e.Step is null ? "" : $" in step '{e.Step}'")}, got {a.Adaptor}.{a.Operation} in step '{a.Step}'");
                continue;
            }
            if (e.Request is not null && Js.FindSubsetMismatch(e.Request, a.Request) is { } mismatch)
                failures.Add($"write #{i + 1} ({a.Adaptor}.{a.Operation}) request differs at {mismatch}");
        }
    }

    private static string Excerpt(object? value)
    {
        var json = Js.ToJson(value);
        return json.Length > 200 ? json[..197] + "..." : json;
    }
}
