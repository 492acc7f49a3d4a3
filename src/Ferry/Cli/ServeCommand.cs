using System.CommandLine;
using Ferry.Server;
using Microsoft.Extensions.Hosting;

namespace Ferry.Cli;

/// <summary>
/// <c>ferry serve</c>: the platform. With no options: embedded SQLite under ./.ferry, API on http://localhost:4000.
/// Flags win over FERRY_DATA / FERRY_DATABASE / FERRY_URLS, which win over the defaults (docs/operations.md).
/// </summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var data = new Option<string?>("--data") { Description = "Data folder (default ./.ferry, or FERRY_DATA)." };
        var database = new Option<string?>("--database") { Description = "PostgreSQL connection string (default: embedded SQLite in the data folder, or FERRY_DATABASE)." };
        var urls = new Option<string?>("--urls") { Description = "Listen addresses (default http://localhost:4000, or FERRY_URLS)." };
        var deploy = new Option<string[]>("--deploy") { Description = "Project folders to deploy at start (a new version when they changed).", AllowMultipleArgumentsPerToken = true };
        var workers = new Option<int?>("--workers") { Description = "Runs executed at once (default: 2 per core)." };
        var lease = new Option<int?>("--lease") { Description = "Seconds a claimed run may go without a heartbeat before it is marked lost and retried (default 30)." };
        var backlog = new Option<int?>("--intake-backlog")
        {
            Description = "Accepted webhook requests that may wait in the intake journal for the database before webhooks answer 503 (default 100000).",
        };
        backlog.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1) result.AddError("--intake-backlog must be 1 or more (accepted requests that may wait for the database).");
        });
        var command = new Command("serve", "Run the Ferry server: webhook intake, run queue and workers, history and the API.") { data, database, urls, deploy, workers, lease, backlog };
        command.SetAction((parse, cancel) =>
        {
            var o = new Output(json: false);
            return FerryCommand.Guard(o, async () =>
            {
                var defaults = new ServerOptions();
                var options = new ServerOptions
                {
                    DataDirectory = parse.GetValue(data) ?? Environment.GetEnvironmentVariable("FERRY_DATA") ?? defaults.DataDirectory,
                    Database = parse.GetValue(database) ?? Environment.GetEnvironmentVariable("FERRY_DATABASE"),
                    Urls = parse.GetValue(urls) ?? Environment.GetEnvironmentVariable("FERRY_URLS") ?? defaults.Urls,
                    Deploy = parse.GetValue(deploy) ?? [],
                    Workers = parse.GetValue(workers) ?? defaults.Workers,
                    Lease = parse.GetValue(lease) is int seconds and > 0 ? TimeSpan.FromSeconds(seconds) : defaults.Lease,
                    IntakeBacklog = parse.GetValue(backlog) ?? defaults.IntakeBacklog,
                    // Steps compile in a child `ferry` process, so Roslyn never stays in the server's memory.
                    CompilerProcess = Scripting.CompilerProcess.ForThisProgram(),
                };
                using var compiler = options.CompilerProcess;
                var server = await FerryServer.BuildAsync(options, ct: cancel);
                await using (server.Store)
                {
                    if (server.KeyNotice is not null) o.Failure(server.KeyNotice);
                    if (server.InitialToken is not null)
                    {
                        o.Success("First start: an API token for the server admin 'admin' was created. It is shown only now; keep it:");
                        Output.Stdout($"export FERRY_TOKEN={server.InitialToken}");
                    }
                    o.Info($"Ferry serving on {options.Urls} ({(options.Database is null ? $"SQLite in {Path.GetFullPath(options.DataDirectory)}" : "PostgreSQL")}).");
                    await server.App.StartAsync(cancel);
                    await server.App.WaitForShutdownAsync(cancel);
                }
                return ExitCodes.Success;
            });
        });
        return command;
    }
}
