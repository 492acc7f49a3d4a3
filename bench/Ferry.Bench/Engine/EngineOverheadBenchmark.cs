using System.Diagnostics;
using Ferry.Adaptors;
using Ferry.Engine;
using Ferry.Json;

namespace Ferry.Bench.Engine;

/// <summary>
/// Warm per-step overhead of the engine: a one-step workflow whose code is `state.n = 1;`, run many times in
/// process. Baseline: the same dynamic assignment called directly, so the difference is what the engine adds
/// (globals, budget, configuration handling, logs, edges, result objects). Target ≤ 20 µs per step.
/// </summary>
internal static class EngineOverheadBenchmark
{
    public static async Task<int> Run(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200_000;
        var dir = Directory.CreateTempSubdirectory("ferry-bench-engine").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "ferry.yaml"), """
                name: bench
                workflows:
                  trivial:
                    steps:
                      one:
                        code: |
                          state.n = 1;
                """);
            var workspace = ProjectWorkspace.Open(dir, new WorkspaceOptions { Catalog = BuiltInAdaptors.Catalog });
            var plan = workspace.Plan("trivial");

            async Task<double> Engine(int n)
            {
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < n; i++)
                {
                    var result = await WorkflowRunner.RunAsync(plan, new RunOptions { Input = new JsObject(), MinimumLogLevel = Ferry.Steps.LogLevel.Warn });
                    if (result.Status != RunStatus.Success) throw new InvalidOperationException(result.Error?.ToString());
                }
                return clock.Elapsed.TotalMilliseconds * 1000 / n;
            }

            static double Baseline(int n)
            {
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < n; i++)
                {
                    dynamic state = new JsObject();
                    state.n = 1;
                }
                return clock.Elapsed.TotalMilliseconds * 1000 / n;
            }

            await Engine(20_000); // warm-up: tiering, call sites
            Baseline(20_000);
            var engine = await Engine(iterations);
            var baseline = Baseline(iterations);
            Console.WriteLine($"engine.step_overhead iterations={iterations}");
            Console.WriteLine($"  one-step run (engine):      {engine,8:0.00} µs");
            Console.WriteLine($"  same code, no engine:       {baseline,8:0.00} µs");
            Console.WriteLine($"  engine overhead per step:   {engine - baseline,8:0.00} µs   (target ≤ 20 µs; ratio engine/baseline {engine / Math.Max(baseline, 0.001):0.0}×)");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
