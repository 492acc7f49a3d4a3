using Ferry.Diagnostics;
using Ferry.Json;
using YamlDotNet.RepresentationModel;

namespace Ferry.Testing;

/// <summary>An adaptor write a flow test expects, in order; <see cref="Request"/> is a JSON subset.</summary>
public sealed record ExpectedWrite(string Adaptor, string Operation, string? Step, object? Request, SourceLocation Location);

/// <summary>
/// One flow test (<c>tests/*.yaml</c>, DESIGN §5): an input state, canned adaptor responses, and what must come out:
/// the run status, a subset of the final state, and exactly the writes the adaptors would have made.
/// </summary>
public sealed class FlowTest
{
    public required string Name { get; init; }

    public required string File { get; init; }

    public string? Workflow { get; init; }

    public string? Start { get; init; }

    public string? Only { get; init; }

    public JsObject Input { get; init; } = new();

    public IReadOnlyDictionary<string, JsObject> Credentials { get; init; } = new Dictionary<string, JsObject>();

    public object? Cursor { get; init; }

    public IReadOnlyList<CannedResponse> Responses { get; init; } = [];

    public string ExpectStatus { get; init; } = "success";

    public object? ExpectOutput { get; init; }

    /// <summary>Null: writes are not checked. Empty: the run must write nothing.</summary>
    public IReadOnlyList<ExpectedWrite>? ExpectWrites { get; init; }

    /// <summary>Text the run's error must contain.</summary>
    public string? ExpectError { get; init; }

    public IReadOnlyList<string> ExpectLogs { get; init; } = [];
}

/// <summary>Reads flow test files, reporting every problem with file:line:col.</summary>
public static class FlowTestLoader
{
    private static readonly string[] TopKeys = ["name", "description", "workflow", "start", "only", "input", "input_file", "credentials", "cursor", "reads", "responses", "expect"];
    private static readonly string[] ResponseKeys = ["adaptor", "operation", "step", "match", "response", "response_file"];
    private static readonly string[] ExpectKeys = ["status", "output", "output_file", "writes", "error", "logs"];
    private static readonly string[] WriteKeys = ["adaptor", "operation", "step", "request"];
    private static readonly string[] Statuses = ["success", "failed", "crashed", "killed", "cancelled", "exception"];

    /// <summary>All <c>tests/*.yaml</c> (and .yml) of a project, sorted by file name.</summary>
    public static IReadOnlyList<string> Find(string projectDirectory)
    {
        var dir = Path.Combine(projectDirectory, "tests");
        if (!System.IO.Directory.Exists(dir)) return [];
        return System.IO.Directory.EnumerateFiles(dir, "*.y*ml").Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
    }

