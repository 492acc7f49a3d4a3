using Ferry.Json;

namespace Ferry.Cli;

/// <summary>
/// Where <c>ferry run</c> keeps a workflow's cursor between local runs: <c>.ferry/cursors/WORKFLOW.json</c> in the
/// project. (The server keeps cursors in its database.)
/// </summary>
internal sealed class CursorFile(string projectDirectory, string workflow)
{
    private readonly string _path = Path.Combine(projectDirectory, ".ferry", "cursors", workflow + ".json");

    public object? Read() => File.Exists(_path) ? Js.Parse(File.ReadAllBytes(_path), _path) : null;

    public void Write(object? value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temp = _path + ".tmp";
        File.WriteAllBytes(temp, Js.ToUtf8(value, indented: true));
        File.Move(temp, _path, overwrite: true);
    }
}
