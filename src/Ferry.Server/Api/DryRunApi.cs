using System.Text;
using System.Text.Json;
using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Engine;
using Ferry.Json;
using Ferry.Server.Auth;
using Ferry.Server.Projects;
using Ferry.Steps;
using Ferry.Testing;

namespace Ferry.Server.Api;

/// <summary>
/// Dry runs (DESIGN §5): a workflow of a deployed version run in test mode on a chosen input, exactly like
/// <c>ferry run --test</c> — reads are live, every write is recorded and not performed. Nothing is stored (no work
/// order, run, dataclip or log), the cursor is read but never moved, credentials come from the vault, and every
/// credential value is scrubbed from the answer.
/// </summary>
internal static class DryRunApi
{
    private static readonly string[] Keys = ["input", "version", "start", "only"];

    public static RouteGroupBuilder MapDryRunApi(this RouteGroupBuilder api)
    {
        api.MapPost("/projects/{project}/workflows/{workflow}/dry-run", DryRunAsync)
            .WithName("DryRun").WithTags("Projects")
            .WithSummary("Runs a workflow in test mode on {input, version?, start?, only?}: writes recorded, not sent; nothing stored. " +
                         "Answers {status, state, steps, writes, log}.")
            .RequireProjectRole(ProjectRole.Editor);
        return api;
    }

    private sealed record Request(JsObject Input, int? Version, string? Start, string? Only);

    private static async Task<IResult> DryRunAsync(string project, string workflow, HttpRequest http, Storage.FerryStore store, DeployedProjects projects,
        ProjectCredentials vault, CancellationToken ct)
    {
        var (request, problem) = await ReadAsync(http, ct);
        if (problem is not null) return problem;

        var version = await store.GetVersionAsync(project, request!.Version, ct);
        if (version is null)
        {
            return request.Version is null || await store.GetVersionAsync(project, null, ct) is null
                ? Problems.NotFound($"No project '{project}' is deployed here. GET /api/projects lists the deployed ones.", "project")
                : Problems.NotFound($"Project '{project}' has no version {request.Version}. GET /api/projects/{project}/versions lists its versions.", "version");
        }
        ProjectWorkspace workspace;
        try
        {
            workspace = await projects.GetAsync(project, version.Version, ct);
        }
        catch (FerryInputException e)
        {
            return Problems.Of(StatusCodes.Status409Conflict, "Version does not load",
                $"Version {version.Version} of project '{project}' does not validate on this server any more: {e.Message} Deploy a fixed version, or dry-run another one.", "version");
        }
        if (workspace.Project.FindWorkflow(workflow) is null)
        {
            var names = workspace.Project.Workflows.Select(w => w.Name).ToArray();
            return Problems.NotFound($"Project '{project}' (version {version.Version}) has no workflow '{workflow}'. " +
                $"{Suggestions.DidYouMean(workflow, names)} Workflows: {string.Join(", ", names)}.".Replace("  ", " ", StringComparison.Ordinal), "workflow");
        }
        var plan = workspace.Plan(workflow);
        if (request.Start is not null && request.Only is not null)
            return Problems.Of(StatusCodes.Status400BadRequest, "Bad dry run", "Give 'start' (run from that step on) or 'only' (run that step alone), not both.", "only");
        foreach (var (field, step) in new[] { ("start", request.Start), ("only", request.Only) })
        {
            if (step is not null && plan.Find(step) is null)
            {
                var ids = plan.Steps.Select(s => s.Id).ToArray();
                return Problems.Of(StatusCodes.Status400BadRequest, "Unknown step",
                    $"'{field}' names step '{step}', which workflow '{workflow}' does not have. {Suggestions.DidYouMean(step, ids)} Steps: {string.Join(", ", ids)}."
                        .Replace("  ", " ", StringComparison.Ordinal), field);
            }
        }

        // As `ferry run --test`: a step whose credential has no values still runs; its writes are recorded, a live read fails clearly.
        var credentials = new Dictionary<string, JsObject>(await vault.LoadAsync(project, ct), StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (var missing in plan.Steps.Select(s => s.Credential).OfType<string>().Distinct().Where(c => !credentials.ContainsKey(c)))
        {
            credentials[missing] = new JsObject();
            warnings.Add($"Credential '{missing}' has no values on this server (PUT /api/projects/{project}/credentials/{missing}); its writes are recorded, its reads fail.");
        }
        var scrubber = new SecretScrubber();
        foreach (var (name, values) in credentials) scrubber.AddCredential(values, plan.Steps.FirstOrDefault(s => s.Credential == name)?.Adaptor?.PublicCredentialFields);

        var cursorText = await store.GetCursorAsync(project, workflow, ct);
        var recorder = new TestModeRecorder();
        var result = await WorkflowRunner.RunAsync(plan, new RunOptions
        {
            Input = request.Input,
            StartStep = request.Start,
            OnlyStep = request.Only,
            Mode = ExecutionMode.DryRun,
            Recorder = recorder,
            Credentials = credentials,
            Cursor = new Cursor(cursorText is null ? null : Js.Parse(cursorText)),
            CaptureStepInputs = true,
            MinimumLogLevel = Steps.LogLevel.Debug,
            CancellationToken = ct,
        });

        var folder = projects.VersionFolder(project, version.Version);
        string? Relative(object? text) => text?.ToString() is { } t ? DeployedProjects.ProjectRelative(t, folder) : null;
        var json = Js.ToJson(new
        {
            status = result.Status.ToString().ToLowerInvariant(),
            project,
            workflow,
            version = version.Version,
            durationMs = Math.Round(result.Duration.TotalMilliseconds, 3),
            error = Relative(result.Error),
            state = result.FinalState,
            steps = result.Steps.Select(s => new
            {
                id = s.StepId,
                status = s.Status.ToString().ToLowerInvariant(),
                durationMs = Math.Round(s.Duration.TotalMilliseconds, 3),
                allocatedBytes = s.AllocatedBytes,
                error = Relative(s.Error),
                input = s.Input,
                output = s.Output,
            }),
            writes = recorder.Writes.Select(w => new { step = w.Step, adaptor = w.Adaptor, operation = w.Operation, request = w.Request }),
            log = result.Log.Select(l => new { time = l.Time, level = l.Level.ToString().ToLowerInvariant(), step = l.StepId, message = Relative(l.Message) }),
            cursor = new { changed = result.CursorChanged, value = result.CursorChanged ? result.Cursor : null },
            warnings,
        });
        // The engine scrubs logs, errors and states; recorded write requests (headers, bodies) are scrubbed here, with the rest once more.
        return Results.Text(scrubber.Scrub(json), "application/json", Encoding.UTF8);
    }

    /// <summary>The body: a JSON object with known keys only; every problem names its field.</summary>
    private static async Task<(Request? Request, IResult? Problem)> ReadAsync(HttpRequest http, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Body, default, ct);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
            return (null, Bad($"The body is not valid JSON{where}: {e.Message} Send {{\"input\": {{\"data\": …}}}}.", "body"));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, Bad($"The body must be a JSON object such as {{\"input\": {{\"data\": …}}}}, not {Kind(root)}.", "body"));
            foreach (var property in root.EnumerateObject())
            {
                if (!Keys.Contains(property.Name))
                    return (null, Bad($"Unknown key '{property.Name}'. {Suggestions.DidYouMean(property.Name, Keys)} Keys: {string.Join(", ", Keys)}.".Replace("  ", " ", StringComparison.Ordinal), property.Name));
            }

