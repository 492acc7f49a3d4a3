using Ferry.Diagnostics;
using Ferry.Server;

namespace Ferry.Tests.Serving;

/// <summary>A server that fails to build (here: a broken --deploy folder) lets go of its data folder.</summary>
public sealed class ServerBuildFailureTests
{
    [Fact]
    public async Task A_failed_start_releases_the_journal_lock_and_the_database_so_the_folder_opens_again()
    {
        var root = Directory.CreateTempSubdirectory("ferry-buildfail").FullName;
        var data = Path.Combine(root, "data");
        var broken = Path.Combine(root, "broken");
        Directory.CreateDirectory(broken);
        await File.WriteAllTextAsync(Path.Combine(broken, "ferry.yaml"), "name: broken\nworkflows:\n  w:\n    steps:\n      s:\n        code: state.x = ;\n");
        try
        {
            var refused = await Assert.ThrowsAsync<FerryInputException>(() => FerryServer.BuildAsync(
                new ServerOptions { DataDirectory = data, Urls = "http://127.0.0.1:0", Deploy = [broken] }));
            Assert.Contains(refused.Diagnostics, d => d.Location?.File.EndsWith("ferry.yaml", StringComparison.Ordinal) == true);

            // Before the fix the journal's lock stayed taken: "in use by another ferry serve process".
            var server = await FerryServer.BuildAsync(new ServerOptions { DataDirectory = data, Urls = "http://127.0.0.1:0" });
            await server.App.DisposeAsync();
            await server.Store.DisposeAsync();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }
}
