using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Cli;

/// <summary>
/// Reads <c>--credentials creds.json</c>: <c>{ "name": { "field": "value", … }, … }</c>, one entry per credential
/// declared in ferry.yaml. Values never go to logs or outputs.
/// </summary>
internal static class CredentialsFile
{
    /// <summary>The key under which a flat (single-credential) file is returned.</summary>
    public const string FlatKey = "";

    /// <param name="allowFlat">A single step's file may be the credential itself: {"baseUrl": …}.</param>
    public static Dictionary<string, JsObject> Load(string? path, bool allowFlat = false)
    {
        var result = new Dictionary<string, JsObject>(StringComparer.Ordinal);
        if (path is null) return result;
        var display = Paths.Display(Path.GetFullPath(path));
        if (!File.Exists(path))
            throw new FerryInputException("FERRY310", $"Credentials file '{display}' does not exist.", null,
                "Create it as {\"<credential name>\": {\"field\": \"value\"}} or drop --credentials.");
        var parsed = Js.Parse(File.ReadAllBytes(path), display);
        if (parsed is not JsObject root)
            throw new FerryInputException("FERRY311", "A credentials file must be a JSON object keyed by credential name.", new SourceLocation(display, 1, 1),
                "Write {\"<credential name>\": {\"field\": \"value\"}}.");
        if (allowFlat && root.Any(kv => kv.Value is not JsObject)) return new Dictionary<string, JsObject>(StringComparer.Ordinal) { [FlatKey] = root };
        var problems = new List<Diagnostic>();
        foreach (var (name, value) in root)
        {
            if (value is JsObject values) result[name] = values;
            else problems.Add(new Diagnostic("FERRY312", $"Credential '{name}' must be an object of fields, found {(value is null ? "null" : value.GetType().Name.ToLowerInvariant())}.",
                new SourceLocation(display, 0, 0), $"Write \"{name}\": {{\"field\": \"value\"}}."));
        }
        if (problems.Count > 0) throw new FerryInputException(problems);
        return result;
    }
}