    public static FlowTest Load(string path, string displayPath)
    {
        var root = YamlJson.LoadMapping(path, displayPath);
        var problems = new List<Diagnostic>();
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        CheckKeys(root, TopKeys, displayPath, "flow test", problems);

        JsObject input = new();
        if (Node(root, "input") is { } inputNode)
        {
            if (YamlJson.ToJs(inputNode) is JsObject o) input = o;
            else problems.Add(new Diagnostic("FERRY501", "'input' must be a state object such as {data: …}.", YamlJson.At(displayPath, inputNode)));
        }
        if (Node(root, "input_file") is YamlScalarNode inputFile)
        {
            var file = Path.Combine(baseDir, inputFile.Value ?? "");
            if (!System.IO.File.Exists(file))
                problems.Add(new Diagnostic("FERRY502", $"input_file '{inputFile.Value}' does not exist (looked for {file}).", YamlJson.At(displayPath, inputFile), "Paths are relative to the test file."));
            else
                input = Js.ParseStateObject(System.IO.File.ReadAllBytes(file), inputFile.Value);
        }

        var credentials = new Dictionary<string, JsObject>(StringComparer.Ordinal);
        if (Node(root, "credentials") is YamlMappingNode credNode)
        {
            foreach (var (k, v) in credNode.Children)
            {
                if (YamlJson.ToJs(v) is JsObject values) credentials[((YamlScalarNode)k).Value!] = values;
                else problems.Add(new Diagnostic("FERRY503", $"Credential '{k}' must be a mapping of field: value.", YamlJson.At(displayPath, v)));
            }
        }

        var responses = new List<CannedResponse>();
        foreach (var section in new[] { "reads", "responses" })
        {
            if (Node(root, section) is not { } listNode) continue;
            if (listNode is not YamlSequenceNode list)
            {
                problems.Add(new Diagnostic("FERRY504", $"'{section}' must be a list of canned responses (- adaptor: …).", YamlJson.At(displayPath, listNode)));
                continue;
            }
            foreach (var item in list.Children)
            {
                if (item is not YamlMappingNode m)
                {
                    problems.Add(new Diagnostic("FERRY504", "A canned response must be a mapping with adaptor, operation, match and response.", YamlJson.At(displayPath, item)));
                    continue;
                }
                CheckKeys(m, ResponseKeys, displayPath, "canned response", problems);
                var adaptor = Text(m, "adaptor");
                if (adaptor is null) problems.Add(new Diagnostic("FERRY505", "A canned response needs 'adaptor'.", YamlJson.At(displayPath, m)));
                object? response = Node(m, "response") is { } r ? YamlJson.ToJs(r) : null;
                if (Node(m, "response_file") is YamlScalarNode rf)
                {
                    var file = Path.Combine(baseDir, rf.Value ?? "");
                    if (System.IO.File.Exists(file)) response = Js.Parse(System.IO.File.ReadAllBytes(file), rf.Value);
                    else problems.Add(new Diagnostic("FERRY502", $"response_file '{rf.Value}' does not exist (looked for {file}).", YamlJson.At(displayPath, rf)));
                }
                responses.Add(new CannedResponse(adaptor ?? "", Text(m, "operation"), Text(m, "step"), Node(m, "match") is { } match ? YamlJson.ToJs(match) : null, response));
            }
        }

        var status = "success";
        object? output = null;
        List<ExpectedWrite>? writes = null;
        string? error = null;
        var logs = new List<string>();
        if (Node(root, "expect") is YamlMappingNode expect)
        {
            CheckKeys(expect, ExpectKeys, displayPath, "expect", problems);
            if (Node(expect, "status") is YamlScalarNode s)
            {
                status = s.Value ?? "";
                if (!Statuses.Contains(status))
                    problems.Add(new Diagnostic("FERRY506", $"Unknown expected status '{status}'.", YamlJson.At(displayPath, s), $"Use one of: {string.Join(", ", Statuses)}. {Suggestions.DidYouMean(status, Statuses)}".Trim()));
            }
            if (Node(expect, "output") is { } o) output = YamlJson.ToJs(o);
            if (Node(expect, "output_file") is YamlScalarNode of)
            {
                var file = Path.Combine(baseDir, of.Value ?? "");
                if (System.IO.File.Exists(file)) output = Js.Parse(System.IO.File.ReadAllBytes(file), of.Value);
                else problems.Add(new Diagnostic("FERRY502", $"output_file '{of.Value}' does not exist (looked for {file}).", YamlJson.At(displayPath, of)));
            }
            if (Node(expect, "writes") is { } w)
            {
                writes = [];
                if (w is YamlSequenceNode ws)
                {
                    foreach (var item in ws.Children)
                    {
                        if (item is not YamlMappingNode wm)
                        {
                            problems.Add(new Diagnostic("FERRY507", "An expected write must be a mapping with adaptor, operation and request.", YamlJson.At(displayPath, item)));
                            continue;
                        }
                        CheckKeys(wm, WriteKeys, displayPath, "expected write", problems);
                        var adaptor = Text(wm, "adaptor");
                        var operation = Text(wm, "operation");
                        if (adaptor is null || operation is null)
                            problems.Add(new Diagnostic("FERRY507", "An expected write needs 'adaptor' and 'operation'.", YamlJson.At(displayPath, wm)));
                        writes.Add(new ExpectedWrite(adaptor ?? "", operation ?? "", Text(wm, "step"), Node(wm, "request") is { } req ? YamlJson.ToJs(req) : null, YamlJson.At(displayPath, wm)));
                    }
                }
                else if (!(w is YamlScalarNode empty && string.IsNullOrEmpty(empty.Value)))
                {
                    problems.Add(new Diagnostic("FERRY507", "'writes' must be a list (use [] to expect no writes).", YamlJson.At(displayPath, w)));
                }
            }
            error = Text(expect, "error");
            if (Node(expect, "logs") is YamlSequenceNode ls) logs.AddRange(ls.Children.OfType<YamlScalarNode>().Select(x => x.Value ?? ""));
        }
        else if (Node(root, "expect") is { } badExpect)
        {
            problems.Add(new Diagnostic("FERRY508", "'expect' must be a mapping (status, output, writes, error, logs).", YamlJson.At(displayPath, badExpect)));
        }

        if (problems.Count > 0) throw new FerryInputException(problems);
        return new FlowTest
        {
            Name = Text(root, "name") ?? Path.GetFileNameWithoutExtension(path),
            File = displayPath,
            Workflow = Text(root, "workflow"),
            Start = Text(root, "start"),
            Only = Text(root, "only"),
            Input = input,
            Credentials = credentials,
            Cursor = Node(root, "cursor") is { } c ? YamlJson.ToJs(c) : null,
            Responses = responses,
            ExpectStatus = status,
            ExpectOutput = output,
            ExpectWrites = writes,
            ExpectError = error,
            ExpectLogs = logs,
        };
    }

    private static YamlNode? Node(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    private static string? Text(YamlMappingNode map, string key) => Node(map, key) is YamlScalarNode s ? s.Value : null;

    private static void CheckKeys(YamlMappingNode map, string[] allowed, string file, string what, List<Diagnostic> problems)
    {
        foreach (var key in map.Children.Keys.OfType<YamlScalarNode>())
        {
            if (allowed.Contains(key.Value)) continue;
            problems.Add(new Diagnostic("FERRY500", $"Unknown key '{key.Value}' in {what}.", YamlJson.At(file, key),
                $"{Suggestions.DidYouMean(key.Value ?? "", allowed)} Allowed: {string.Join(", ", allowed)}.".Trim()));
        }
    }
}
