using System.Diagnostics;
using Ferry.Deploy;
using Ferry.Engine;
using Ferry.Server.Api;
using Ferry.Server.Auth;
using Ferry.Server.Credentials;
using Ferry.Server.Journal;
using Ferry.Server.Metrics;
using Ferry.Server.Projects;
using Ferry.Server.Queue;
using Ferry.Server.Scheduling;
using Ferry.Server.Webhooks;
using Ferry.Spec;
using Ferry.Storage;

namespace Ferry.Server;

/// <summary>A built server and what its first start has to tell the operator (shown once).</summary>
public sealed record FerryServerInstance(WebApplication App, FerryStore Store, string? InitialToken, string? KeyNotice);

/// <summary>
/// The composition root of `ferry serve`: opens the store (migrations applied) and the credential vault, registers
/// intake (webhooks committed to the store in batches), workers, the janitor and the API on <see cref="ServerHost"/>,
/// and deploys the projects given on the command line.
/// </summary>
public static class FerryServer
{
    public static async Task<FerryServerInstance> BuildAsync(ServerOptions options, Action<WebApplicationBuilder>? configure = null, CancellationToken ct = default)
    {
        Scripting.Sandbox.ConfigureProcess();
        Directory.CreateDirectory(options.DataDirectory);
        var storeOptions = options.Database is null ? FerryStore.Sqlite(options.DataDirectory) : FerryStore.Postgres(options.Database);
        var store = await FerryStore.OpenAsync(new StoreOptions
        {
            Provider = storeOptions.Provider,
            ConnectionString = storeOptions.ConnectionString,
            MaxDataclipBytes = storeOptions.MaxDataclipBytes,
            Clock = options.Clock,
        }, ct);
        var (vault, keyNotice) = CredentialVault.Open(options.DataDirectory);
        IntakeJournal journal;
        try
        {
            journal = IntakeJournal.Open(Path.Combine(options.DataDirectory, "journal"));
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
        options.Readiness ??= (Func<CancellationToken, Task<ReadinessReport>>)(async token =>
        {
            try
            {
                await store.CountRunsAsync(Storage.RunStatus.Available, token);
                return ReadinessReport.Ready;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ReadinessReport.NotReady($"The database does not answer: {e.Message}");
            }
        });

        // Anything below may fail (a broken --deploy folder, a database refusing the bootstrap): then the journal's lock,
        // the store and the app are released, so the same data folder can be opened again in this process.
        WebApplication? app = null;
        try
        {
            app = ServerHost.Build(options, builder =>
            {
                builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
                builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                // Hosting's request log (Information, so never shown here) made ASP.NET Core start an Activity for every
                // request, to correlate log lines: one allocation-heavy object per webhook for nothing. Errors are
                // logged by Kestrel and the exception handler, not by this category.
                builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
                builder.Services.AddSingleton(store);
                builder.Services.AddSingleton(vault);
                builder.Services.AddSingleton(new WorkspaceOptions
                {
                    Catalog = Adaptors.BuiltInAdaptors.Catalog,
                    CacheDirectory = Path.Combine(options.DataDirectory, "cache", "steps"),
                    CompilerProcess = options.CompilerProcess,
                });
                builder.Services.AddSingleton<DeployedProjects>();
                builder.Services.AddSingleton<IdleVersionSweeper>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<IdleVersionSweeper>());
                builder.Services.AddSingleton<ProjectCredentials>();
                builder.Services.AddSingleton<RunSignal>();
                builder.Services.AddSingleton<RunCompletions>();
                builder.Services.AddSingleton<WebhookPaths>();
                builder.Services.AddExceptionHandler<WebhookPathConflictHandler>();
                builder.Services.AddSingleton<Audit>();
                builder.Services.AddSingleton(new LoginThrottle(options.Clock));
                builder.Services.AddSingleton(journal);
                builder.Services.AddSingleton<IntakeMover>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<IntakeMover>());
                builder.Services.AddSingleton(sp => Intake(sp.GetRequiredService<DeployedProjects>(),
                    sp.GetRequiredService<ProjectCredentials>(), sp.GetRequiredService<IntakeMover>(), options.Clock, sp.GetRequiredService<FerryMetrics>(),
                    sp.GetRequiredService<RunCompletions>(), sp.GetRequiredService<WebhookPaths>()));
                builder.Services.AddSingleton<ClaimLimits>();
                builder.Services.AddSingleton<RunWorker>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<RunWorker>());
                builder.Services.AddHostedService<Janitor>();
                // Scheduling: one leader among the processes on a database runs cron ticks and retention.
                builder.Services.AddSingleton<LeaderLease>();
                builder.Services.AddSingleton<Scheduler>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<Scheduler>());
                builder.Services.AddSingleton<RetentionJob>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
                builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
                configure?.Invoke(builder);
            });

            // Read-your-writes: an /api call first waits (briefly) until webhook requests acknowledged before it are stored,
            // so a client that got a 202 finds (or retries, or cancels) its work order.
            var mover = app.Services.GetRequiredService<IntakeMover>();
            app.UseWhen(ctx => ctx.Request.Path.StartsWithSegments("/api"), branch => branch.Use(async (ctx, next) =>
            {
                await mover.WaitStoredAsync(TimeSpan.FromSeconds(2), ctx.RequestAborted);
                await next(ctx);
            }));
            // Every /api request is authenticated and checked against its endpoint's AccessRequirement (fail closed).
            app.UseMiddleware<ApiAuth>();
            var api = app.MapGroup("/api");
            api.MapProjectsApi();
            api.MapHistoryApi();
            api.MapVersionsApi();
            api.MapWorkflowsApi();
            api.MapDryRunApi();
            api.MapAccessApi();
            api.MapProjectAccessApi();
            api.MapAuditApi();
            app.Services.GetRequiredService<FerryMetrics>().ObserveQueueDepthWith(() => store.CountRunsAsync(Storage.RunStatus.Available).GetAwaiter().GetResult());
            app.Services.GetRequiredService<FerryMetrics>().ObserveIntakeBacklogWith(() => mover.Backlog);

            // On shutdown, intake stops taking requests and commits what it holds; workers finish or leave runs to the janitor.
            var intake = app.Services.GetRequiredService<WebhookIntake>();
            app.Lifetime.ApplicationStopping.Register(() => intake.StopAsync(CancellationToken.None).GetAwaiter().GetResult());
            // Webhooks waiting for their run (after_completion) answer 202 at once; the runs go on.
            app.Lifetime.ApplicationStopping.Register(app.Services.GetRequiredService<RunCompletions>().Stop);

            var projects = app.Services.GetRequiredService<DeployedProjects>();
            // A deploy (or restore) may not claim a custom webhook path another project serves: 409 naming both.
            projects.BeforeSave = app.Services.GetRequiredService<WebhookPaths>().EnsureUnclaimedAsync;
            foreach (var folder in options.Deploy)
            {
                await projects.DeployAsync(ProjectBundle.FromDirectory(folder), "ferry serve --deploy", null,
                    deployed => Audit.Entry("ferry serve --deploy", "version.deploy", deployed.Project, $"v{deployed.Version}", null, new { version = deployed.Version, deployed.SpecHash }), ct);
            }
            var token = await ApiAuth.BootstrapAsync(store, ct);
            return new FerryServerInstance(app, store, token, keyNotice);
        }
        catch
        {
            if (app is not null) await app.DisposeAsync();
            journal.Dispose();
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Webhook intake: the trigger of the project's current version (by URL or custom path); each batch journaled with
    /// one fsync (<see cref="IntakeMover"/> stores it in the database); after_completion replies wait on <see cref="RunCompletions"/>.
    /// </summary>
    private static WebhookIntake Intake(DeployedProjects projects, ProjectCredentials credentials, IntakeMover mover, TimeProvider clock, FerryMetrics metrics,
        RunCompletions completions, WebhookPaths paths) =>
        new(async (project, workflow, trigger, ct) =>
        {
            var version = await projects.GetCurrentAsync(project, ct);
            if (version is null) return null;
            var spec = (await projects.GetAsync(project, version.Version, ct)).Project.FindWorkflow(workflow);
            var triggerSpec = spec?.Triggers.FirstOrDefault(t => t.Name == trigger && t.Type == TriggerType.Webhook);
            if (spec is null || triggerSpec is null) return null;
            var secrets = triggerSpec.Auth == "none" || triggerSpec.Credential is null
                ? null
                : (await credentials.LoadAsync(project, ct)).GetValueOrDefault(triggerSpec.Credential);
            return new WebhookTarget(project, workflow, triggerSpec, secrets, version.Version, spec.Retry);
        },
        (batch, ct) =>
        {
            var now = clock.GetUtcNow();
            var entries = batch.Select(i => new JournalEntry(new EnqueuedRun(TimeOrderedIds.New(now), TimeOrderedIds.New(now)),
                i.Target.Project, i.Target.Workflow, i.Target.Trigger.Name, i.Target.Version,
                i.Target.Retry is { } r ? new RetryPolicy(r.Attempts, r.Backoff, r.MaxBackoff) : null, now, i.Input.StateJson)).ToArray();
            var started = Stopwatch.GetTimestamp();
            mover.Accept(entries, ct);
            metrics.IntakeJournaled(entries.Length, Stopwatch.GetElapsedTime(started));
            return Task.FromResult<IReadOnlyList<EnqueuedRun>>(entries.Select(e => e.Ids).ToArray());
        },
        metrics,
        completions: completions,
        resolvePath: paths.FindAsync);
}
