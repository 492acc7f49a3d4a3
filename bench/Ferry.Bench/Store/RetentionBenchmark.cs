using System.Diagnostics;
using Ferry.Storage;

namespace Ferry.Bench.Store;

/// <summary>
/// The retention job on a long history: N finished work orders (three dataclips each), then passes of
/// <see cref="FerryStore.ApplyRetentionAsync"/> while another writer takes a lease every millisecond, as intake and the
/// workers would. Prints each pass's time and the longest that other writer waited: the time a pass keeps the rest
/// of the server from writing. `Ferry.Bench retention [sqlite|postgres://CONNSTRING] [work orders]`.
/// </summary>
internal static class RetentionBenchmark
{
    public static async Task<int> Run(string[] args)
    {
        var target = args.Length > 0 ? args[0] : "sqlite";
        var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var dir = Directory.CreateTempSubdirectory("ferry-bench-retention").FullName;
        try
        {
            var options = StoreBenchmark.StoreFor(target, dir);
            await using var store = await FerryStore.OpenAsync(options);
            Console.WriteLine($"store.{store.Provider} retention over {count:N0} finished work orders");
            await StoreBenchmark.FillAsync(store, count);

            var now = DateTimeOffset.UtcNow;
            await PassAsync(store, "erase_all, first pass (wipes every dataclip)", new RetentionPolicy(RetentionPolicy.EraseAll), now);
            await PassAsync(store, "erase_all, next pass (nothing new to wipe)", new RetentionPolicy(RetentionPolicy.EraseAll), now);
            await PassAsync(store, "retain_all, history of 0 days (deletes all)", new RetentionPolicy(RetentionPolicy.RetainAll, HistoryPeriod: TimeSpan.Zero), now.AddSeconds(1));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task PassAsync(FerryStore store, string name, RetentionPolicy policy, DateTimeOffset now)
    {
        using var stop = new CancellationTokenSource();
        var longestWait = TimeSpan.Zero;
        var writes = 0;
        var other = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                await store.TryAcquireLeaseAsync("bench", "other-writer", TimeSpan.FromMinutes(1));
                var waited = Stopwatch.GetElapsedTime(started);
                if (waited > longestWait) longestWait = waited;
                writes++;
                await Task.Delay(1);
            }
        });
        var clock = Stopwatch.StartNew();
        var result = await store.ApplyRetentionAsync("intake", policy, now, 500);
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        await other;
        Console.WriteLine($"  {name,-46} {elapsed.TotalMilliseconds,8:N0} ms, {result.DataclipsWiped,8:N0} dataclips wiped, {result.WorkOrdersDeleted,8:N0} work orders deleted; " +
            $"another writer waited at most {longestWait.TotalMilliseconds:N1} ms ({writes:N0} writes meanwhile)");
    }
}