            var input = new JsObject();
            if (root.TryGetProperty("input", out var inputElement) && inputElement.ValueKind != JsonValueKind.Null)
            {
                if (inputElement.ValueKind != JsonValueKind.Object)
                    return (null, Bad($"'input' must be a JSON object (the state a run starts from, e.g. {{\"data\": …}}), not {Kind(inputElement)}.", "input"));
                try
                {
                    input = Js.ParseStateObject(Encoding.UTF8.GetBytes(inputElement.GetRawText()), "input");
                }
                catch (FerryInputException e)
                {
                    return (null, Bad($"'input' cannot be used as a state: {e.Message}", "input"));
                }
            }

            int? version = null;
            if (root.TryGetProperty("version", out var v) && v.ValueKind != JsonValueKind.Null)
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < 1)
                    return (null, Bad($"'version' must be a version number (1, 2, …), not {v.GetRawText()}; leave it out for the current version.", "version"));
                version = n;
            }

            string? start = null, only = null;
            foreach (var (name, set) in new (string, Action<string>)[] { ("start", s => start = s), ("only", s => only = s) })
            {
                if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) continue;
                if (e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString()))
                    return (null, Bad($"'{name}' must be a step id (text), not {e.GetRawText()}.", name));
                set(e.GetString()!);
            }
            return (new Request(input, version, start, only), null);
        }
    }

    private static IResult Bad(string detail, string field) => Problems.Of(StatusCodes.Status400BadRequest, "Bad dry run", detail, field);

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };
}
