using System.Diagnostics;
using System.Text.Json;
using Ferry.Json;
using Ferry.Mapping;

namespace Ferry.Bench.Mapping;

/// <summary>
/// The mapping benchmark (docs/mapping.md, "Performance"): 1,000,000 ten-field case records in a JSON state file →
/// a mapping with a rename, two date reformats (MM/dd/yyyy → yyyy-MM-dd) and two value maps → a JSON state file.
/// Prints records/s of <see cref="Mapper.Apply(MappingSpec, JsObject)"/> alone, the in-process file→file time against a baseline that reads
/// and writes the same file without mapping, and the process's peak working set. <c>mapping [records] --once</c> does one
/// file→file run only, for measuring a whole process the way <c>ferry run</c> would be.
/// </summary>
internal static class MappingBenchmark
{
    public const string Spec = """
        fields:
          - { target: caseId, source: case_id, required: true }
          - target: dateOfBirth
            source: dob
            format: { from: MM/dd/yyyy, to: yyyy-MM-dd }
          - target: dateOfReporting
            source: reported
            format: { from: MM/dd/yyyy, to: yyyy-MM-dd }
          - { target: gender, source: sex, value_map: sex }
          - { target: outcome, source: status, value_map: outcome }
        value_maps:
          sex: { M: male, F: female, U: unknown }
          outcome: { active: ONGOING, recovered: RECOVERED, died: DECEASED, lost: LOST_TO_FOLLOW_UP }
        """;

    public static int Run(string[] args)
    {
        var records = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 1_000_000;
        var once = args.Contains("--once");
        var dir = Path.Combine(Path.GetTempPath(), "ferry-bench-mapping");
        Directory.CreateDirectory(dir);
        var input = Path.Combine(dir, $"cases-{records}.json");
        var output = Path.Combine(dir, "mapped.json");
        var specFile = Path.Combine(dir, "cases.yaml");
        File.WriteAllText(specFile, Spec);
        if (!File.Exists(input)) Generate(input, records, seed: 20261122);
        Console.WriteLine($"input: {input} ({new FileInfo(input).Length / 1e6:F0} MB, {records:N0} records)");

        var spec = MappingSpecLoader.Load(specFile);

        // First the run as `ferry run` would do it, so that the peak working set is that of one run.
        var (mapped, mappedCpu) = Time(() => FileToFile(input, output, spec));
        var peak = Process.GetCurrentProcess().PeakWorkingSet64 / 1e6;
        if (once)
        {
            // One run, as `ferry run` does it; measure the whole process with /usr/bin/time.
            Console.WriteLine($"file→file, with mapping:   {mapped:F3} s wall, {mappedCpu:F3} s CPU; peak working set {peak:F0} MB");
            return 0;
        }
        // Baseline: the same file read into state and written back, no mapping.
        var (baseline, baselineCpu) = Time(() => FileToFile(input, output, null));
        var best = double.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var state = Js.ParseStateObject(File.ReadAllBytes(input), input);
            var sw = Stopwatch.StartNew();
            var report = Mapper.Apply(spec, state);
            sw.Stop();
            if (report.Mapped != records) throw new InvalidOperationException(report.Summary);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"Mapper.Apply alone:        {best:F3} s wall  ({records / best / 1e6:F2} M records/s, best of 3)");
        Console.WriteLine($"file→file, no mapping:     {baseline:F3} s wall, {baselineCpu:F3} s CPU  (baseline: read state, write state)");
        Console.WriteLine($"file→file, with mapping:   {mapped:F3} s wall, {mappedCpu:F3} s CPU  ({mapped / baseline:F2}× baseline wall)");
        Console.WriteLine($"peak working set (run 1):  {peak:F0} MB");
        Console.WriteLine($"load average:              {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}");
        Console.WriteLine($"output: {output} ({new FileInfo(output).Length / 1e6:F0} MB)");
        return 0;
    }

    /// <summary>What <c>ferry run</c> does around a map step: read the state file, map, write the state file.</summary>
    private static void FileToFile(string input, string output, MappingSpec? spec)
    {
        var state = Js.ParseStateObject(File.ReadAllBytes(input), input);
        if (spec is not null)
        {
            var report = Mapper.Apply(spec, state);
            if (report.Stopped) throw new InvalidOperationException(report.Summary);
        }
        using var stream = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        Js.Write(writer, state);
    }

    private static (double Wall, double Cpu) Time(Action action)
    {
        GC.Collect();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        process.Refresh();
        return (sw.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    internal static void Generate(string path, int count, int seed)
    {
        string[] first = ["Ana", "Bosco", "Grace", "Okello", "Sarah", "Moses", "Aisha", "John", "Esther", "Peter"];
        string[] last = ["Lopez", "Mugisha", "Nakato", "Okot", "Achieng", "Kato", "Namutebi", "Ouma"];
        string[] districts = ["Kampala", "Gulu", "Mbarara", "Lira", "Jinja", "Arua"];
        string[] statuses = ["active", "recovered", "died", "lost"];
        var random = new Random(seed);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartArray("data");
        for (var i = 0; i < count; i++)
        {
            w.WriteStartObject();
            w.WriteString("case_id", $"UG-{i:D8}");
            w.WriteString("first_name", first[random.Next(first.Length)]);
            w.WriteString("last_name", last[random.Next(last.Length)]);
            w.WriteString("sex", random.Next(2) == 0 ? "M" : "F");
            w.WriteString("dob", $"{random.Next(1, 13):D2}/{random.Next(1, 29):D2}/{random.Next(1940, 2024)}");
            w.WriteString("reported", $"{random.Next(1, 13):D2}/{random.Next(1, 29):D2}/{random.Next(2020, 2026)}");
            w.WriteString("district", districts[random.Next(districts.Length)]);
            w.WriteString("phone", $"+2567{random.Next(10_000_000, 99_999_999)}");
            w.WriteNumber("age", random.Next(0, 95));
            w.WriteString("status", statuses[random.Next(statuses.Length)]);
            w.WriteEndObject();
            if (i % 10_000 == 0) w.Flush();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
