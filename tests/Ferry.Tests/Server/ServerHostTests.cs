using System.Net;
using System.Text.Json;
using Ferry.Server;
using Ferry.Server.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests.Server;

/// <summary>The server host on a real Kestrel, 127.0.0.1 and a free port.</summary>
public sealed class ServerHostTests
{
    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(ServerOptions? options = null)
    {
        options ??= new ServerOptions();
        options.Urls = "http://127.0.0.1:0";
        var app = ServerHost.Build(options, b => b.Logging.ClearProviders());
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()) });
    }

    [Fact]
    public void Default_options_listen_on_localhost_4000_with_data_in_dot_ferry()
    {
        var options = new ServerOptions();

        Assert.Equal("http://localhost:4000", options.Urls);
        Assert.Equal(".ferry", options.DataDirectory);
    }

    [Fact]
    public async Task Healthz_answers_200()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        using var __ = client;

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Headers.Server); // no "Server: Kestrel" for scanners
    }

    [Fact]
    public async Task Readyz_follows_the_readiness_callback_and_gives_the_reason_when_not_ready()
    {
        var ready = false;
        var (app, client) = await StartAsync(new ServerOptions
        {
            Readiness = _ => Task.FromResult(ready ? ReadinessReport.Ready : ReadinessReport.NotReady("Database migrations are still running.")),
        });
        await using var _ = app;
        using var __ = client;

        var before = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var problem = JsonDocument.Parse(await before.Content.ReadAsStringAsync()).RootElement;
        ready = true;
        var after = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("application/problem+json", before.Content.Headers.ContentType?.MediaType);
        Assert.Contains("migrations are still running", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Metrics_serves_prometheus_text_of_what_the_server_recorded()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        using var __ = client;
        app.Services.GetRequiredService<FerryMetrics>().IntakeRecorded("accepted");

        var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("ferry_intake_requests_total{result=\"accepted\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_document_is_served_and_lists_the_operations_endpoints()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        using var __ = client;

        var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(doc.GetProperty("paths").TryGetProperty("/readyz", out var readyz), doc.GetProperty("paths").GetRawText());
    }

    [Fact]
    public async Task Unknown_path_gets_a_404_problem_document()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        using var __ = client;

        var response = await client.GetAsync(new Uri("/no/such/thing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
