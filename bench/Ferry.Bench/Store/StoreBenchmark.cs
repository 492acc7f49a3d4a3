using System.Diagnostics;
using Ferry.Storage;

namespace Ferry.Bench.Store;

/// <summary>
/// The store's hot paths without HTTP: durable intake (<see cref="FerryStore.EnqueueAsync(IReadOnlyList{NewWorkOrder}, CancellationToken)"/> in group-commit batches),
/// then the worker side, one run at a time (claim, start, complete) against the batched paths. Prints µs per work
/// order / run. `Ferry.Bench store [sqlite|postgres://CONNSTRING] [work orders] [batch]`.
/// </summary>
internal static class StoreBenchmark
{
    // A webhook state as intake builds it: the 110-byte case record plus the request's method, path and headers.
    private const string State = """{"data":{"caseId":"C-1001","firstName":"Amina","lastName":"Okello","sex":"F","dob":"03/14/1990","district":"Gulu"},"request":{"method":"POST","path":"/i/intake/cases/hook","headers":{"host":"127.0.0.1:4997","content-type":"application/json","content-length":"110"},"query":{}}}""";

    /// <summary>The store a benchmark's first argument names: <c>sqlite</c> (in <paramref name="dir"/>) or
    /// <c>postgres://CONNSTRING</c>.</summary>
    internal static StoreOptions StoreFor(string target, string dir) =>
        target.StartsWith("postgres://", StringComparison.Ordinal) ? FerryStore.Postgres(target["postgres://".Length..]) : FerryStore.Sqlite(dir);

