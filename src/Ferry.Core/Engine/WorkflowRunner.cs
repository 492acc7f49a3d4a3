using System.Diagnostics;
using Ferry.Adaptors;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Spec;
using Ferry.Steps;

namespace Ferry.Engine;

/// <summary>
/// Runs a workflow plan: steps in breadth-first order from the entry edges, each taken edge getting its own
/// copy of the state, failures recorded in <c>state.errors[stepId]</c>. The run fails when a leaf step failed,
/// and stops at once when a step is killed (budget) or crashed (sandbox).
/// </summary>
public static class WorkflowRunner
{
    public static async Task<RunResult> RunAsync(WorkflowPlan plan, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var scrubber = BuildScrubber(plan, options);
        var log = new RunLog(scrubber, options.OnLog, options.MinimumLogLevel);
        // The run's own limit: one token that stops the running step on cancellation or when the run's time is up.
        using var runTimeout = new CancellationTokenSource();
        if (options.Timeout is { } limit) runTimeout.CancelAfter(limit);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, runTimeout.Token);
        var run = new RunContext(plan, options, log, scrubber, runTimeout, stop.Token);
        var queue = new Queue<(PlannedStep Step, JsObject State)>();
        var input = options.Input;
        input.Remove("configuration");

        if (options.OnlyStep is { } only)
        {
            queue.Enqueue((Require(plan, only, "--only"), input));
        }
        else if (options.StartStep is { } start)
        {
            queue.Enqueue((Require(plan, start, "--start"), input));
        }
        else if (plan.EntryEdges.Count == 0)
        {
            if (plan.Steps.Count > 0) queue.Enqueue((plan.Steps[0], input));
        }
        else
        {
            Follow(plan, plan.EntryEdges, StepStatus.Success, input, queue, run);
        }

        var steps = new List<StepRunResult>();
        var leaves = new List<(string Id, JsObject State, StepStatus Status, StepFailure? Error)>();
        RunStatus? abort = null;
        StepFailure? abortError = null;
        JsObject? last = null;

        while (queue.Count > 0)
        {
            var (step, state) = queue.Dequeue();
            if (options.CancellationToken.IsCancellationRequested)
            {
                abort = RunStatus.Cancelled;
                abortError = new StepFailure("Cancelled", "The run was cancelled.");
                break;
            }
            if (run.TimedOut)
            {
                abort = RunStatus.Killed;
                abortError = new StepFailure("Killed", run.TimeoutMessage($"before step '{step.Id}'"), step.Location);
                break;
            }
            var (result, output) = await RunStepAsync(step, state, run);
            steps.Add(result);
            last = output;
            if (result.Status is StepStatus.Killed or StepStatus.Crashed or StepStatus.Cancelled)
            {
                abort = result.Status switch
                {
                    StepStatus.Killed => RunStatus.Killed,
                    StepStatus.Crashed => RunStatus.Crashed,
                    _ => RunStatus.Cancelled,
                };
                abortError = result.Error;
                break;
            }
            var taken = options.OnlyStep is null && run.ConditionFailure is null
                ? Follow(plan, step.Next, result.Status, output, queue, run)
                : 0;
            if (run.ConditionFailure is { } conditionFailure)
            {
                abort = RunStatus.Crashed;
                abortError = conditionFailure;
                break;
            }
            if (taken == 0) leaves.Add((step.Id, output, result.Status, result.Error));
        }

