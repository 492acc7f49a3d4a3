using Ferry.Deploy;
using Ferry.Engine;
using Ferry.Server.Api;
using Ferry.Server.Credentials;
using Ferry.Server.Projects;
using Ferry.Server.Queue;
using Ferry.Server.Webhooks;
using Ferry.Storage;

namespace Ferry.Server;

/// <summary>A built server and what its first start has to tell the operator (shown once).</summary>
public sealed record FerryServerInstance(WebApplication App, FerryStore Store, string? InitialToken, string? KeyNotice);

/// <summary>
/// The composition root of `ferry serve`: opens the store (migrations applied), the credential vault, deploys the
/// projects given on the command line, and wires intake, workers, the janitor and the API.
/// </summary>
public static class FerryServer
{
    public static async Task<FerryServerInstance> BuildAsync(ServerOptions options, Action<WebApplicationBuilder>? configure = null, CancellationToken ct = default)
    {
        Scripting.Sandbox.ConfigureProcess();
        Directory.CreateDirectory(options.DataDirectory);
        var store = await FerryStore.OpenAsync(options.Database is null ? FerryStore.Sqlite(options.DataDirectory) : FerryStore.Postgres(options.Database), ct);
        var (vault, keyNotice) = CredentialVault.Open(options.DataDirectory);
        var workspaceOptions = new WorkspaceOptions
        {
            Catalog = Adaptors.BuiltInAdaptors.Catalog,
            CacheDirectory = Path.Combine(options.DataDirectory, "cache", "steps"),
        };

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(vault);
        builder.Services.AddSingleton(workspaceOptions);
        builder.Services.AddSingleton<DeployedProjects>();
        builder.Services.AddSingleton<ProjectCredentials>();
        builder.Services.AddSingleton<RunSignal>();
        builder.Services.AddSingleton<WebhookIntake>();
        builder.Services.AddSingleton<ApiAuth>();
        builder.Services.AddHostedService<RunWorker>();
        builder.Services.AddHostedService<Janitor>();
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.MapOpenApi("/openapi/v1.json");
        app.MapGet("/healthz", () => Microsoft.AspNetCore.Http.Results.Ok(new { status = "ok" })).ExcludeFromDescription();
        app.MapGet("/readyz", () => Microsoft.AspNetCore.Http.Results.Ok(new { status = "ready" })).ExcludeFromDescription();
        app.MapWebhooks();
        var api = app.MapGroup("/api").AddEndpointFilter<ApiAuth>();
        api.MapProjectsApi();
        api.MapHistoryApi();

        // Stop taking requests first, then let the intake commit what it holds; workers finish or leave runs to the janitor.
        var intake = app.Services.GetRequiredService<WebhookIntake>();
        app.Lifetime.ApplicationStopping.Register(() => intake.StopAsync(CancellationToken.None).GetAwaiter().GetResult());

        var projects = app.Services.GetRequiredService<DeployedProjects>();
        foreach (var folder in options.Deploy) await projects.DeployAsync(ProjectBundle.FromDirectory(folder), "ferry serve --deploy", null, ct);
        var token = await ApiAuth.BootstrapAsync(store, ct);
        return new FerryServerInstance(app, store, token, keyNotice);
    }
}