    public static async Task<int> Run(string[] args)
    {
        var target = args.Length > 0 ? args[0] : "sqlite";
        var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
        var batch = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64;
        if (count < 8_000)
        {
            // Half the work orders go one by one, after 2,000 warm-up runs: fewer left nothing (or less than nothing) to time.
            Console.Error.WriteLine($"store: work orders must be at least 8,000 (got {count:N0}): half are processed one by one after 2,000 warm-up runs. Run `Ferry.Bench store {target} 20000`.");
            return 2;
        }
        var dir = Directory.CreateTempSubdirectory("ferry-bench-store").FullName;
        try
        {
            var options = StoreFor(target, dir);
            await using var store = await FerryStore.OpenAsync(options);
            Console.WriteLine($"store.{store.Provider} work_orders={count} batch={batch}");

            await EnqueueAsync(store, 2_000, batch); // warm-up: JIT, statement caches
            var enqueue = await EnqueueAsync(store, count, batch);
            Console.WriteLine($"  enqueue as the intake mover does ({batch} per commit, flushed at the end): {enqueue,8:0.0} µs per work order  ({1e6 / enqueue,9:N0}/s)  cpu {LastCpuMicroseconds:0.0} µs");
            await ProcessOneByOneAsync(store, 2_000);
            var (single, claim, start, complete) = await ProcessOneByOneAsync(store, count / 2 - 2_000);
            Console.WriteLine($"  claim + start + complete, one by one:  {single,8:0.0} µs per run         ({1e6 / single,9:N0}/s)  cpu {LastCpuMicroseconds:0.0} µs; wall: claim {claim:0} + start {start:0} + complete {complete:0} µs");
            var (many, claimMany, completeMany) = await ProcessInBatchesAsync(store, count / 2, batch);
            Console.WriteLine($"  ClaimMany + CompleteMany of {batch}:        {many,8:0.0} µs per run         ({1e6 / many,9:N0}/s)  cpu {LastCpuMicroseconds:0.0} µs; wall: claim {claimMany:0.0} + complete {completeMany:0.0} µs; wall ratio {single / many:0.0}x");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<double> EnqueueAsync(FerryStore store, int count, int batch)
    {
        // As the intake mover gives them: the state as UTF-8 bytes (from the journal), with ids already given out.
        var state = System.Text.Encoding.UTF8.GetBytes(State);
        NewWorkOrder[] Orders() => Enumerable.Range(0, batch).Select(_ => new NewWorkOrder("intake", "cases", "hook", 1, null,
            Ids: new EnqueuedRun(TimeOrderedIds.New(DateTimeOffset.UtcNow), TimeOrderedIds.New(DateTimeOffset.UtcNow)), ReceivedAt: DateTimeOffset.UtcNow, InputUtf8: state)).ToArray();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var done = 0; done < count; done += batch) await store.EnqueueAsync(Orders(), skipExisting: false, durable: false);
        await store.FlushAsync();
        LastCpuMicroseconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / count;
        return clock.Elapsed.TotalMilliseconds * 1000 / count;
    }

    /// <summary>Enqueues <paramref name="count"/> work orders and runs each to success (two steps, three dataclips).</summary>
    public static async Task FillAsync(FerryStore store, int count)
    {
        await EnqueueAsync(store, count, 500);
        await ProcessInBatchesAsync(store, count, 500);
    }

    /// <summary>Process CPU time per item of the last measurement: on a shared machine it moves far less than wall time.</summary>
    private static double LastCpuMicroseconds;

    /// <summary>A run of bench/e2e.sh's workflow as the worker reports it: two steps, each adding a field, so the run
    /// stores two new dataclips (the input is the work order's, referred to by id); one log line.</summary>
    private static RunCompletion Completion(ClaimedRun run, string worker)
    {
        var now = DateTimeOffset.UtcNow;
        var named = run.InputJson.Insert(run.InputJson.IndexOf('}'), ""","fullName":"Amina Okello""");
        var flagged = named.Insert(named.IndexOf('}'), ""","flagged":true""");
        return new RunCompletion(run.RunId, worker, RunStatus.Success, now, null, flagged,
            [new StepRunData("normalise", "success", now, 1, 1000, null, run.InputJson, named), new StepRunData("flag", "success", now, 1, 1000, null, named, flagged)],
            [new LogLineData(now, "info", "normalise", "done")])
        {
            InputDataclipId = run.InputDataclipId,
            InputJson = run.InputJson,
        };
    }

    private static async Task<(double Total, double Claim, double Start, double Complete)> ProcessOneByOneAsync(FerryStore store, int count)
    {
        var request = new ClaimRequest("bench/0", TimeSpan.FromMinutes(1));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long claim = 0, start = 0, complete = 0;
        for (var i = 0; i < count; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var run = await store.ClaimAsync(request) ?? throw new InvalidOperationException("The queue ran dry: enqueue more work orders than runs processed.");
            var t1 = Stopwatch.GetTimestamp();
            if (!await store.MarkStartedAsync(run.RunId, request.WorkerId)) throw new InvalidOperationException("Start refused.");
            var t2 = Stopwatch.GetTimestamp();
            if (!await store.CompleteAsync(Completion(run, request.WorkerId))) throw new InvalidOperationException("Completion refused.");
            var t3 = Stopwatch.GetTimestamp();
            claim += t1 - t0;
            start += t2 - t1;
            complete += t3 - t2;
        }
        LastCpuMicroseconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / count;
        double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / count;
        return (clock.Elapsed.TotalMilliseconds * 1000 / count, Us(claim), Us(start), Us(complete));
    }

    private static async Task<(double Total, double Claim, double Complete)> ProcessInBatchesAsync(FerryStore store, int count, int batch)
    {
        var request = new ClaimRequest("bench/1", TimeSpan.FromMinutes(1));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long claim = 0, complete = 0;
        var done = 0;
        while (done < count)
        {
            var t0 = Stopwatch.GetTimestamp();
            var runs = await store.ClaimManyAsync(request, batch);
            if (runs.Count == 0) throw new InvalidOperationException("The queue ran dry: enqueue more work orders than runs processed.");
            var completions = runs.Select(r => Completion(r, request.WorkerId)).ToArray();
            var t1 = Stopwatch.GetTimestamp();
            var results = await store.CompleteManyAsync(completions);
            claim += t1 - t0;
            complete += Stopwatch.GetTimestamp() - t1;
            if (results.Any(ok => !ok)) throw new InvalidOperationException("A completion was refused.");
            done += runs.Count;
        }
        LastCpuMicroseconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / done;
        double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / done;
        return (clock.Elapsed.TotalMilliseconds * 1000 / done, Us(claim), Us(complete));
    }
}
