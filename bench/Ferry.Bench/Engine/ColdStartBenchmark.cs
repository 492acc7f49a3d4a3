using System.Diagnostics;

namespace Ferry.Bench.Engine;

/// <summary>
/// Cold `ferry run` of a trivial project: a new process each time. First with an empty step cache (includes the
/// Roslyn compile), then N times with the step in the disk cache. Baseline: `ferry --help` (process start and
/// argument parsing only), measured in the same script. Target ≤ 250 ms for a cached run.
/// </summary>
internal static class ColdStartBenchmark
{
    public static int Run(string[] args)
    {
        var ferry = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Ferry", "bin", "Release", "net10.0", "ferry.dll");
        ferry = Path.GetFullPath(ferry);
        if (!File.Exists(ferry))
        {
            Console.Error.WriteLine($"ferry.dll not found at {ferry}: build it first (dotnet build src/Ferry -c Release) or pass its path.");
            return 2;
        }
        var runs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
        var dir = Directory.CreateTempSubdirectory("ferry-bench-cold").FullName;
        var cache = Path.Combine(dir, "cache");
        try
        {
            var project = Path.Combine(dir, "trivial");
            Directory.CreateDirectory(project);
            File.WriteAllText(Path.Combine(project, "ferry.yaml"), """
                name: trivial
                workflows:
                  hello:
                    steps:
                      greet:
                        code: |
                          state.data = new { greeting = "hello" };
                """);
            double Time(params string[] arguments)
            {
                var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                info.ArgumentList.Add(ferry);
                foreach (var a in arguments) info.ArgumentList.Add(a);
                info.Environment["FERRY_CACHE_DIR"] = cache;
                var clock = Stopwatch.StartNew();
                using var process = Process.Start(info)!;
                process.StandardOutput.ReadToEnd();
                process.StandardError.ReadToEnd();
                process.WaitForExit();
                var ms = clock.Elapsed.TotalMilliseconds;
                if (process.ExitCode != 0 && arguments[0] != "--help") throw new InvalidOperationException($"ferry {string.Join(' ', arguments)} exited {process.ExitCode}");
                return ms;
            }
            static double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }

            var first = Time("run", project, "-o", Path.Combine(dir, "out.json"));
            var cached = Enumerable.Range(0, runs).Select(_ => Time("run", project, "-o", Path.Combine(dir, "out.json"))).ToList();
            var help = Enumerable.Range(0, runs).Select(_ => Time("--help")).ToList();
            Console.WriteLine($"cli.cold_start runs={runs}");
            Console.WriteLine($"  first run (compile, empty cache):  {first,7:0} ms");
            Console.WriteLine($"  cached run (median):               {Median(cached),7:0} ms   (target ≤ 250 ms; min {cached.Min():0}, max {cached.Max():0})");
            Console.WriteLine($"  baseline `ferry --help` (median):  {Median(help),7:0} ms   (ratio cached/baseline {Median(cached) / Median(help):0.00}×)");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
