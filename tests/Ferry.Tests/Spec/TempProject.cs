using Ferry.Diagnostics;
using Ferry.Spec;

namespace Ferry.Tests.Spec;

/// <summary>A project folder under the temp directory, removed after the test.</summary>
internal sealed class TempProject : IDisposable
{
    public static readonly string[] Adaptors = ["http", "postgres", "godata", "email", "fhir", "dhis2"];

    public TempProject()
    {
        Directory = Path.Combine(Path.GetTempPath(), "ferry-spec-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string SpecFile => Path.Combine(Directory, "ferry.yaml");

    public TempProject Write(string relativePath, string content)
    {
        var full = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return this;
    }

    public ProjectLoadResult Load(string yaml)
    {
        Write("ferry.yaml", yaml);
        return Load();
    }

    public ProjectLoadResult Load() => ProjectLoader.Load(Directory, new ProjectLoadOptions { KnownAdaptors = Adaptors });

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* best effort */ }
    }
}

internal static class SpecAssertions
{
    /// <summary>The only diagnostic with the code; fails listing all diagnostics when there are none or several.</summary>
    public static Diagnostic Only(this ProjectLoadResult result, string code)
    {
        var matching = result.Diagnostics.Where(d => d.Code == code).ToArray();
        Assert.True(matching.Length == 1,
            $"Expected one {code}, found {matching.Length} in:{Environment.NewLine}{string.Join(Environment.NewLine, result.Diagnostics)}");
        return matching[0];
    }

    public static void AssertAt(this Diagnostic diagnostic, int line, int column)
    {
        Assert.NotNull(diagnostic.Location);
        Assert.True(diagnostic.Location.Line == line && diagnostic.Location.Column == column,
            $"Expected {diagnostic.Code} at {line}:{column}, got {diagnostic}");
        Assert.EndsWith("ferry.yaml", diagnostic.Location.File, StringComparison.Ordinal);
    }

    public static void AssertNoErrors(this ProjectLoadResult result) =>
        Assert.True(!result.HasErrors, string.Join(Environment.NewLine, result.Diagnostics));
}
