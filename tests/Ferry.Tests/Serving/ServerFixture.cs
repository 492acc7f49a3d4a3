using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Deploy;
using Ferry.Server;

namespace Ferry.Tests.Serving;

/// <summary>A real `ferry serve` (Kestrel on 127.0.0.1, a free port) in this process, on SQLite or PostgreSQL.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly FerryServerInstance _server;

    private RunningServer(FerryServerInstance server, string dataDirectory, Uri baseUrl)
    {
        _server = server;
        DataDirectory = dataDirectory;
        Client = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        Api = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.InitialToken);
    }

    public string DataDirectory { get; }

    /// <summary>The server's services (endpoint data source, store…), for tests that inspect the running app.</summary>
    public IServiceProvider Services => _server.App.Services;

    /// <summary>No credentials: webhooks and refusals.</summary>
    public HttpClient Client { get; }

    /// <summary>With the admin token the first start created.</summary>
    public HttpClient Api { get; }

    /// <param name="database">A PostgreSQL connection string, or null for SQLite in a fresh data directory.</param>
    /// <param name="configure">Changes the server's options before it is built (workers, lease, clock…).</param>
    public static async Task<RunningServer> StartAsync(string? database = null, Action<ServerOptions>? configure = null)
    {
        var data = Directory.CreateTempSubdirectory("ferry-server").FullName;
        var options = new ServerOptions { DataDirectory = data, Database = database, Urls = "http://127.0.0.1:0", PollInterval = TimeSpan.FromMilliseconds(50) };
        configure?.Invoke(options);
        var server = await FerryServer.BuildAsync(options);
        await server.App.StartAsync();
        return new RunningServer(server, data, new Uri(server.App.Urls.First()));
    }

    public async Task<JsonElement> DeployAsync(string folder)
    {
        using var response = await Api.PostAsync($"/api/projects/{Path.GetFileName(folder)}/versions",
            new StringContent(ProjectBundle.FromDirectory(folder).ToJson(), System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        return body;
    }

    /// <summary>Polls a run until it reaches a final state.</summary>
    public async Task<JsonElement> WaitForRunAsync(Guid runId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var run = await Api.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}");
            var status = run.GetProperty("run").GetProperty("status").GetString();
            if (status is not ("available" or "claimed" or "started")) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run {runId} still {status} after the timeout.");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Api.Dispose();
        await _server.App.StopAsync();
        await _server.App.DisposeAsync();
        await _server.Store.DisposeAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Project folders written for a test (ferry.yaml plus files), deleted with the test class.</summary>
public sealed class ProjectFolders : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ferry-server-projects").FullName;

    /// <summary>Writes <c>name: NAME</c>, the header lines, <c>workflows:</c> and the workflow YAML, plus the files.</summary>
    public string Write(string name, string header, string workflowYaml, params (string Path, string Text)[] files)
    {
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ferry.yaml"), $"name: {name}\n{header}workflows:\n{workflowYaml}");
        foreach (var (path, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, path))!);
            File.WriteAllText(Path.Combine(dir, path), text);
        }
        return dir;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
