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

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
