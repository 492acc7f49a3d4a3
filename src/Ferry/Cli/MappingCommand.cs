using System.CommandLine;
using Ferry.Mapping;

namespace Ferry.Cli;

/// <summary><c>ferry mapping doc SPEC</c>: renders a mapping spec as the table both system owners read.</summary>
internal static class MappingCommand
{
    public static Command Build()
    {
        var spec = new Argument<string>("spec") { Description = "Mapping spec file (.yaml or .csv)." };
        var format = new Option<string>("--format", "-f") { Description = "markdown or html.", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("markdown", "html");
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of stdout." };
        var doc = new Command("doc", "Render a mapping spec as a Markdown or HTML table.") { spec, format, output };
        doc.SetAction((parse, _) =>
        {
            var o = new Output(json: false);
            return FerryCommand.Guard(o, () =>
            {
                var path = parse.GetValue(spec)!;
                var loaded = MappingSpecLoader.Load(path, Paths.Display(Path.GetFullPath(path)));
                var text = MappingDoc.Render(loaded, parse.GetValue(format)!);
                if (parse.GetValue(output) is { } file)
                {
                    File.WriteAllText(file, text);
                    o.Success($"✓ wrote {file}");
                }
                else
                {
                    Output.Stdout(text);
                }
                return Task.FromResult(ExitCodes.Success);
            });
        });
        return new Command("mapping", "Work with mapping specs.") { doc };
    }
}
