using Ferry.Storage;
using Ferry.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Ferry.Tests.Storage;

[Collection(UsesPostgres.Name)]
public sealed class PostgresStoreTests(PostgresServer server, ITestOutputHelper output) : StoreCompliance(output)
{
    protected override async Task<StoreOptions> CreateOptionsAsync() => FerryStore.Postgres(await server.CreateDatabaseAsync("store"));

    protected override async Task ExecuteSqlAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
