using System.Diagnostics;
using System.Globalization;

namespace Ferry.Bench.Mapping;

/// <summary>
/// The mapping job through the real CLI: `ferry run` of a one-step project whose step is the mapping spec,
/// on a 1,000,000-record state file, writing the mapped state file (OpenFn: 17 s, 1.6 GB on this machine).
/// Baseline in the same script: `ferry run` of the same file through a step that does nothing (read + write only).
/// Wall time and peak RSS come from /usr/bin/time. Targets: ≤ 3.5 s wall, ≤ 800 MB.
/// </summary>
internal static class CliMappingBenchmark
{
    public static int Run(string[] args)
    {
        var ferry = Path.GetFullPath(args.Length > 0 ? args[0] : "src/Ferry/bin/Release/net10.0/ferry.dll");
        var records = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        if (!File.Exists(ferry))
        {
            Console.Error.WriteLine($"{ferry} not found: build with `dotnet build src/Ferry -c Release` (or publish) and pass its path.");
            return 2;
        }
        var dir = Path.Combine(Path.GetTempPath(), "ferry-bench-mapping");
        Directory.CreateDirectory(dir);
        var input = Path.Combine(dir, $"cases-{records}.json");
        if (!File.Exists(input)) MappingBenchmark.Generate(input, records, seed: 20261122);
        var mapping = Project(dir, "map-project", "map: mappings/cases.yaml");
        var baseline = Project(dir, "noop-project", "code: \"// read and write only\"");
        Console.WriteLine($"cli.mapping input={new FileInfo(input).Length / 1e6:F0} MB records={records:N0} runs={runs} ferry={ferry}");

        var mapped = Enumerable.Range(0, runs).Select(_ => Measure(ferry, mapping, input, Path.Combine(dir, "out-map.json"))).ToList();
        var noop = Enumerable.Range(0, runs).Select(_ => Measure(ferry, baseline, input, Path.Combine(dir, "out-noop.json"))).ToList();
        var outputSize = new FileInfo(Path.Combine(dir, "out-map.json")).Length / 1e6;
        Console.WriteLine($"  ferry run with mapping:     median {Median(mapped.Select(m => m.Wall)):F2} s wall (min {mapped.Min(m => m.Wall):F2}), peak RSS {mapped.Max(m => m.RssMb):F0} MB, output {outputSize:F0} MB   (targets ≤ 3.5 s, ≤ 800 MB)");
        Console.WriteLine($"  baseline (read+write only): median {Median(noop.Select(m => m.Wall)):F2} s wall, peak RSS {noop.Max(m => m.RssMb):F0} MB");
        Console.WriteLine($"  mapping adds {Median(mapped.Select(m => m.Wall)) - Median(noop.Select(m => m.Wall)):F2} s; ratio {Median(mapped.Select(m => m.Wall)) / Median(noop.Select(m => m.Wall)):F2}×");
        return 0;
    }

    private static string Project(string root, string name, string stepBody)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(Path.Combine(dir, "mappings"));
        File.WriteAllText(Path.Combine(dir, "mappings", "cases.yaml"), MappingBenchmark.Spec);
        File.WriteAllText(Path.Combine(dir, "ferry.yaml"), $"""
            name: {name}
            workflows:
              cases:
                steps:
                  only:
                    {stepBody}
            """);
        return dir;
    }

    private static (double Wall, double RssMb) Measure(string ferry, string project, string input, string output)
    {
        var info = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.Environment["FERRY_DEBUG"] = "1"; // a failure prints its stack trace
        foreach (var a in new[] { "-f", "FERRYTIME %e %M", "dotnet", ferry, "run", project, "-s", input, "-o", output, "--log-level", "Warn" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        var err = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var line = err.Split('\n').LastOrDefault(l => l.StartsWith("FERRYTIME", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"ferry run failed: {err}");
        var parts = line.Split(' ');
        if (process.ExitCode != 0) throw new InvalidOperationException($"ferry run exited {process.ExitCode}: {err}");
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture) / 1024);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
