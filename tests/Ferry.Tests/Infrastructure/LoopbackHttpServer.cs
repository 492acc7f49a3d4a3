using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests.Infrastructure;

/// <summary>A request the loopback server received, as it arrived.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, string? ContentType)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A real HTTP server (Kestrel) on 127.0.0.1 and a free port, with per-test route handlers, that records every
/// request it receives. Start one per test: <c>await using var server = await LoopbackHttpServer.StartAsync();</c>.
/// Unmapped routes answer 404 with a text body naming the route.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, Func<HttpContext, int, Task>> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _calls = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<RecordedRequest> _requests = [];
    private readonly Lock _gate = new();

    private LoopbackHttpServer(WebApplication app) => _app = app;

    /// <summary>The server's root, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    public static async Task<LoopbackHttpServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new LoopbackHttpServer(app);
        app.Run(server.DispatchAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
        return server;
    }

    /// <summary>Handles <paramref name="method"/> <paramref name="path"/>; the handler gets the 1-based call number of this route.</summary>
    public void Map(string method, string path, Func<HttpContext, int, Task> handler)
    {
        lock (_gate) _routes[$"{method} {path}"] = handler;
    }

    public void Map(string method, string path, Func<HttpContext, Task> handler) => Map(method, path, (ctx, _) => handler(ctx));

    /// <summary>Answers with a JSON body (a string is sent as is) and a status.</summary>
    public void MapJson(string method, string path, string json, int status = 200) => Map(method, path, ctx => Json(ctx, json, status));

    public static async Task Json(HttpContext ctx, string json, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json);
    }

    public int CallsTo(string method, string path)
    {
        lock (_gate) return _calls.TryGetValue($"{method} {path}", out var n) ? n : 0;
    }

    private async Task DispatchAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var body = await reader.ReadToEndAsync(ctx.RequestAborted);
        var headers = ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var key = $"{ctx.Request.Method} {ctx.Request.Path}";
        Func<HttpContext, int, Task>? handler;
        int call;
        lock (_gate)
        {
            _requests.Add(new RecordedRequest(ctx.Request.Method, ctx.Request.Path, ctx.Request.QueryString.Value ?? "", headers, body, ctx.Request.ContentType));
            _routes.TryGetValue(key, out handler);
            call = _calls[key] = (_calls.TryGetValue(key, out var n) ? n : 0) + 1;
        }
        if (handler is null)
        {
            ctx.Response.StatusCode = 404;
            await ctx.Response.WriteAsync($"No handler for {key} on the loopback test server.");
            return;
        }
        await handler(ctx, call);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
