using System.CommandLine;
using System.Text.RegularExpressions;
using Ferry.Diagnostics;

namespace Ferry.Cli;

/// <summary><c>ferry new NAME [--template T]</c>: scaffolds a project from a template shipped inside ferry (Templates/).</summary>
internal static partial class NewCommand
{
    private const string ResourcePrefix = "Ferry.Templates/";

    public static Command Build()
    {
        var name = new Argument<string>("name") { Description = "Project name and folder: lowercase letters, digits and '-'." };
        var template = new Option<string>("--template", "-t") { Description = $"Template: {string.Join(", ", TemplateNames())}.", DefaultValueFactory = _ => "basic" };
        var command = new Command("new", "Create a project folder from a template (ferry.yaml, jobs/, mappings/, tests/).") { name, template };
        command.SetAction((parse, _) =>
        {
            var o = new Output(json: false);
            return FerryCommand.Guard(o, () => Task.FromResult(Execute(o, parse.GetValue(name)!, parse.GetValue(template)!)));
        });
        return command;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex ValidName();

    private static IEnumerable<string> TemplateNames() => Resources().Select(r => r.Template).Distinct().Order(StringComparer.Ordinal);

    /// <summary>Embedded template files as (template, relative path, resource name).</summary>
    private static IEnumerable<(string Template, string Path, string Resource)> Resources() =>
        typeof(NewCommand).Assembly.GetManifestResourceNames()
            .Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(r =>
            {
                var rest = r[ResourcePrefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                return (rest[..slash], rest[(slash + 1)..], r);
            });

    private static int Execute(Output output, string name, string template)
    {
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(name));
        if (!ValidName().IsMatch(folderName))
            throw new FerryInputException("FERRY050", $"'{folderName}' is not a valid project name.", null, "Use lowercase letters, digits and '-', e.g. 'kobo-to-dhis2'.");
        var files = Resources().Where(r => r.Template == template).ToArray();
        if (files.Length == 0)
            throw new FerryInputException("FERRY051", $"Unknown template '{template}'.", null,
                $"{Suggestions.DidYouMean(template, TemplateNames())} Templates: {string.Join(", ", TemplateNames())}.".Trim());
        if (Directory.Exists(name) && Directory.EnumerateFileSystemEntries(name).Any())
            throw new FerryInputException("FERRY052", $"Folder '{name}' already exists and is not empty.", null, "Choose another name or remove the folder.");
        var assembly = typeof(NewCommand).Assembly;
        foreach (var (_, path, resource) in files)
        {
            var target = System.IO.Path.Combine(name, path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            File.WriteAllText(target, reader.ReadToEnd().Replace("{{name}}", folderName, StringComparison.Ordinal));
        }
        output.Success($"✓ Created {name}/ from template '{template}' ({files.Length} files).");
        output.Info($"Next: ferry validate {name} && ferry test {name}");
        return ExitCodes.Success;
    }
}
