using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Scripting;
using Ferry.Steps;
using Ferry.Tests.Cli;

namespace Ferry.Tests.Scripting;

/// <summary>The server compiles step code in a child `ferry` process (<see cref="CompilerProcess"/>), with the same results as in-process.</summary>
public sealed class CompilerProcessTests
{
    private static readonly SourceLocation Where = new("jobs/check.csx", 3, 1);

    [Fact]
    public async Task A_child_process_builds_runnable_steps_and_the_same_diagnostics_then_exits_when_idle()
    {
        using var process = new CompilerProcess("dotnet", [FerryProcess.FerryDll, CompilerProcess.Verb]) { IdleExit = TimeSpan.FromMilliseconds(500) };
        var compiler = new StepCompiler(new StepCompilerOptions { Process = process });
        var unique = Guid.NewGuid().ToString("N"); // a fresh hash: nothing cached anywhere

        var ok = compiler.CompileStep($"// {unique}\nstate.total = (int)state.a + 1;", Where, null, null);
        Assert.Empty(ok.Diagnostics);
        Assert.Equal(StepCacheSource.Compiled, ok.Source);
        var state = new JsObject();
        state["a"] = 41;
        await ok.Step!.RunAsync(new StepGlobals { state = state, log = new RunLog(SecretScrubber.None).ForStep("s"), __budget = ExecutionBudget.Unlimited });
        Assert.Equal("""{"a":41,"total":42}""", Js.ToJson(state));

        const string refused = "var x = 1;\nvar text = System.IO.File.ReadAllText(\"/etc/passwd\");\nstate.n = nosuch;";
        var fromChild = compiler.CompileStep($"// {unique}\n{refused}", Where, null, null);
        var inProcess = new StepCompiler(new StepCompilerOptions()).CompileStep($"// {unique}\n{refused}", Where, null, null);
        Assert.Equal(2, process.ChildBuilds);
        Assert.Null(fromChild.Step);
        Assert.NotEmpty(fromChild.Diagnostics);
        Assert.Equal(inProcess.Diagnostics.Select(d => d.ToString()), fromChild.Diagnostics.Select(d => d.ToString()));
        Assert.Contains(fromChild.Diagnostics, d => d.Location?.Line == 5); // line 3 of the code (after the comment) is line 5 of the file

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (process.IsRunning && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.False(process.IsRunning, "the child should exit after IdleExit without builds");
    }

    [Fact]
    public void A_child_that_cannot_start_leaves_the_build_to_this_process()
    {
        using var process = new CompilerProcess(Path.Combine(Path.GetTempPath(), "no-such-ferry-" + Guid.NewGuid().ToString("N")), [CompilerProcess.Verb]);
        var compiler = new StepCompiler(new StepCompilerOptions { Process = process });

        var result = compiler.CompileStep($"// {Guid.NewGuid():N}\nstate.ok = true;", Where, null, null);

        Assert.Empty(result.Diagnostics);
        Assert.NotNull(result.Step);
        Assert.Equal(0, process.ChildBuilds);
    }

    [Fact]
    public void A_child_that_answers_for_something_else_leaves_the_build_to_this_process()
    {
        using var process = new CompilerProcess("cat", []); // echoes the request back: no build hash in it
        var compiler = new StepCompiler(new StepCompilerOptions { Process = process });

        var result = compiler.CompileStep($"// {Guid.NewGuid():N}\nstate.ok = true;", Where, null, null);
        var next = compiler.CompileStep($"// {Guid.NewGuid():N}\nstate.ok = false;", Where, null, null);

        Assert.NotNull(result.Step);
        Assert.NotNull(next.Step);
        Assert.Equal(0, process.ChildBuilds);
        Assert.False(process.IsRunning, "a child that answered for something else is stopped and not asked again");
    }

    [Fact]
    public void A_build_that_outlasts_the_timeout_is_stopped_and_reported_at_the_step()
    {
        using var process = new CompilerProcess("sleep", ["600"]) { BuildTimeout = TimeSpan.FromMilliseconds(500) }; // never answers
        var compiler = new StepCompiler(new StepCompilerOptions { Process = process });

        var result = compiler.CompileStep($"// {Guid.NewGuid():N}\nstate.ok = true;", Where, null, null);

        Assert.Null(result.Step);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("FERRY298", diagnostic.Code);
        Assert.Equal(Where, diagnostic.Location);
        Assert.False(process.IsRunning);
    }
}

/// <summary>Roslyn's metadata references go after <c>ReleaseAfter</c> without a build (alone: the setting is process-wide).</summary>
[CollectionDefinition(nameof(RunsAloneWithRoslynSettings), DisableParallelization = true)]
public sealed class RunsAloneWithRoslynSettings;

[Collection(nameof(RunsAloneWithRoslynSettings))]
public sealed class RoslynReferencesTests
{
    [Fact]
    public void References_are_let_go_after_a_quiet_period_and_mapped_again_for_the_next_build()
    {
        var before = Ferry.Scripting.Roslyn.RoslynShared.ReleaseAfter;
        Ferry.Scripting.Roslyn.RoslynShared.ReleaseAfter = TimeSpan.FromMilliseconds(300);
        try
        {
            var compiler = new StepCompiler(new StepCompilerOptions());
            var first = compiler.CompileStep($"// {Guid.NewGuid():N}\nstate.ok = true;", new SourceLocation("a.csx", 1, 1), null, null);
            Assert.NotNull(first.Step);
            Assert.True(Ferry.Scripting.Roslyn.RoslynShared.ReferencesLoaded);

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Ferry.Scripting.Roslyn.RoslynShared.ReferencesLoaded && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Assert.False(Ferry.Scripting.Roslyn.RoslynShared.ReferencesLoaded, "the references should go 300 ms after the last build");

            var second = compiler.CompileStep($"// {Guid.NewGuid():N}\nvar n = Regex.Split(\"a b\", \" \").Length; state.n = n;", new SourceLocation("a.csx", 1, 1), null, null);
            Assert.Empty(second.Diagnostics);
            Assert.NotNull(second.Step);
        }
        finally
        {
            Ferry.Scripting.Roslyn.RoslynShared.ReleaseAfter = before;
        }
    }
}
