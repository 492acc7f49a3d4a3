using System.Text.RegularExpressions;
using Ferry.Diagnostics;

namespace Ferry.Spec;

internal sealed partial class SpecReader
{
    internal static readonly string[] StepKeys = ["name", "adaptor", "credential", "code", "map", "next", "timeout"];
    private static readonly string[] MapExtensions = [".yaml", ".yml", ".csv"];

    /// <summary>Extensions that make a one-line <c>code:</c> value a file name rather than inline C#.</summary>
    private static readonly string[] FileLikeExtensions = [".csx", ".cs", ".js", ".ts", ".py", ".txt", ".json", ".yaml", ".yml", ".csv", ".sql"];

    private static readonly string[] SkippedFolders = [".git", "bin", "obj", "node_modules", ".ferry"];
    private Dictionary<string, List<string>>? _projectFiles;

    private StepSpec ReadStep(YScalar key, YNode node, string workflowWhere)
    {
        var id = key.Value;
        CheckId(key, "step");
        var where = $"step '{id}' of {workflowWhere}";
        var map = AsMap(node, where, $"{id}: {{ adaptor: http, code: jobs/{Slug(id, "step")}.csx }}");
        if (map is null)
        {
            if (node is YScalar { IsNull: true })
            {
                Error(SpecCodes.StepWithoutWork, $"Step '{id}' has neither 'code' nor 'map', so it would do nothing.", key,
                    $"Add code: jobs/{Slug(id, "step")}.csx (or inline code with code: |), or map: mappings/{Slug(id, "step")}.yaml.");
            }
            return new StepSpec { Id = id, Location = At(key) };
        }
        CheckKeys(map, where, StepKeys);

        var adaptorNode = map["adaptor"];
        var adaptor = adaptorNode is null ? null : ReadString(adaptorNode, $"the 'adaptor' of {where}");
        if (adaptor is not null) CheckAdaptorKnown(adaptor, adaptorNode!, where);
        var c = map["credential"];
        var credential = c is null ? null : ReadString(c, $"the 'credential' of {where}");
        if (credential is not null)
        {
            var declared = CheckCredentialDeclared(credential, c!);
            if (adaptor is null)
            {
                Error(SpecCodes.CredentialWithoutAdaptor, $"Step '{id}' names credential '{credential}' but no adaptor to use it with.", c,
                    $"Add adaptor: {declared?.Adaptor ?? "<kind>"}, or remove the credential (code without an adaptor reaches no system).");
            }
            else if (declared is not null && declared.Adaptor != adaptor)
            {
                Error(SpecCodes.CredentialAdaptorMismatch, $"Step '{id}' uses adaptor '{adaptor}' with credential '{credential}', which is declared for adaptor '{declared.Adaptor}' ({declared.Location}).",
                    c, Hint($"Use a credential declared with adaptor: {adaptor}", CredentialsFor(_credentials, adaptor), $"or change the step's adaptor to {declared.Adaptor}."));
            }
        }

        string? code = null, codeFile = null;
        SourceLocation? codeLocation = null;
        var codeNode = map["code"];
        if (codeNode is not null) (code, codeFile, codeLocation) = ReadCode(codeNode, where);

        string? mapFile = null;
        SourceLocation? mapLocation = null;
        var mapNode = map["map"];
        if (mapNode is not null && ReadString(mapNode, $"the 'map' of {where}") is { } mapPath)
        {
            mapLocation = AtText((YScalar)mapNode);
            if (CheckFile(mapPath, mapNode, where, "mapping", MapExtensions, SpecCodes.MapFileExtension, SpecCodes.MapFileNotFound) is not null)
                mapFile = mapPath;
        }

        var hasWork = (codeNode is not null && codeNode is not YScalar { IsNull: true }) || (mapNode is not null && mapNode is not YScalar { IsNull: true });
        if (!hasWork)
        {
            Error(SpecCodes.StepWithoutWork, $"Step '{id}' has neither 'code' nor 'map', so it would do nothing.", codeNode ?? mapNode ?? key,
                $"Add code: jobs/{Slug(id, "step")}.csx (or inline code with code: |), or map: mappings/{Slug(id, "step")}.yaml.");
        }

        return new StepSpec
        {
            Id = id,
            Name = map["name"] is { } n ? ReadString(n, $"the 'name' of {where}") : null,
            Adaptor = adaptor,
            Credential = credential,
            Code = code,
            CodeFile = codeFile,
            CodeLocation = codeLocation,
            Map = mapFile,
            MapLocation = mapLocation,
            Next = map["next"] is { } next ? ReadNext(next, where, fromTrigger: false) : [],
            Timeout = map["timeout"] is { } t ? ReadDuration(t, $"the 'timeout' of {where}") : null,
            Location = At(key),
        };
    }

    private static string? CredentialsFor(List<CredentialSpec> credentials, string adaptor)
    {
        var names = credentials.Where(c => c.Adaptor == adaptor).Select(c => c.Name).ToArray();
        return names.Length == 0 ? null : $"({string.Join(", ", names)}),";
    }

