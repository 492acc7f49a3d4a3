using System.Collections;
using System.Reflection;
using Ferry.Storage;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Ferry.Tests.Storage;

public sealed class SqliteStoreTests(ITestOutputHelper output) : StoreCompliance(output), IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ferry-store-" + Guid.NewGuid().ToString("N")[..8]);

    protected override Task<StoreOptions> CreateOptionsAsync() => Task.FromResult(FerryStore.Sqlite(_dir));

    protected override async Task ExecuteSqlAsync(string connectionString, string sql)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_new_database_has_8_KB_pages_in_WAL_mode()
    {
        await using var connection = new SqliteConnection(FerryStore.Sqlite(_dir).ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size";
        Assert.Equal(8192L, await command.ExecuteScalarAsync());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// The writer connection lives as long as the server, and Microsoft.Data.Sqlite keeps every command created on a
    /// connection in a list until the command is disposed; each disposal scans that list. A command left undisposed
    /// per query (Dapper's reader disposes its command only in the synchronous Dispose) made the list grow by one per
    /// claim, and a long-running server slower with every run.
    /// </summary>
    [Fact]
    public async Task The_writer_connection_keeps_no_command_per_query()
    {
        await Store.EnqueueAsync(Enumerable.Range(0, 300).Select(_ => new NewWorkOrder("p", "w", "manual", 1, """{"data":{}}""")).ToList());
        var worker = new ClaimRequest("w1", TimeSpan.FromMinutes(1));
        for (var i = 0; i < 300; i++)
        {
            var run = await Store.ClaimAsync(worker) ?? throw new InvalidOperationException($"run {i} was not claimed");
            Assert.True(await Store.MarkStartedAsync(run.RunId, worker.WorkerId));
            Assert.True(await Store.CompleteAsync(new RunCompletion(run.RunId, worker.WorkerId, RunStatus.Success, Clock.GetUtcNow(), null, null, [], [])));
        }
        Assert.InRange(WriterCommands(Store), 0, 50);
    }

    /// <summary>
    /// The writer commits without flushing and the store flushes the WAL after releasing the writer lock: a durable
    /// write (intake, completion) returns only once a flush that began after its commit has ended; a claim does not wait.
    /// </summary>
    [Fact]
    public async Task A_durable_write_returns_after_a_flush_that_covers_it_and_a_claim_does_not_wait()
    {
        await Store.EnqueueAsync([new NewWorkOrder("p", "w", "manual", 1, """{"data":{}}""")]);
        var (durable, flushed) = FlushCounters(Store);
        Assert.True(durable > 0, "intake counted no durable write");
        Assert.Equal(durable, flushed);

        Assert.NotNull(await Store.ClaimAsync(new ClaimRequest("w1", TimeSpan.FromMinutes(1))));
        Assert.Equal((durable, flushed), FlushCounters(Store));
    }

    /// <summary>Intake from the journal commits without waiting for the disk; FlushAsync then flushes everything
    /// committed before it, that commit included.</summary>
    [Fact]
    public async Task An_enqueue_that_need_not_be_durable_waits_for_no_flush_and_FlushAsync_flushes_it()
    {
        await Store.EnqueueAsync([new NewWorkOrder("p", "w", "manual", 1, """{"data":{}}""")]);
        var before = FlushCounters(Store);

        var ids = await Store.EnqueueAsync([new NewWorkOrder("p", "w", "manual", 1, """{"data":{"n":2}}""")], skipExisting: false, durable: false);
        Assert.Equal(before, FlushCounters(Store));
        Assert.NotNull(await Store.GetWorkOrderAsync(ids[0].WorkOrderId)); // committed: readers see it at once

        await Store.FlushAsync();
        var (durable, flushed) = FlushCounters(Store);
        Assert.True(flushed > before.Flushed, "FlushAsync did not flush");
        Assert.Equal(durable, flushed);
    }

    private static (long Durable, long Flushed) FlushCounters(FerryStore store)
    {
        var dialect = Dialect(store);
        long Read(string name) => (long)(dialect.GetType().GetField(name, Private)?.GetValue(dialect) ?? throw new InvalidOperationException($"SqliteDialect.{name} not found"));
        return (Read("_durableWrites"), Read("_flushedWrites"));
    }

    private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;

    private static object Dialect(FerryStore store) =>
        typeof(FerryStore).GetField("_dialect", Private)?.GetValue(store) ?? throw new InvalidOperationException("FerryStore._dialect not found");

    private static int WriterCommands(FerryStore store)
    {
        var dialect = Dialect(store);
        var writer = dialect.GetType().GetField("_writer", Private)?.GetValue(dialect) as SqliteConnection ?? throw new InvalidOperationException("SqliteDialect._writer not found");
        var commands = typeof(SqliteConnection).GetField("_commands", Private)?.GetValue(writer) as ICollection
            ?? throw new InvalidOperationException("SqliteConnection._commands not found: Microsoft.Data.Sqlite changed; find another way to count the writer's live commands");
        return commands.Count;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
