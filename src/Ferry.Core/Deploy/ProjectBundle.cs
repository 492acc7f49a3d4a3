using System.Security.Cryptography;
using System.Text;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Deploy;

/// <summary>
/// A project version as deployed: every file of the project (ferry.yaml, jobs/, mappings/, tests/) by relative path.
/// It is what `ferry deploy` sends, what the server stores as a version, and what `ferry pull` writes back.
/// </summary>
public sealed class ProjectBundle
{
    /// <summary>Folders and files that are never part of a version (local state, caches, VCS).</summary>
    private static readonly string[] Ignored = [".ferry", ".git", "bin", "obj", "node_modules"];

    /// <summary>Largest bundle accepted (all files together).</summary>
    public const long MaxBytes = 20L * 1024 * 1024;

    public ProjectBundle(IReadOnlyDictionary<string, string> files)
    {
        Files = new SortedDictionary<string, string>(files.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
    }

    /// <summary>File contents by relative path with '/' separators, sorted.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>SHA-256 of the paths and contents: equal bundles have equal hashes.</summary>
    public string Hash
    {
        get
        {
            var text = new StringBuilder();
            foreach (var (path, content) in Files) text.Append(path).Append('\0').Append(content).Append('\0');
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
        }
    }

    public static ProjectBundle FromDirectory(string directory)
    {
        var root = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(root, "ferry.yaml")))
            throw new FerryInputException("FERRY601", $"'{directory}' has no ferry.yaml, so it is not a Ferry project.", null, "Point at the project folder (the one holding ferry.yaml).");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Split('/').Any(part => Ignored.Contains(part))) continue;
            var content = File.ReadAllText(file);
            total += content.Length;
            if (total > MaxBytes)
                throw new FerryInputException("FERRY602", $"The project is larger than {MaxBytes / (1024 * 1024)} MB.", new SourceLocation(relative, 0, 0), "Keep data files out of the project folder.");
            files[relative] = content;
        }
        return new ProjectBundle(files);
    }

    /// <summary>Writes the files under <paramref name="directory"/> (created if needed), refusing paths that leave it.</summary>
    public void WriteTo(string directory)
    {
        var root = Path.GetFullPath(directory);
        foreach (var (relative, content) in Files)
        {
            var target = Path.GetFullPath(Path.Combine(root, relative));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new FerryInputException("FERRY603", $"Bundle path '{relative}' points outside the project folder.", null, "Paths in a bundle are relative and stay inside the project.");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, content);
        }
    }

    public string ToJson() => Js.ToJson(new JsObject { ["files"] = Files.ToDictionary(kv => kv.Key, kv => (object?)kv.Value) });

    /// <summary>Reads a bundle sent over HTTP or stored in the database; every problem names its JSON path.</summary>
    public static ProjectBundle FromJson(string json, string source = "bundle")
    {
        if (Js.Parse(json, source) is not JsObject root || root.Get("files") is not JsObject files)
            throw new FerryInputException("FERRY604", "A project bundle must be {\"files\": {\"ferry.yaml\": \"…\", …}}.", new SourceLocation(source, 0, 0), "Create bundles with `ferry deploy`.");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<Diagnostic>();
        foreach (var (path, content) in files)
        {
            if (content is not string text) problems.Add(new Diagnostic("FERRY605", $"$.files['{path}'] must be the file's text.", new SourceLocation(source, 0, 0)));
            else if (path.Length == 0 || path.StartsWith('/') || path.Split('/').Contains("..")) problems.Add(new Diagnostic("FERRY603", $"$.files['{path}'] is not a relative path inside the project.", new SourceLocation(source, 0, 0)));
            else result[path] = text;
        }
        if (!result.ContainsKey("ferry.yaml")) problems.Add(new Diagnostic("FERRY606", "The bundle has no ferry.yaml ($.files['ferry.yaml']).", new SourceLocation(source, 0, 0)));
        if (problems.Count > 0) throw new FerryInputException(problems);
        return new ProjectBundle(result);
    }
}
