using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ferry.Deploy;
using Ferry.Server;
using Ferry.Storage;

namespace Ferry.Tests.Scheduling;

/// <summary>A clock tests move by hand; safe to read from the server's threads while a test moves it.</summary>
public sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// A real `ferry serve` (Kestrel on 127.0.0.1) with the scheduling knobs turned down for tests, and access to its store,
/// so tests can look at what only the store knows (schedule ticks) and stop the server without losing its data.
/// </summary>
public sealed class SchedulingServer : IAsyncDisposable
{
    private readonly FerryServerInstance _server;
    private readonly bool _ownsData;
    private bool _stopped;

    private SchedulingServer(FerryServerInstance server, string dataDirectory, bool ownsData)
    {
        _server = server;
        _ownsData = ownsData;
        DataDirectory = dataDirectory;
        var baseUrl = new Uri(server.App.Urls.First());
        Client = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        Api = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.InitialToken);
    }

    public string DataDirectory { get; }

    public FerryStore Store => _server.Store;

    public IServiceProvider Services => _server.App.Services;

    public HttpClient Client { get; }

    public HttpClient Api { get; }

    /// <param name="database">PostgreSQL connection string, or null for SQLite in <paramref name="dataDirectory"/> (a fresh one when null).</param>
    public static async Task<SchedulingServer> StartAsync(string? database, TestClock? clock = null, Action<ServerOptions>? configure = null, string? dataDirectory = null)
    {
        var data = dataDirectory ?? Directory.CreateTempSubdirectory("ferry-sched").FullName;
        var options = new ServerOptions
        {
            DataDirectory = data,
            Database = database,
            Urls = "http://127.0.0.1:0",
            PollInterval = TimeSpan.FromMilliseconds(50),
            SchedulerInterval = TimeSpan.FromMilliseconds(50),
            RetentionInterval = TimeSpan.FromMilliseconds(100),
            CancelPollInterval = TimeSpan.FromMilliseconds(50),
            VersionSweepInterval = TimeSpan.FromMilliseconds(100),
            Workers = 4,
        };
        if (clock is not null) options.Clock = clock;
        configure?.Invoke(options);
        var server = await FerryServer.BuildAsync(options);
        await server.App.StartAsync();
        return new SchedulingServer(server, data, dataDirectory is null);
    }

    public async Task DeployAsync(string folder)
    {
        using var response = await Api.PostAsync($"/api/projects/{Path.GetFileName(folder)}/versions",
            new StringContent(ProjectBundle.FromDirectory(folder).ToJson(), System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Posts a webhook and returns its run id (asserting the 202).</summary>
    public async Task<Guid> PostAsync(string path, object body)
    {
        using var response = await Client.PostAsJsonAsync(path, body);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
    }

    /// <summary>Polls the store until <paramref name="done"/> holds for the run (default: a final state).</summary>
    public async Task<RunRecord> WaitForRunAsync(Guid runId, Func<RunRecord, bool>? done = null, TimeSpan? timeout = null)
    {
        done ??= r => RunStatus.IsFinal(r.Status);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var run = await Store.GetRunAsync(runId);
            if (run is not null && done(run)) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run {runId} is still {run?.Status ?? "unknown"} after the timeout.");
            await Task.Delay(25);
        }
    }

    /// <summary>Polls until <paramref name="check"/> returns a value (not null), or fails after the timeout.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> check, string what, TimeSpan? timeout = null) where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await check() is { } value) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Still waiting for {what}.");
            await Task.Delay(25);
        }
    }

    /// <summary>Stops the server as `ferry serve` stops on SIGTERM (intake, then workers within the shutdown timeout); the store stays open.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _server.App.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Api.Dispose();
        await StopAsync();
        await _server.App.DisposeAsync();
        await _server.Store.DisposeAsync();
        if (_ownsData)
        {
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