    private CredentialSpec? CheckCredentialDeclared(string name, YNode node)
    {
        if (_credentials.FirstOrDefault(c => c.Name == name) is { } declared) return declared;
        Error(SpecCodes.UnknownCredential, $"Credential '{name}' is not declared under 'credentials:'.", node,
            Hint(DidYouMean(name, _credentials.Select(c => c.Name)),
                $"Declare it at the top of ferry.yaml: credentials: {{ {name}: {{ adaptor: <kind> }} }} (values live on the server or in the credentials file, never in ferry.yaml)."));
        return null;
    }

    private (string? Code, string? File, SourceLocation? Location) ReadCode(YNode node, string where)
    {
        if (ReadString(node, $"the 'code' of {where}") is not { } text) return (null, null, null);
        var scalar = (YScalar)node;
        if (scalar.IsBlock || text.Contains('\n') || !LooksLikePath(text))
        {
            if (text.Trim().Length == 0)
            {
                Error(SpecCodes.StepWithoutWork, $"The inline 'code' of {where} is empty.", node, "Write C# statements under code: |, or name a .csx file.");
                return (null, null, null);
            }
            return (text, null, AtText(scalar));
        }
        var full = CheckFile(text, node, where, "code", [".csx"], SpecCodes.CodeFileExtension, SpecCodes.CodeFileNotFound);
        if (full is null) return (null, null, null);
        try
        {
            return (File.ReadAllText(full), text, new SourceLocation(DisplayPath(text), 1, 1));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error(SpecCodes.CodeFileNotFound, $"The code file '{text}' of {where} could not be read: {e.Message}", node,
                $"Check the permissions of {full}.");
            return (null, text, null);
        }
    }

    private static bool LooksLikePath(string text) =>
        PathLike().IsMatch(text)
        && (text.Contains('/') || text.Contains('\\') || FileLikeExtensions.Contains(Path.GetExtension(text).ToLowerInvariant()));

    /// <summary>Checks a project-relative file reference; returns its full path when it exists and is acceptable.</summary>
    private string? CheckFile(string relative, YNode node, string where, string kind, string[] extensions, string extensionCode, string missingCode)
    {
        var extension = Path.GetExtension(relative).ToLowerInvariant();
        if (!extensions.Contains(extension))
        {
            Error(extensionCode, $"The {kind} file '{relative}' of {where} ends in '{(extension.Length == 0 ? "(no extension)" : extension)}', not {string.Join(" or ", extensions)}.", node,
                kind == "code"
                    ? $"Step code is a C# script: name it {Path.ChangeExtension(relative, ".csx")}, or write the code inline with code: |."
                    : $"A mapping spec is a .yaml/.yml file or a .csv exported from the mapping sheet, e.g. {Path.ChangeExtension(relative, ".yaml")}.");
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(_projectDirectory, relative));
        var root = Path.TrimEndingDirectorySeparator(_projectDirectory) + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(relative) || !full.StartsWith(root, StringComparison.Ordinal))
        {
            Error(SpecCodes.InvalidValue, $"The {kind} file '{relative}' of {where} is outside the project folder.", node,
                "Paths are relative to the folder of ferry.yaml and stay inside it (the folder is what gets versioned and deployed); move the file into the project.");
            return null;
        }
        if (File.Exists(full)) return full;
        var candidates = ProjectFiles(extension);
        Error(missingCode, $"The {kind} file '{relative}' of {where} does not exist (looked for {DisplayPath(relative)}).", node,
            Hint(DidYouMean(relative, candidates), $"Create the file, or fix the path (relative to the folder of ferry.yaml)."));
        return null;
    }

    /// <summary>Project-relative paths (with '/') of files with an extension, for did-you-mean on missing files.</summary>
    private List<string> ProjectFiles(string extension)
    {
        _projectFiles ??= [];
        if (_projectFiles.TryGetValue(extension, out var cached)) return cached;
        var found = new List<string>();
        var pending = new Stack<(string Path, int Depth)>([(_projectDirectory, 0)]);
        while (pending.Count > 0 && found.Count < 2000)
        {
            var (directory, depth) = pending.Pop();
            try
            {
                found.AddRange(Directory.EnumerateFiles(directory, "*" + extension)
                    .Select(f => Path.GetRelativePath(_projectDirectory, f).Replace('\\', '/')));
                if (depth >= 4) continue;
                foreach (var sub in Directory.EnumerateDirectories(directory))
                {
                    if (!SkippedFolders.Contains(Path.GetFileName(sub))) pending.Push((sub, depth + 1));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A folder we cannot list only means fewer suggestions.
            }
        }
        _projectFiles[extension] = found;
        return found;
    }

    [GeneratedRegex(@"^[^\s;(){}""'=<>!&|+*,]+\.[A-Za-z0-9]{1,5}$")]
    private static partial Regex PathLike();
}
