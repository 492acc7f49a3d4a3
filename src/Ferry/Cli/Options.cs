using System.CommandLine;

namespace Ferry.Cli;

/// <summary>Options several verbs share, defined once so names and help stay identical.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print a machine-readable JSON result on stdout." };

    public static Argument<string> Project() => new("project")
    {
        Description = "Project folder (holding ferry.yaml) or the ferry.yaml file.",
        DefaultValueFactory = _ => ".",
    };
}
