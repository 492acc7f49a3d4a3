using Ferry.Diagnostics;
using YamlDotNet.Core;

namespace Ferry.Spec;

/// <summary>Options of <see cref="ProjectLoader.Load"/>.</summary>
public sealed class ProjectLoadOptions
{
    /// <summary>Adaptor kinds that exist (e.g. from the AdaptorCatalog). Empty: adaptor names are not checked.</summary>
    public IReadOnlyCollection<string> KnownAdaptors { get; init; } = [];
}

/// <summary>The loaded project (null only when ferry.yaml is missing or unreadable as YAML) and every problem found.</summary>
public sealed record ProjectLoadResult(ProjectSpec? Project, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.IsError);

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);
}

/// <summary>Reads and validates a project's ferry.yaml (DESIGN §2): every problem at once, each with file:line:col.</summary>
public static class ProjectLoader
{
    public const string SpecFileName = "ferry.yaml";

    /// <summary>
    /// Loads <c>&lt;directory&gt;/ferry.yaml</c> (or the YAML file <paramref name="projectPath"/> names), reads the
    /// .csx files steps refer to into <see cref="StepSpec.Code"/>, and returns the spec with every problem found.
    /// Step code and edge expressions are not compiled here; their text and exact locations are kept for the compiler.
    /// </summary>
    public static ProjectLoadResult Load(string projectPath, ProjectLoadOptions options)
    {
        var diagnostics = new List<Diagnostic>();
        var (specFile, displayFile) = LocateSpecFile(projectPath);
        if (!File.Exists(specFile))
        {
            var folder = Path.GetDirectoryName(specFile)!;
            var shown = DisplayDirectory(displayFile) is { Length: > 0 } d ? d : "the current folder";
            var message = Directory.Exists(folder)
                ? $"No {Path.GetFileName(specFile)} in {shown}."
                : $"The project folder {shown} does not exist.";
            diagnostics.Add(new Diagnostic(SpecCodes.FileNotFound, message, new SourceLocation(displayFile, 0, 0),
                "Run the command from a project folder or pass its path (ferry validate path/to/project); `ferry new NAME` creates one."));
            return new ProjectLoadResult(null, diagnostics);
        }

        string text;
        try
        {
            text = File.ReadAllText(specFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Add(new Diagnostic(SpecCodes.FileNotFound, $"{displayFile} could not be read: {e.Message}", new SourceLocation(displayFile, 0, 0),
                "Check that the file is readable by the user running ferry."));
            return new ProjectLoadResult(null, diagnostics);
        }
        return Parse(text, specFile, displayFile, options);
    }

    /// <summary>Loads ferry.yaml text already in memory (the file at <paramref name="specFile"/> need not exist; code files must).</summary>
    public static ProjectLoadResult LoadText(string yaml, string specFile, ProjectLoadOptions options)
    {
        var full = Path.GetFullPath(specFile);
        return Parse(yaml, full, DisplayPath(specFile, full), options);
    }

    private static ProjectLoadResult Parse(string text, string specFile, string displayFile, ProjectLoadOptions options)
    {
        var diagnostics = new List<Diagnostic>();
        YNode? root;
        try
        {
            (root, var moreDocuments) = YamlTree.Parse(text);
            if (moreDocuments)
            {
                diagnostics.Add(new Diagnostic(SpecCodes.MoreThanOneDocument, $"{displayFile} holds more than one YAML document ('---'); only the first is read.",
                    new SourceLocation(displayFile, 0, 0), "Keep one document: remove the '---' separator and what follows, or merge it into the first."));
            }
        }
        catch (YamlException e)
        {
            var reason = (e.InnerException as YamlException)?.Message ?? e.Message;
            var mark = e.Start;
            diagnostics.Add(new Diagnostic(SpecCodes.MalformedYaml, $"{displayFile} is not valid YAML: {Describe(reason)}",
                new SourceLocation(displayFile, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column)),
                "Check the indentation (spaces, not tabs), colons after keys, and matching quotes and brackets around this place."));
            return new ProjectLoadResult(null, diagnostics);
        }

        if (root is not YMap map)
        {
            var found = root is null ? "empty" : $"{root.Kind}";
            diagnostics.Add(new Diagnostic(SpecCodes.RootNotMapping, $"{displayFile} must be a mapping of keys (name, workflows, …), but it is {found}.",
                new SourceLocation(displayFile, root?.Line ?? 1, root?.Column ?? 1),
                "Start the file with: name: my-project, then workflows: with at least one workflow."));
            return new ProjectLoadResult(null, diagnostics);
        }

        var projectDirectory = Path.GetDirectoryName(specFile)!;
        var reader = new SpecReader(displayFile, text, projectDirectory, DisplayDirectory(displayFile), options, diagnostics);
        var project = reader.ReadProject(map, specFile);
        var ordered = diagnostics
            .Select((d, i) => (d, i))
            .OrderBy(x => x.d.Location?.File == displayFile ? 0 : 1)
            .ThenBy(x => x.d.Location?.Line ?? 0)
            .ThenBy(x => x.d.Location?.Column ?? 0)
            .ThenBy(x => x.i)
            .Select(x => x.d)
            .ToArray();
        return new ProjectLoadResult(project, ordered);
    }

    /// <summary>The full path of ferry.yaml and the path to show the user (relative to the current directory when possible).</summary>
    private static (string Full, string Display) LocateSpecFile(string projectPath)
    {
        var typed = string.IsNullOrWhiteSpace(projectPath) ? "." : projectPath;
        var full = Path.GetFullPath(typed);
        var isYaml = full.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || full.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        if (!isYaml || Directory.Exists(full))
        {
            var yml = Path.Combine(full, "ferry.yml");
            var name = !File.Exists(Path.Combine(full, SpecFileName)) && File.Exists(yml) ? "ferry.yml" : SpecFileName;
            full = Path.Combine(full, name);
            typed = Path.Combine(typed, name);
        }
        return (full, DisplayPath(typed, full));
    }

    private static string DisplayPath(string typed, string full)
    {
        if (!Path.IsPathRooted(typed)) return Normalize(typed);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : Normalize(relative);
    }

    private static string Normalize(string path)
    {
        var p = path.Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal)) p = p[2..];
        return p.Replace("/./", "/", StringComparison.Ordinal);
    }

    private static string DisplayDirectory(string displayFile)
    {
        var directory = Path.GetDirectoryName(displayFile) ?? "";
        return directory.Length == 0 ? "" : directory.Replace('\\', '/');
    }

    /// <summary>YamlDotNet messages start with a "(Line: …)" prefix; the location is reported separately.</summary>
    private static string Describe(string message)
    {
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        var text = message.StartsWith("(Line:", StringComparison.Ordinal) && close > 0 ? message[(close + 3)..] : message;
        return text.TrimEnd('.') + ".";
    }
}