        var failedLeaf = leaves.FirstOrDefault(l => l.Status != StepStatus.Success);
        var status = abort ?? (failedLeaf.Id is not null ? RunStatus.Failed : RunStatus.Success);
        var final = leaves.Count switch
        {
            1 => leaves[0].State,
            0 => last ?? input,
            _ => KeyedByStep(leaves.Select(l => (l.Id, l.State))),
        };
        var error = abortError ?? failedLeaf.Error;
        if (status == RunStatus.Success) log.Write(LogLevel.Info, null, $"Run succeeded in {clock.Elapsed.TotalMilliseconds:0.#} ms ({steps.Count} step{(steps.Count == 1 ? "" : "s")}).");
        else log.Write(LogLevel.Error, null, $"Run {status.ToString().ToLowerInvariant()}: {error}");
        return new RunResult
        {
            Status = status,
            FinalState = final,
            Steps = steps,
            Log = log.Entries,
            Duration = clock.Elapsed,
            Error = error,
            CursorChanged = options.Cursor.Changed && status == RunStatus.Success,
            Cursor = options.Cursor.Get(),
        };
    }

    private static PlannedStep Require(WorkflowPlan plan, string id, string option) =>
        plan.Find(id) ?? throw new Diagnostics.FerryInputException("FERRY401",
            $"{option} names step '{id}', which workflow '{plan.Workflow}' does not have.", null,
            $"Steps: {string.Join(", ", plan.Steps.Select(s => s.Id))}. {Diagnostics.Suggestions.DidYouMean(id, plan.Steps.Select(s => s.Id))}".Trim());

    private static JsObject KeyedByStep(IEnumerable<(string Id, JsObject State)> leaves)
    {
        var result = new JsObject();
        foreach (var (id, state) in leaves) result.Set(id, state);
        return result;
    }

    /// <summary>Queues the targets of the edges that hold; returns how many were taken.</summary>
    private static int Follow(WorkflowPlan plan, IReadOnlyList<PlannedEdge> edges, StepStatus status, JsObject state,
        Queue<(PlannedStep, JsObject)> queue, RunContext run)
    {
        if (edges.Count == 0) return 0;
        List<PlannedStep>? targets = null;
        foreach (var edge in edges)
        {
            if (edge.Disabled || !Holds(edge, status, state, run)) continue;
            if (run.ConditionFailure is not null) return 0;
            var target = plan.Find(edge.Target) ?? throw new InvalidOperationException($"Edge to unknown step '{edge.Target}' in a validated plan.");
            (targets ??= []).Add(target);
        }
        if (targets is null) return 0;
        for (var i = 0; i < targets.Count; i++)
        {
            // Each branch gets its own state; the last one takes the original to save a copy.
            queue.Enqueue((targets[i], i == targets.Count - 1 ? state : state.Clone()));
        }
        return targets.Count;
    }

    private static bool Holds(PlannedEdge edge, StepStatus status, JsObject state, RunContext run)
    {
        switch (edge.Kind)
        {
            case EdgeConditionKind.Always: return true;
            case EdgeConditionKind.OnSuccess: return status == StepStatus.Success;
            case EdgeConditionKind.OnFailure: return status == StepStatus.Failed;
            default:
                if (edge.Condition is null) return false;
                try
                {
                    var budget = new ExecutionBudget(TimeSpan.FromSeconds(5), 64L * 1024 * 1024, run.Options.CancellationToken);
                    return edge.Condition(state, budget);
                }
                catch (Exception e)
                {
                    run.ConditionFailure = new StepFailure("ConditionError",
                        run.Scrubber.Scrub($"The condition '{edge.Expression}' on the edge to '{edge.Target}' failed: {e.Message}"), edge.Location);
                    return false;
                }
        }
    }

    private static async Task<(StepRunResult, JsObject)> RunStepAsync(PlannedStep step, JsObject state, RunContext run)
    {
        var options = run.Options;
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        options.OnEvent?.Invoke(new RunEvent(RunEventKind.StepStarted, step.Id));
        var stepLog = run.Log.ForStep(step.Id);
        var inputSnapshot = options.CaptureStepInputs ? state.Clone() : null;
        var budget = new ExecutionBudget(step.Timeout, step.MemoryLimit, run.Stop);
        using var stepCancellation = CancellationTokenSource.CreateLinkedTokenSource(run.Stop);
        StepStatus status;
        StepFailure? failure = null;
        var output = state;
        Adaptor? adaptor = null;
        try
        {
            var configuration = Configuration(step, run);
            if (configuration is not null) state.Set("configuration", configuration);
            if (step.Map is not null)
            {
                var outcome = step.Map(state);
                stepLog.Info(outcome.Summary);
                if (outcome.Failure is not null) throw new MappingFailedException(outcome.Failure);
            }
            if (step.Code is not null)
            {
                if (step.Adaptor is not null)
                {
                    adaptor = step.Adaptor.Create(new AdaptorContext
                    {
                        StepId = step.Id,
                        AdaptorName = step.Adaptor.Name,
                        Configuration = configuration ?? new JsObject(),
                        Mode = options.Mode,
                        Recorder = options.Recorder,
                        Log = stepLog,
                        Scrubber = run.Scrubber,
                        CancellationToken = stepCancellation.Token,
                    });
                }
                var globals = new StepGlobals { state = state, log = stepLog, cursor = options.Cursor, __adaptor = adaptor, __budget = budget };
                var returned = await WithinBudget(step.Code.Run(globals), budget, step, stepCancellation, run.Stop);
                output = AsState(returned ?? (object?)globals.state);
            }
            status = StepStatus.Success;
        }
        catch (StepKilledException killed)
        {
            var cancelled = killed.Reason == KillReason.Cancelled && options.CancellationToken.IsCancellationRequested;
            status = cancelled ? StepStatus.Cancelled : StepStatus.Killed;
            var message = killed.Reason switch
            {
                _ when cancelled => killed.Message,
                KillReason.Cancelled when run.TimedOut => run.TimeoutMessage($"during step '{step.Id}'"),
                KillReason.Timeout when step.TimeoutSource is { } source => $"{killed.Message} {source}",
                KillReason.Memory when step.MemorySource is { } source => $"{killed.Message} {source}",
                _ => killed.Message,
            };
            failure = new StepFailure(cancelled ? "Cancelled" : "Killed", message, step.Code?.Describe(killed).Location ?? step.Location);
        }
        catch (MappingFailedException mapping)
        {
            status = StepStatus.Failed;
            failure = new StepFailure("MappingError", mapping.Message, step.Location);
        }
        catch (CredentialMissingException missing)
        {
            status = StepStatus.Crashed;
            failure = new StepFailure("CredentialError", missing.Message, step.Location);
        }
        catch (Exception e)
        {
            failure = step.Code?.Describe(e) ?? new StepFailure(e.GetType().Name, e.Message, step.Location);
            status = failure.Type == "SandboxViolation" ? StepStatus.Crashed : StepStatus.Failed;
        }
        finally
        {
            if (adaptor is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
            else if (adaptor is IDisposable disposable) disposable.Dispose();
            budget.Expire(KillReason.Timeout, "The step has ended; code it left running was stopped.");
        }

        output.Remove("configuration");
        if (failure is not null)
        {
            failure = failure with { Message = run.Scrubber.Scrub(failure.Message) };
            RecordError(output, step.Id, failure);
            stepLog.Error(failure.ToString());
        }
        if (!run.Scrubber.IsEmpty) Scrub(output, run.Scrubber);
        var result = new StepRunResult
        {
            StepId = step.Id,
            Status = status,
            StartedAt = startedAt,
            Duration = clock.Elapsed,
            AllocatedBytes = budget.AllocatedBytes,
            Error = failure,
            Input = inputSnapshot,
            Output = output,
        };
        if (status == StepStatus.Success) stepLog.Debug($"Step succeeded in {clock.Elapsed.TotalMilliseconds:0.###} ms.");
        options.OnEvent?.Invoke(new RunEvent(RunEventKind.StepFinished, step.Id, result));
        return (result, output);
    }

    private static JsObject? Configuration(PlannedStep step, RunContext run)
    {
        if (step.Credential is null) return null;
        if (!run.Options.Credentials.TryGetValue(step.Credential, out var values))
        {
            throw new CredentialMissingException(
                $"Step '{step.Id}' uses credential '{step.Credential}', but no values were given for it. " +
                $"Add \"{step.Credential}\": {{ … }} to the credentials file (ferry run --credentials creds.json).");
        }
        return values.Clone();
    }

    /// <summary>Waits for the step, but never past its time budget: a step blocked in an await is abandoned and killed.</summary>
    private static async Task<object?> WithinBudget(Task<object?> task, ExecutionBudget budget, PlannedStep step, CancellationTokenSource stepCancellation, CancellationToken stop)
    {
        if (task.IsCompleted) return await task;
        using var timer = new CancellationTokenSource();
        var deadline = Task.Delay(step.Timeout, timer.Token);
        // A step waiting on I/O never ticks its budget: stop it here when the run is cancelled or out of time.
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = stop.Register(() => stopped.TrySetResult());
        var first = await Task.WhenAny(task, deadline, stopped.Task);
        if (first == task)
        {
            await timer.CancelAsync();
            return await task;
        }
        await timer.CancelAsync();
        if (first == deadline) budget.Expire(KillReason.Timeout, $"The step ran longer than its time budget of {step.Timeout.TotalSeconds:0.###} s and was stopped.");
        else budget.Expire(KillReason.Cancelled, "The step was cancelled.");
        await stepCancellation.CancelAsync();
        _ = task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        throw budget.Killed!;
    }

    private static JsObject AsState(object? value) => Js.From(value) switch
    {
        JsObject o => o,
        var other => throw new StepOutputException(
            $"A step must leave state as a JSON object (or return one); it returned {(other is null ? "null" : Js.ToJson(other))}. " +
            "Return state, or an object such as new { data = … }."),
    };

    private static void RecordError(JsObject state, string stepId, StepFailure failure)
    {
        if (state.Get("errors") is not JsObject errors)
        {
            errors = new JsObject();
            state.Set("errors", errors);
            errors = (JsObject)state.Get("errors")!;
        }
        var error = new JsObject();
        error.Set("type", failure.Type);
        error.Set("message", failure.Message);
        if (failure.Location is not null) error.Set("location", failure.Location.ToString());
        errors.Set(stepId, error);
    }

    private static SecretScrubber BuildScrubber(WorkflowPlan plan, RunOptions options)
    {
        var scrubber = new SecretScrubber();
        foreach (var (name, values) in options.Credentials)
        {
            var descriptor = plan.Steps.FirstOrDefault(s => s.Credential == name)?.Adaptor;
            scrubber.AddCredential(values, descriptor?.PublicCredentialFields);
        }
        return scrubber;
    }

    /// <summary>Replaces secret values in string members; raw JSON is only opened when its bytes hold a secret.</summary>
    internal static void Scrub(JsObject state, SecretScrubber scrubber)
    {
        foreach (var key in state.Keys.ToArray())
        {
            var value = state.GetUnmaterialized(key);
            var scrubbed = ScrubValue(value, scrubber);
            if (!ReferenceEquals(scrubbed, value)) state.Set(key, scrubbed);
        }
    }

    private static object? ScrubValue(object? value, SecretScrubber scrubber)
    {
        switch (value)
        {
            case string s:
                var clean = scrubber.Scrub(s);
                return ReferenceEquals(clean, s) || clean == s ? value : clean;
            case RawJson raw:
                var text = raw.ToString();
                return scrubber.Scrub(text) == text ? value : ScrubValue(raw.Materialize(), scrubber);
            case JsObject o:
                Scrub(o, scrubber);
                return o;
            case JsArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var item = a.GetUnmaterialized(i);
                    var scrubbedItem = ScrubValue(item, scrubber);
                    if (!ReferenceEquals(item, scrubbedItem)) a[i] = scrubbedItem;
                }
                return a;
            default: return value;
        }
    }

    private sealed class RunContext(WorkflowPlan plan, RunOptions options, RunLog log, SecretScrubber scrubber, CancellationTokenSource timeout, CancellationToken stop)
    {
        public WorkflowPlan Plan { get; } = plan;
        public RunOptions Options { get; } = options;
        public RunLog Log { get; } = log;
        public SecretScrubber Scrubber { get; } = scrubber;
        public StepFailure? ConditionFailure { get; set; }

        /// <summary>Cancelled when the run is cancelled or its time limit passed.</summary>
        public CancellationToken Stop { get; } = stop;

        /// <summary>The run's own time limit passed (and it was not cancelled by its caller).</summary>
        public bool TimedOut => timeout.IsCancellationRequested && !Options.CancellationToken.IsCancellationRequested;

        public string TimeoutMessage(string when) =>
            $"The run took longer than its time limit of {Options.Timeout?.TotalSeconds:0.###} s and was stopped {when}. " +
            (Options.TimeoutSource ?? "The limit was set by the caller (RunOptions.Timeout).");
    }
}

internal sealed class MappingFailedException(string message) : Exception(message);

internal sealed class CredentialMissingException(string message) : Exception(message);

/// <summary>A step left something other than a JSON object as its state.</summary>
public sealed class StepOutputException(string message) : Exception(message);
