using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ferry.Server;
using Ferry.Server.Journal;
using Ferry.Storage;
using Ferry.Tests.Infrastructure;
using Ferry.Tests.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Tests.ServingApi;

/// <summary>
/// The intake journal inside a real server: a webhook's 202 is journaled, then stored; what a crash left in the journal
/// is stored at the next start, once; and a database outage does not stop intake (PostgreSQL).
/// </summary>
public abstract class IntakeJournalServerTests : IDisposable
{
    private readonly ProjectFolders _projects = new();
    private readonly string _data = Directory.CreateTempSubdirectory("ferry-journal-server").FullName;

    protected abstract Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null);

    public void Dispose()
    {
        _projects.Dispose();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }

    protected string Hook() => _projects.Write("journaled", "", """
          cases:
            triggers:
              hook: { type: webhook }
            steps:
              mark:
                code: state.data.marked = true;
        """);

    [Fact]
    public async Task Entries_a_crash_left_in_the_journal_are_stored_and_run_at_the_next_start_and_a_stored_one_is_not_stored_twice()
    {
        EnqueuedRun first;
        await using (var server = await StartAsync(o => o.DataDirectory = _data))
        {
            await server.DeployAsync(Hook());
            using var response = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n = 1 });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            first = new EnqueuedRun(body.GetProperty("workOrderId").GetGuid(), body.GetProperty("runId").GetGuid());
            await server.WaitForRunAsync(first.RunId);
        }

        // What a crash after a 202 leaves behind: one entry never stored, and one stored but still in the journal.
        var lost = new EnqueuedRun(Guid.CreateVersion7(), Guid.CreateVersion7());
        using (var journal = IntakeJournal.Open(Path.Combine(_data, "journal")))
        {
            JournalEntry Entry(EnqueuedRun ids, int n) => new(ids, "journaled", "cases", "hook", 1, null, DateTimeOffset.UtcNow,
                Encoding.UTF8.GetBytes($$$"""{"data":{"n":{{{n}}}},"request":{"method":"POST"}}"""));
            journal.Append([Entry(first, 1), Entry(lost, 2)]);
        }

        var restarted = await StartAsync(o => o.DataDirectory = _data);
        var store = restarted.Services.GetRequiredService<FerryStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await store.GetRunAsync(lost.RunId))?.Status is not RunStatus.Success)
        {
            Assert.True(DateTime.UtcNow < deadline, "the journaled work order was not stored and run after the restart");
            await Task.Delay(50);
        }
        Assert.Single(await store.ListRunsAsync(first.WorkOrderId));
        Assert.Equal(2, (await store.ListWorkOrdersAsync(new WorkOrderQuery("journaled"))).Items.Count);
        var output = await store.GetDataclipAsync((await store.GetRunAsync(lost.RunId))!.OutputDataclipId!.Value);
        Assert.Contains("\"marked\":true", output, StringComparison.Ordinal);
        await restarted.DisposeAsync();
        // Everything is stored: the journal gives nothing back at the next start.
        using var emptied = IntakeJournal.Open(Path.Combine(_data, "journal"));
        Assert.Empty(emptied.Recovered);
    }

    [Fact]
    public async Task An_api_read_right_after_a_202_finds_the_work_order()
    {
        await using var server = await StartAsync(o => o.Workers = 0);
        await server.DeployAsync(Hook());
        for (var i = 0; i < 20; i++)
        {
            using var response = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n = i });
            var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("workOrderId").GetGuid();
            using var read = await server.Api.GetAsync($"/api/work-orders/{id}");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
    }
}

public sealed class SqliteIntakeJournalServerTests : IntakeJournalServerTests
{
    protected override Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null) => RunningServer.StartAsync(configure: configure);
}

[Collection(UsesPostgres.Name)]
public sealed class PostgresIntakeJournalServerTests(PostgresServer postgres) : IntakeJournalServerTests
{
    private string? _database;

    protected override async Task<RunningServer> StartAsync(Action<ServerOptions>? configure = null) =>
        await RunningServer.StartAsync(_database ??= await postgres.CreateDatabaseAsync("journal"), configure);

    [Fact]
    public async Task While_the_database_is_down_webhooks_are_accepted_up_to_the_backlog_then_503_and_all_are_stored_when_it_returns()
    {
        await using var server = await StartAsync(o =>
        {
            o.Workers = 0;
            o.IntakeBacklog = 5;
        });
        await server.DeployAsync(Hook());
        using (var warm = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n = 0 })) Assert.Equal(HttpStatusCode.Accepted, warm.StatusCode);
        var mover = server.Services.GetRequiredService<IntakeMover>();
        await mover.WaitStoredAsync(TimeSpan.FromSeconds(10), CancellationToken.None); // the backlog starts empty

        var accepted = new List<Guid>();
        await postgres.PauseAsync();
        try
        {
            for (var n = 1; n <= 5; n++)
            {
                using var response = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                accepted.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("workOrderId").GetGuid());
            }
            using var refused = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n = 6 });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter is not null, "a 503 for a full backlog says when to retry");
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("waiting to be stored", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await postgres.ResumeAsync();
        }

        var store = server.Services.GetRequiredService<FerryStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (mover.Backlog > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{mover.Backlog} journaled requests were not stored after the database came back");
            await Task.Delay(100);
        }
        foreach (var id in accepted) Assert.NotNull(await store.GetWorkOrderAsync(id));
        using var after = await server.Client.PostAsJsonAsync("/i/journaled/cases/hook", new { n = 7 });
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
    }
}
