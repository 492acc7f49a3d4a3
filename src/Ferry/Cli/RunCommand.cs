using System.CommandLine;
using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Steps;
using Ferry.Testing;

namespace Ferry.Cli;

/// <summary><c>ferry run PROJECT|job.csx</c>: runs one workflow (or one step) locally.</summary>
internal static class RunCommand
{
    public static Command Build()
    {
        var target = new Argument<string>("target") { Description = "Project folder (with ferry.yaml), or a single .csx step (with -a).", DefaultValueFactory = _ => "." };
        var workflow = new Option<string?>("--workflow", "-w") { Description = "Workflow to run (default: the only or first one)." };
        var state = new Option<string?>("--state", "-s") { Description = "Input state JSON file, e.g. {\"data\": …}." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the final state to this file (default: stdout)." };
        var credentials = new Option<string?>("--credentials", "-c") { Description = "Credentials JSON file: {\"name\": {fields}}." };
        var start = new Option<string?>("--start") { Description = "Start at this step." };
        var only = new Option<string?>("--only") { Description = "Run only this step." };
        var test = new Option<bool>("--test") { Description = "Test mode: reads are live, writes are recorded and printed, never performed." };
        var adaptor = new Option<string?>("--adaptor", "-a") { Description = "Adaptor of a single .csx step (http, postgres, …)." };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Least level of log lines shown.", DefaultValueFactory = _ => LogLevel.Info };
        var json = CommonOptions.Json();
        var command = new Command("run", "Run a workflow of a project, or a single .csx step, on this machine.")
        {
            target, workflow, state, output, credentials, start, only, test, adaptor, logLevel, json,
        };
        command.SetAction((parse, cancel) =>
        {
            var o = new Output(parse.GetValue(json));
            return FerryCommand.Guard(o, () => Execute(o, new Request(
                parse.GetValue(target)!, parse.GetValue(workflow), parse.GetValue(state), parse.GetValue(output), parse.GetValue(credentials),
                parse.GetValue(start), parse.GetValue(only), parse.GetValue(test), parse.GetValue(adaptor), parse.GetValue(logLevel)), cancel));
        });
        return command;
    }

    private sealed record Request(string Target, string? Workflow, string? State, string? Output, string? Credentials,
        string? Start, string? Only, bool Test, string? Adaptor, LogLevel LogLevel);

    private static async Task<int> Execute(Output output, Request request, CancellationToken cancel)
    {
        var isJob = request.Target.EndsWith(".csx", StringComparison.OrdinalIgnoreCase);
        if (!isJob && request.Adaptor is not null)
            throw new FerryInputException("FERRY402", "-a/--adaptor applies to a single .csx step, not to a project.", null, "Drop -a, or run a .csx file.");
        var options = Workspace.Options();
        var workspace = isJob
            ? ProjectWorkspace.ForJob(request.Target, request.Adaptor, options)
            : ProjectWorkspace.Open(request.Target, options);
        output.Diagnostics(workspace.Warnings);
        var plan = workspace.Plan(request.Workflow);

        var input = request.State is null ? new JsObject() : ReadState(request.State);
        var credentials = CredentialsFile.Load(request.Credentials, allowFlat: isJob);
        if (isJob) credentials = JobCredentials(plan, credentials, input);
        var credentialProblems = ProjectWorkspace.CheckCredentials(credentials, plan, request.Credentials is null ? "--credentials" : Paths.Display(Path.GetFullPath(request.Credentials)));
        if (request.Test)
        {
            // A dry run records writes, so a step may go without its credential; a live read needing one fails clearly.
            foreach (var missing in plan.Steps.Select(s => s.Credential).OfType<string>().Distinct().Where(c => !credentials.ContainsKey(c)))
            {
                credentials[missing] = new JsObject();
                output.Dim($"Test mode: credential '{missing}' has no values; its writes are recorded, its reads (if any) will fail.");
            }
            credentialProblems = credentialProblems.Where(p => p.Code != "FERRY301").ToArray();
        }
        if (credentialProblems.Count > 0) throw new FerryInputException(credentialProblems);

        var cursors = isJob ? null : new CursorFile(workspace.Project.Directory, plan.Workflow);
        var recorder = request.Test ? new TestModeRecorder() : null;
        using var progress = new Progress(output);
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions
        {
            Input = input,
            StartStep = request.Start,
            OnlyStep = request.Only,
            Mode = request.Test ? ExecutionMode.DryRun : ExecutionMode.Live,
            Recorder = recorder,
            Credentials = credentials,
            Cursor = new Cursor(cursors?.Read()),
            MinimumLogLevel = request.LogLevel,
            OnLog = output.Json ? null : output.Log,
            OnEvent = progress.On,
            CancellationToken = cancel,
        });
        if (result.CursorChanged) cursors?.Write(result.Cursor);

        if (request.Output is not null)
        {
            await using var file = File.Create(request.Output);
            Js.WriteTo(file, result.FinalState, indented: true);
        }
        if (recorder is not null && !output.Json) PrintWrites(output, recorder.Writes);

        var ok = result.Status == RunStatus.Success;
        var summary = $"Run {(ok ? "succeeded" : result.Status.ToString().ToLowerInvariant())} in {result.Duration.TotalMilliseconds:0.#} ms";
        if (ok) output.Success($"✓ {summary}.");
        else output.Failure($"✗ {summary}: {result.Error}");

        if (output.Json)
        {
            Output.Stdout(Js.ToJson(new
            {
                status = result.Status.ToString().ToLowerInvariant(),
                durationMs = Math.Round(result.Duration.TotalMilliseconds, 3),
                error = result.Error?.ToString(),
                steps = result.Steps.Select(s => new
                {
                    id = s.StepId,
                    status = s.Status.ToString().ToLowerInvariant(),
                    durationMs = Math.Round(s.Duration.TotalMilliseconds, 3),
                    allocatedBytes = s.AllocatedBytes,
                    error = s.Error?.ToString(),
                }),
                writes = recorder?.Writes.Select(w => new { step = w.Step, adaptor = w.Adaptor, operation = w.Operation, request = w.Request }),
                log = result.Log.Select(l => new { time = l.Time, level = l.Level.ToString().ToLowerInvariant(), step = l.StepId, message = l.Message }),
                output = request.Output,
                state = request.Output is null ? result.FinalState : null,
            }, indented: true));
        }
        else if (request.Output is null)
        {
            await using var stdout = Console.OpenStandardOutput();
            Js.WriteTo(stdout, result.FinalState, indented: true);
            await stdout.WriteAsync("\n"u8.ToArray(), cancel);
        }
        return ok ? ExitCodes.Success : ExitCodes.RunFailed;
    }

