using System.CommandLine;
using Ferry.Deploy;
using Ferry.Diagnostics;
using Ferry.Json;

namespace Ferry.Cli;

/// <summary>
/// <c>ferry deploy [PROJECT] --server URL</c>: validates locally, shows what changes against the server's current
/// version, asks, and pushes a new version. <c>ferry pull PROJECT --server URL</c> writes a version back to a folder.
/// </summary>
internal static class DeployCommand
{
    public static Command Build()
    {
        var project = CommonOptions.Project();
        var server = ServerOption();
        var token = TokenOption();
        var yes = new Option<bool>("--yes", "-y") { Description = "Deploy without asking." };
        var json = CommonOptions.Json();
        var command = new Command("deploy", "Push the project to a server as a new version (shows the diff and asks first).") { project, server, token, yes, json };
        command.SetAction((parse, cancel) =>
        {
            var o = new Output(parse.GetValue(json));
            return FerryCommand.Guard(o, () => Deploy(o, parse.GetValue(project)!, parse.GetValue(server), parse.GetValue(token), parse.GetValue(yes), cancel));
        });
        return command;
    }

    public static Command BuildPull()
    {
        var name = new Argument<string>("project") { Description = "Project name on the server." };
        var server = ServerOption();
        var token = TokenOption();
        var version = new Option<int?>("--version") { Description = "Version to pull (default: the current one)." };
        var output = new Option<string?>("--output", "-o") { Description = "Folder to write (default: ./PROJECT)." };
        var force = new Option<bool>("--force") { Description = "Write into a folder that is not empty." };
        var command = new Command("pull", "Write a project version from a server into a folder.") { name, server, token, version, output, force };
        command.SetAction((parse, cancel) =>
        {
            var o = new Output(json: false);
            return FerryCommand.Guard(o, () => Pull(o, parse.GetValue(name)!, parse.GetValue(server), parse.GetValue(token), parse.GetValue(version), parse.GetValue(output), parse.GetValue(force), cancel));
        });
        return command;
    }

    private static Option<string?> ServerOption() => new("--server") { Description = "Server URL (default: FERRY_SERVER)." };

    private static Option<string?> TokenOption() => new("--token") { Description = "API token (default: FERRY_TOKEN)." };

    private static async Task<int> Deploy(Output output, string projectPath, string? server, string? token, bool yes, CancellationToken cancel)
    {
        // The same checks the server makes, so problems show with local paths before anything is sent.
        var workspace = Engine.ProjectWorkspace.Open(projectPath, Workspace.Options());
        var name = workspace.Project.Name;
        var bundle = ProjectBundle.FromDirectory(workspace.Project.Directory);
        using var client = new ServerClient(server, token);
        var current = await client.GetAsync($"/api/projects/{name}/versions/current", cancel) as JsObject;
        var currentBundle = current?["bundle"] is JsObject b ? ProjectBundle.FromJson(Js.ToJson(b), "server") : null;
        var changes = BundleDiff.Compare(currentBundle, bundle);
        if (changes.Count == 0)
        {
            output.Success($"✓ {name}: the server's current version (v{current?["version"]}) is identical; nothing to deploy.");
            return ExitCodes.Success;
        }
        output.Info(current is null ? $"{name} is new on {client.Server}:" : $"Changes against {name} v{current["version"]} on {client.Server}:");
        foreach (var change in changes) output.Info($"  {change}");
        if (!yes)
        {
            if (Console.IsInputRedirected)
                throw new FerryInputException("FERRY624", "Deploy needs a confirmation and there is no terminal to ask on.", null, "Pass --yes to deploy without asking (e.g. in CI).");
            Console.Error.Write("Deploy this as a new version? [y/N] ");
            var answer = Console.ReadLine()?.Trim().ToLowerInvariant();
            if (answer is not ("y" or "yes"))
            {
                output.Info("Not deployed.");
                return ExitCodes.Success;
            }
        }
        var created = await client.PostAsync($"/api/projects/{name}/versions", bundle.ToJson(), cancel) as JsObject;
        output.Success($"✓ Deployed {name} v{created?["version"]} to {client.Server}.");
        if (output.Json) Output.Stdout(Js.ToJson(created, indented: true));
        return ExitCodes.Success;
    }

    private static async Task<int> Pull(Output output, string name, string? server, string? token, int? version, string? folder, bool force, CancellationToken cancel)
    {
        using var client = new ServerClient(server, token);
        var path = version is null ? $"/api/projects/{name}/versions/current" : $"/api/projects/{name}/versions/{version}";
        var record = await client.GetAsync(path, cancel) as JsObject
            ?? throw new FerryInputException("FERRY625", $"The server has no {(version is null ? "version" : $"version {version}")} of project '{name}'.", null, "Check the name with the server's /api/projects.");
        var bundle = ProjectBundle.FromJson(Js.ToJson(record["bundle"]), "server");
        folder ??= name;
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !force)
            throw new FerryInputException("FERRY626", $"Folder '{folder}' is not empty.", null, "Pass --force to overwrite its files, or -o another folder.");
        bundle.WriteTo(folder);
        output.Success($"✓ Wrote {name} v{record["version"]} ({bundle.Files.Count} files) to {folder}/.");
        return ExitCodes.Success;
    }
}
