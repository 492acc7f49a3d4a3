namespace Ferry.Server;

/// <summary>Builds the Ferry server's web application. Thin: registration lives in <see cref="Extensions"/>.</summary>
public static class ServerHost
{
    /// <param name="options">Addresses, data directory and readiness check.</param>
    /// <param name="configure">Extra registration before the app is built (the integrator adds the store here; tests add test hosts).</param>
    public static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Ferry.Server",
            // No file watcher on the content root: Ferry reads no appsettings.json, and the default data folder
            // (./.ferry) sits under it, so every SQLite write raised an inotify event for a watcher thread (≈7 % CPU
            // under a webhook storm).
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.WebHost.UseUrls(options.Urls);
        // No "Server: Kestrel" on every answer: it tells a scanner what to try, and a webhook sender needs none of it.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddFerryServer(options);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapFerryServer();
        return app;
    }
}
