using Ferry.Adaptors;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Steps;

namespace Ferry.Tests.Scripting;

/// <summary>A small adaptor for tests: step code sees it as <c>probe</c>.</summary>
[Adaptor("probe", Description = "Test adaptor")]
public sealed class ProbeAdaptor(AdaptorContext context) : Adaptor(context)
{
    public List<object?> Sent { get; } = [];

    [Operation(OperationKind.Read)]
    public async Task<object?> Echo(object? value)
    {
        await Task.Yield();
        Sent.Add("echo");
        return Js.From(value);
    }

    [Operation(OperationKind.Write)]
    public Task<object?> Send(object? value)
    {
        Sent.Add(Js.From(value));
        return Task.FromResult<object?>(Sent.Count);
    }
}

/// <summary>Shared helpers: one compiler per test class, run a step with a budget, read the results.</summary>
internal static class ScriptKit
{
    public static readonly SourceLocation Csx = new("jobs/x.csx", 1, 1);

    public static StepCompiler NewCompiler(string? cacheDirectory = null) =>
        new(new StepCompilerOptions { CacheDirectory = cacheDirectory, ApiAssemblies = [typeof(ScriptKit).Assembly, typeof(Adaptor).Assembly] });

    public static CompiledStep Compile(StepCompiler compiler, string code, bool withProbe = false)
    {
        var result = compiler.CompileStep(code, Csx, withProbe ? typeof(ProbeAdaptor) : null, withProbe ? "probe" : null);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        return result.Step!;
    }

    public static (StepGlobals Globals, RunLog Log) Globals(string stateJson = "{}", ExecutionBudget? budget = null, object? adaptor = null)
    {
        var log = new RunLog(SecretScrubber.None);
        var globals = new StepGlobals
        {
            state = (JsObject)Js.Parse(stateJson)!,
            log = log.ForStep("test"),
            cursor = new Cursor(),
            __adaptor = adaptor,
            __budget = budget ?? new ExecutionBudget(TimeSpan.FromSeconds(10), 512L * 1024 * 1024),
        };
        return (globals, log);
    }

    public static ProbeAdaptor Probe(RunLog log) =>
        new(new AdaptorContext { StepId = "test", AdaptorName = "probe", Log = log.ForStep("test") });

    public static IReadOnlyList<Diagnostic> Refusals(StepCompiler compiler, string code)
    {
        var result = compiler.CompileStep(code, Csx, null, null);
        Assert.False(result.Success, "The code compiled but should have been refused:\n" + code);
        return result.Diagnostics;
    }
}
