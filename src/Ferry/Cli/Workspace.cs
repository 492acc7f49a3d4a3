using Ferry.Engine;

namespace Ferry.Cli;

internal static class Workspace
{
    /// <summary>The CLI's workspace settings: built-in adaptors and the user's step cache.</summary>
    public static WorkspaceOptions Options() => new()
    {
        Catalog = Adaptors.BuiltInAdaptors.Catalog,
        CacheDirectory = Paths.StepCache(),
        DisplayPath = Paths.Display,
    };
}
