using Ferry.Server.Auth;
using Ferry.Server.Metrics;
using Ferry.Server.Webhooks;

namespace Ferry.Server;

/// <summary>Registration of the server's services and endpoints (one place, eShop style).</summary>
public static class Extensions
{
    /// <summary>Options, ProblemDetails, OpenAPI and metrics.</summary>
    public static IServiceCollection AddFerryServer(this IServiceCollection services, ServerOptions options)
    {
        services.AddSingleton(options);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddSingleton<FerryMetrics>();
        services.AddSingleton(sp => new PrometheusTextWriter(sp.GetRequiredService<FerryMetrics>().Meter));
        return services;
    }

    /// <summary>
    /// Error pages as problem JSON, then <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>, <c>/openapi/v1.json</c>
    /// and, when a <see cref="WebhookIntake"/> is registered, <c>POST /i/{project}/{workflow}/{trigger}</c> and custom webhook paths.
    /// </summary>
    public static WebApplication MapFerryServer(this WebApplication app)
    {
        // Subscribe the metrics listener now: it only sees measurements made after it exists.
        _ = app.Services.GetRequiredService<PrometheusTextWriter>();

        app.UseExceptionHandler();
        var intake = app.Services.GetService<WebhookIntake>();
        // POST /i/{project}/{workflow}/{trigger} is the one request a source system may send thousands of times a
        // second: it is answered here, before routing and the middleware below, which webhooks do not need (refusals
        // carry their own problem bodies; triggers carry their own auth). The endpoint mapped below describes it in the
        // OpenAPI document and serves any form of the URL this does not take (a trailing slash, say) the same way.
        if (intake is not null)
        {
            app.Use(next => context =>
                HttpMethods.IsPost(context.Request.Method) && WebhookIntake.TrySplitPath(context.Request.Path.Value, out var project, out var workflow, out var trigger)
                    ? intake.HandleAsync(context, project, workflow, trigger)
                    : next(context));
        }
        app.UseStatusCodePages();
        app.UseRouting();

        app.MapGet("/healthz", () => Results.Text("ok"))
            .WithName("Health").WithSummary("Liveness: 200 while the process serves HTTP.").WithTags("Operations");

        app.MapGet("/readyz", async (ServerOptions options, CancellationToken ct) =>
        {
            var report = options.Readiness is null ? ReadinessReport.Ready : await options.Readiness(ct);
            return report.IsReady
                ? Results.Text(report.Detail)
                : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready",
                    detail: $"{report.Detail} The server will answer 200 here once it is ready; until then, send no traffic.");
        }).WithName("Readiness").WithSummary("Readiness: 200 when the server can take traffic, else 503 with the reason.").WithTags("Operations");

        app.MapGet("/metrics", (PrometheusTextWriter writer) => Results.Text(writer.Render(), PrometheusTextWriter.ContentType))
            .WithName("Metrics").WithSummary("Prometheus text exposition of the server's metrics.").WithTags("Operations");

        // Webhook intake exists once the integrator registers a WebhookIntake (it needs the store).
        if (intake is not null)
        {
            app.MapPost("/i/{project}/{workflow}/{trigger}", (HttpContext ctx, string project, string workflow, string trigger, WebhookIntake intake) =>
                    intake.HandleAsync(ctx, project, workflow, trigger))
                .WithName("WebhookIntake").WithTags("Intake")
                .WithSummary("Receive a webhook: 202 {workOrderId, runId} once durably stored; 401/404/413/415/400/503 as problem JSON.");

            // Custom paths (`path:` of a webhook trigger). A catch-all has the lowest route precedence: every other endpoint wins.
            // Like /i/…, it is open to every caller (triggers carry their own auth), also when the path starts with /api:
            // a POST to an unknown /api path answers 404 there, not 403 for lack of an access requirement.
            app.MapPost("/{**path}", (HttpContext ctx, WebhookIntake intake) => intake.HandlePathAsync(ctx, ctx.Request.Path.Value ?? "/"))
                .AllowAnonymousAccess()
                .WithName("WebhookIntakeCustomPath").WithTags("Intake")
                .WithSummary("Receive a webhook on a trigger's custom path (ferry.yaml `path:`); answers as POST /i/{project}/{workflow}/{trigger}.");
        }

        app.MapOpenApi();
        return app;
    }
}
