using System.Diagnostics;
using Ferry.Diagnostics;
using Ferry.Scripting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit.Abstractions;

namespace Ferry.Tests.Scripting;

/// <summary>
/// A disk-cache hit in a fresh process must not load Roslyn (cold start of `ferry run`). The probe process gets
/// only Ferry.Core.dll beside it (no Roslyn DLLs at all), so loading Roslyn would fail outright.
/// </summary>
public class ColdStartTests(ITestOutputHelper output)
{
    private const string StepCode = "state.total = (int)state.a + 1;\nstate.words = Regex.Split(\"a b\", \" \").Length;";

    private const string ProbeProgram = """
        using System;
        using System.Diagnostics;
        using System.IO;
        using System.Linq;
        using Ferry.Diagnostics;
        using Ferry.Json;
        using Ferry.Scripting;
        using Ferry.Steps;

        var watch = Stopwatch.StartNew();
        Sandbox.ConfigureProcess();
        var compiler = new StepCompiler(new StepCompilerOptions { CacheDirectory = args[0] });
        var result = compiler.CompileStep(File.ReadAllText(args[1]), new SourceLocation("jobs/x.csx", 1, 1), null, null);
        var loaded = watch.Elapsed.TotalMilliseconds;
        var state = new JsObject();
        state["a"] = 41;
        var globals = new StepGlobals { state = state, log = new RunLog(SecretScrubber.None).ForStep("s"), __budget = ExecutionBudget.Unlimited };
        await result.Step!.RunAsync(globals);
        Console.WriteLine($"source={result.Source}");
        Console.WriteLine($"state={Js.ToJson(state)}");
        Console.WriteLine($"loadMs={loaded:0.0}");
        Console.WriteLine($"totalMs={watch.Elapsed.TotalMilliseconds:0.0}");
        Console.WriteLine($"regexTimeout={new System.Text.RegularExpressions.Regex("a").MatchTimeout}");
        Console.WriteLine($"roslyn={string.Join(",", AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Where(n => n!.StartsWith("Microsoft.CodeAnalysis")))}");
        """;

    private static readonly string[] ProbeReferences =
        ["System.Private.CoreLib", "System.Runtime", "System.Console", "System.Linq", "System.Collections", "System.Text.RegularExpressions", "Microsoft.CSharp"];

    [Fact]
    public async Task Disk_cache_hit_in_a_fresh_process_does_not_load_roslyn()
    {
        var root = Directory.CreateTempSubdirectory("ferry-coldstart-").FullName;
        try
        {
            var cache = Path.Combine(root, "cache");
            var compiled = new StepCompiler(new StepCompilerOptions { CacheDirectory = cache }).CompileStep(StepCode, new SourceLocation("jobs/x.csx", 1, 1), null, null);
            Assert.Equal(StepCacheSource.Compiled, compiled.Source);

            var probeDir = Path.Combine(root, "probe");
            Directory.CreateDirectory(probeDir);
            var core = typeof(StepCompiler).Assembly.Location;
            File.Copy(core, Path.Combine(probeDir, Path.GetFileName(core)));
            BuildProbe(probeDir, core);
            var codeFile = Path.Combine(root, "step.csx");
            await File.WriteAllTextAsync(codeFile, StepCode);

            output.WriteLine($"first compile (in this process): {compiled.Elapsed.TotalMilliseconds:0} ms");
            var probe = await RunAsync(Path.Combine(probeDir, "ColdProbe.dll"), cache, codeFile);
            output.WriteLine(probe);
            Assert.Contains("source=Disk", probe, StringComparison.Ordinal);
            Assert.Contains("""state={"a":41,"total":42,"words":2}""", probe, StringComparison.Ordinal);
            Assert.Contains("roslyn=" + Environment.NewLine, probe + Environment.NewLine, StringComparison.Ordinal);
            Assert.Contains($"regexTimeout={Sandbox.RegexMatchTimeout}", probe, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void BuildProbe(string dir, string corePath)
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = ProbeReferences
            .Select(n => MetadataReference.CreateFromFile(Path.Combine(framework, n + ".dll")))
            .Append(MetadataReference.CreateFromFile(corePath));
        var compilation = CSharpCompilation.Create("ColdProbe",
            [CSharpSyntaxTree.ParseText(ProbeProgram, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication));
        var result = compilation.Emit(Path.Combine(dir, "ColdProbe.dll"));
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        File.WriteAllText(Path.Combine(dir, "ColdProbe.runtimeconfig.json"),
            """{"runtimeOptions":{"tfm":"net10.0","framework":{"name":"Microsoft.NETCore.App","version":"VERSION"}}}""".Replace("VERSION", Environment.Version.ToString(), StringComparison.Ordinal));
    }

    private static async Task<string> RunAsync(string dll, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await stdout;
        Assert.True(process.ExitCode == 0, $"probe failed ({process.ExitCode}):\n{text}\n{await stderr}");
        return text + $"processWallMs={watch.Elapsed.TotalMilliseconds:0}";
    }
}