    private static JsObject ReadState(string path)
    {
        var display = Paths.Display(Path.GetFullPath(path));
        if (!File.Exists(path))
            throw new FerryInputException("FERRY320", $"State file '{display}' does not exist.", null, "Pass an existing JSON file with -s, e.g. {\"data\": {}}.");
        return Js.ParseStateObject(File.ReadAllBytes(path), display);
    }

    /// <summary>
    /// A single step takes its credential from the file's entry named like the adaptor, the file's only entry,
    /// the file itself when it is flat, or <c>configuration</c> in the state file (as OpenFn does).
    /// </summary>
    private static Dictionary<string, JsObject> JobCredentials(WorkflowPlan plan, Dictionary<string, JsObject> file, JsObject input)
    {
        var step = plan.Steps[0];
        if (step.Credential is null) return file;
        JsObject? values = null;
        if (file.TryGetValue(step.Credential, out var named)) values = named;
        else if (file.TryGetValue(CredentialsFile.FlatKey, out var flat)) values = flat;
        else if (file.Count == 1) values = file.Values.First();
        else if (input.Get("configuration") is JsObject fromState) values = fromState;
        return values is null ? [] : new Dictionary<string, JsObject> { [step.Credential] = values };
    }

    private static void PrintWrites(Output output, IReadOnlyList<RecordedCall> writes)
    {
        if (writes.Count == 0)
        {
            output.Info("Test mode: no writes would be made.");
            return;
        }
        output.Info($"Test mode: {writes.Count} write{(writes.Count == 1 ? "" : "s")} would be made (none was performed):");
        foreach (var w in writes)
        {
            var json = Js.ToJson(w.Request);
            output.Info($"  [{w.Step}] {w.Adaptor}.{w.Operation} {(json.Length > 400 ? json[..397] + "..." : json)}");
        }
    }

    /// <summary>Step start/finish lines, and a heartbeat while a long step runs.</summary>
    private sealed class Progress : IDisposable
    {
        private readonly Output _output;
        private readonly Timer _timer;
        private string? _current;
        private DateTime _since;

        public Progress(Output output)
        {
            _output = output;
            _timer = new Timer(_ => Beat(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        }

        public void On(RunEvent e)
        {
            if (e.Kind == RunEventKind.StepStarted)
            {
                _current = e.StepId;
                _since = DateTime.UtcNow;
                return;
            }
            _current = null;
            var r = e.Result!;
            var text = $"{r.StepId} {r.Status.ToString().ToLowerInvariant()} in {r.Duration.TotalMilliseconds:0.###} ms";
            if (r.Status == StepStatus.Success) _output.Dim($"  ✓ {text}");
            else _output.Failure($"  ✗ {text}");
        }

        private void Beat()
        {
            if (_current is { } step) _output.Dim($"  … {step} running for {(DateTime.UtcNow - _since).TotalSeconds:0} s");
        }

        public void Dispose() => _timer.Dispose();
    }
}
