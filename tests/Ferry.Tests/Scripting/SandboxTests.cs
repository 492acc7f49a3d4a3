using Ferry.Diagnostics;
using Ferry.Scripting;

namespace Ferry.Tests.Scripting;

/// <summary>
/// Escape and runaway attempts: each is real step code that must be refused at compile time (construct and line
/// named) or killed at run time with the right reason, while this test process carries on.
/// </summary>
public class SandboxTests
{
    private static readonly StepCompiler Compiler = ScriptKit.NewCompiler();

    // ---- refused at compile time -------------------------------------------------------------------------------

    [Theory]
    [InlineData("var text = System.IO.File.ReadAllText(\"/etc/passwd\");", "'System.IO.File' is not allowed in step code (files)")]
    [InlineData("System.Diagnostics.Process.Start(\"sh\", \"-c 'rm -rf /'\");", "'System.Diagnostics.Process' is not allowed in step code (processes)")]
    [InlineData("var secret = Environment.GetEnvironmentVariable(\"DATABASE_URL\");", "'System.Environment' is not allowed in step code (environment)")]
    [InlineData("Environment.Exit(1);", "'System.Environment' is not allowed in step code (environment)")]
    [InlineData("var a = typeof(string).Assembly;", "'typeof' is not allowed in step code (reflection)")]
    [InlineData("object o = state; var t = o.GetType();", "'object.GetType()' is not allowed in step code (reflection)")]
    [InlineData("var o = Activator.CreateInstance(\"System.Private.CoreLib\", \"System.IO.FileInfo\");", "'System.Activator' is not allowed in step code (reflection)")]
    [InlineData("var asm = System.Reflection.Assembly.Load(\"System.Diagnostics.Process\");", "'System.Reflection.Assembly' is not allowed in step code (reflection)")]
    [InlineData("[System.Runtime.InteropServices.DllImport(\"libc\")] static extern int getpid();", "'DllImport' is not allowed in step code (native interop (P/Invoke))")]
    [InlineData("unsafe { int x = 1; int* p = &x; *p = 2; }", "'unsafe' code is not allowed in step code (unsafe code)")]
    [InlineData("Span<byte> buffer = stackalloc byte[1024];", "'stackalloc' is not allowed in step code (unsafe code)")]
    [InlineData("var t = new System.Threading.Thread(() => { }); t.Start();", "'System.Threading.Thread' is not allowed in step code (threads)")]
    [InlineData("await Task.Run(() => 1);", "'System.Threading.Tasks.Task.Run' is not allowed in step code (threads)")]
    [InlineData("System.Threading.Tasks.Parallel.For(0, 10, i => { });", "'System.Threading.Tasks.Parallel' is not allowed in step code (threads)")]
    [InlineData("var gate = new object(); lock (gate) { state.x = 1; }", "'lock' is not allowed in step code (threads)")]
    [InlineData("Console.WriteLine(\"hi\");", "'System.Console' is not allowed in step code (environment)")]
    [InlineData("var c = new System.Net.Http.HttpClient();", "'System.Net.Http.HttpClient' is not allowed in step code (network)")]
    [InlineData("var s = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);", "'System.Net.Sockets.Socket' is not allowed in step code (network)")]
    [InlineData("dynamic d = state; var t = d.GetType();", "'GetType' on a dynamic value is not allowed in step code (reflection)")]
    [InlineData("Func<int> f = () => 1; var m = f.Method;", "'System.Delegate.Method' is not allowed in step code (reflection)")]
    [InlineData("System.Linq.Expressions.Expression<Func<int>> e = () => 1; var f = e.Compile();", "'System.Linq.Expressions.Expression<TDelegate>' is not allowed in step code (expression trees)")]
    [InlineData("class Evil { ~Evil() { } }", "A finalizer is not allowed in step code (finalizers)")]
    [InlineData("async void Fire() { await Task.CompletedTask; }", "An 'async void' method is not allowed in step code (async void)")]
    [InlineData("Action a = async () => await Task.CompletedTask;", "An 'async void' lambda is not allowed in step code (async void)")]
    [InlineData("#r \"System.Diagnostics.Process.dll\"", "'#r' directive is not allowed in step code (loading assemblies)")]
    [InlineData("try { } catch (Exception e) { var m = e.TargetSite; }", "'System.Reflection.MethodBase' (used by 'System.Exception.TargetSite') is not allowed in step code (reflection)")]
    [InlineData("var r = new Regex(\"a+\", RegexOptions.None, Regex.InfiniteMatchTimeout);", "is not allowed in step code (regex timeouts)")]
    [InlineData("__budget.Expire(0, \"x\");", "The name '__budget' is not allowed in step code (reserved names)")]
    [InlineData("CultureInfo.DefaultThreadCurrentCulture = new CultureInfo(\"fr-FR\");", "is not allowed in step code (process-wide settings)")]
    [InlineData("var n = Enumerable.Range(0, 10).AsParallel().Sum();", "'System.Linq.ParallelEnumerable' is not allowed in step code (query providers and parallel LINQ)")]
    [InlineData("var h = GC.GetTotalMemory(false);", "'System.GC' is not allowed in step code (environment)")]
    [InlineData("var m = typeof(Ferry.Scripting.ExecutionBudget);", "'typeof' is not allowed in step code (reflection)")]
    [InlineData("Ferry.Scripting.ExecutionBudget.Current.Expire(0, \"x\");", "'Ferry.Scripting.ExecutionBudget' is not allowed in step code (Ferry internals)")]
    [InlineData("var w = new System.IO.StreamWriter(\"/tmp/x\");", "'System.IO.StreamWriter' is not allowed in step code (files)")]
    [InlineData("dynamic kind = state.kind; var a = Array.CreateInstance(kind, 1);", "'System.Array.CreateInstance' is not allowed in step code (reflection)")]
    [InlineData("var files = new List<System.IO.FileInfo>();", "'System.IO.FileInfo' is not allowed in step code (files)")]
    [InlineData("var m = System.Runtime.CompilerServices.Unsafe.SizeOf<int>();", "'System.Runtime.CompilerServices.Unsafe' is not allowed in step code (runtime internals)")]
    public void Escape_attempt_is_refused_at_compile_time_with_construct_and_line(string attempt, string expected)
    {
        // The attempt is on line 2, after an ordinary line, so the reported line proves the mapping.
        var diagnostics = ScriptKit.Refusals(Compiler, "state.before = 1;\n" + attempt + "\n");
        var match = diagnostics.FirstOrDefault(d => d.Message.Contains(expected, StringComparison.Ordinal));
        Assert.True(match is not null, $"Expected '{expected}' among:\n{string.Join("\n", diagnostics)}");
        Assert.StartsWith("FERRY21", match.Code, StringComparison.Ordinal);
        Assert.Equal(new SourceLocation("jobs/x.csx", 2, match.Location!.Column), match.Location);
        Assert.False(string.IsNullOrEmpty(match.Hint));
    }

    [Fact]
    public void Every_violation_is_reported_at_once_with_its_own_line()
    {
        var diagnostics = ScriptKit.Refusals(Compiler, """
            var text = System.IO.File.ReadAllText("a");
            state.ok = true;
                Console.WriteLine(text);
            var env = Environment.MachineName;
            """);
        Assert.Equal(["jobs/x.csx:1:12", "jobs/x.csx:3:5", "jobs/x.csx:4:11"], diagnostics.Select(d => d.Location!.ToString()).ToArray());
        Assert.Equal("jobs/x.csx:1:12: error FERRY210: 'System.IO.File' is not allowed in step code (files). Read and write through an adaptor.", diagnostics[0].ToString());
    }

    [Fact]
    public void Static_check_covers_using_static_and_aliases()
    {
        var diagnostics = ScriptKit.Refusals(Compiler, "using static System.IO.File;\nusing P = System.Diagnostics.Process;\nvar x = ReadAllText(\"a\");\n");
        Assert.Contains(diagnostics, d => d.Message.Contains("System.IO.File", StringComparison.Ordinal) && d.Location!.Line == 1);
        Assert.Contains(diagnostics, d => d.Message.Contains("System.Diagnostics.Process", StringComparison.Ordinal) && d.Location!.Line == 2);
    }

    // ---- killed at run time ------------------------------------------------------------------------------------

    private static async Task<StepKilledException> Killed(string code, TimeSpan? time = null, long memory = 64L * 1024 * 1024)
    {
        var step = ScriptKit.Compile(Compiler, code);
        var budget = new ExecutionBudget(time ?? TimeSpan.FromMilliseconds(300), memory);
        var (globals, _) = ScriptKit.Globals(budget: budget);
        var killed = await Assert.ThrowsAsync<StepKilledException>(() => step.RunAsync(globals));
        Assert.Same(budget.Killed, killed);
        return killed;
    }

    [Fact]
    public async Task Infinite_while_loop_is_killed_on_time()
    {
        var e = await Killed("var i = 0;\nwhile (true) { i++; }");
        Assert.Equal(KillReason.Timeout, e.Reason);
        Assert.Contains("time budget", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task For_ever_loop_that_swallows_every_exception_is_still_killed()
    {
        // The body allocates nothing, so only the time budget can end it (an allocating body may hit the memory
        // budget first on a fast machine: also a kill, but not the one this test is about).
        var e = await Killed("var i = 0;\nfor (;;) { try { i++; } catch (Exception) { } catch { } }");
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Goto_loop_is_killed()
    {
        var e = await Killed("var n = 0;\nagain:\nn++;\ngoto again;");
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Catch_and_continue_after_a_kill_is_killed_again()
    {
        var e = await Killed("""
            var kills = 0;
            for (var round = 0; round < 1000; round++)
            {
                try { while (true) { } }
                catch (Exception) { kills++; }
            }
            state.kills = kills;
            """);
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Kill_inside_finally_stays_a_kill()
    {
        var e = await Killed("""
            try { while (true) { } }
            finally { var n = 0; while (true) { n++; } }
            """);
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Swallowing_a_kill_in_an_exception_filter_does_not_help()
    {
        var e = await Killed("""
            bool Swallow() { return true; }
            try { while (true) { } } catch (Exception) when (Swallow()) { }
            state.escaped = true;
            """);
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Deep_recursion_is_killed_before_a_stack_overflow()
    {
        var e = await Killed("int Down(int n) => Down(n + 1) + 1;\nstate.x = Down(0);", TimeSpan.FromSeconds(20));
        Assert.Equal(KillReason.Recursion, e.Reason);
    }

    [Fact]
    public async Task Mutual_recursion_is_killed()
    {
        var e = await Killed("long Even(long n) => n == 0 ? 0 : Odd(n - 1) + 1;\nlong Odd(long n) => Even(n - 1) + 1;\nstate.x = Even(long.MaxValue);", TimeSpan.FromSeconds(20));
        Assert.Equal(KillReason.Recursion, e.Reason);
    }

    [Fact]
    public async Task Mutual_recursion_in_tail_position_is_killed_on_time()
    {
        // Step code lives in a collectible load context, where the JIT compiles it optimised at once (no tiering): these
        // calls become tail calls, the stack does not grow, the recursion is a loop, and the time budget ends it. (The
        // earlier build, with step code in a plain context, behaves the same with DOTNET_TieredCompilation=0.)
        var e = await Killed("bool Even(long n) => n == 0 || Odd(n - 1);\nbool Odd(long n) => n != 0 && Even(n - 1);\nstate.x = Even(long.MaxValue);");
        Assert.Contains(e.Reason, new[] { KillReason.Timeout, KillReason.Recursion });
    }

    [Fact]
    public async Task Recursive_lambda_is_killed()
    {
        var e = await Killed("Func<int, int> f = null;\nf = n => f(n + 1) + 1;\nstate.x = f(0);", TimeSpan.FromSeconds(20));
        Assert.Equal(KillReason.Recursion, e.Reason);
    }

    [Fact]
    public async Task Recursion_in_a_class_the_script_declares_is_killed()
    {
        var e = await Killed("class Walker { public int Walk(int n) { return Walk(n + 1) + 1; } }\nstate.x = new Walker().Walk(0);", TimeSpan.FromSeconds(20));
        Assert.Equal(KillReason.Recursion, e.Reason);
    }

    [Fact]
    public async Task Loop_in_a_static_method_of_a_declared_class_is_killed()
    {
        var e = await Killed("static class Spin { public static void Forever() { while (true) { } } }\nSpin.Forever();");
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Huge_array_is_refused_before_it_is_allocated()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = await Killed("var big = new byte[int.MaxValue];\nstate.n = big.Length;");
        Assert.Equal(KillReason.Memory, e.Reason);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000_000, "the array must not have been allocated");
    }

    [Fact]
    public async Task Growing_a_list_for_ever_is_killed_on_memory()
    {
        var e = await Killed("var list = new List<long>();\nwhile (true) list.Add(1);", TimeSpan.FromSeconds(30));
        Assert.Equal(KillReason.Memory, e.Reason);
    }

    [Fact]
    public async Task Doubling_a_string_is_killed_on_memory()
    {
        var e = await Killed("var s = \"x\";\nwhile (true) s += s;", TimeSpan.FromSeconds(30));
        Assert.Equal(KillReason.Memory, e.Reason);
    }

    [Fact]
    public async Task Doubling_a_string_builder_is_killed_on_memory()
    {
        var e = await Killed("var sb = new StringBuilder(\"x\");\nwhile (true) sb.Append(sb.ToString());", TimeSpan.FromSeconds(30));
        Assert.Equal(KillReason.Memory, e.Reason);
    }

    [Fact]
    public async Task Range_of_int_max_to_list_is_killed_on_memory()
    {
        var e = await Killed("var all = Enumerable.Range(0, int.MaxValue).ToList();", TimeSpan.FromSeconds(30));
        Assert.Equal(KillReason.Memory, e.Reason);
    }

    [Fact]
    public async Task Padding_and_repeat_counts_are_checked()
    {
        Assert.Equal(KillReason.Memory, (await Killed("var s = \"\".PadLeft(int.MaxValue - 64);")).Reason);
        Assert.Equal(KillReason.Memory, (await Killed("var s = new string('x', int.MaxValue - 64);")).Reason);
        Assert.Equal(KillReason.Memory, (await Killed("var l = new List<int>(int.MaxValue - 64);")).Reason);
    }

    [Fact]
    public async Task Dynamic_access_to_a_refused_type_is_stopped_at_run_time()
    {
        var step = ScriptKit.Compile(Compiler, "dynamic d = new InvalidOperationException(\"x\");\nstate.where = d.TargetSite;");
        var (globals, _) = ScriptKit.Globals();
        var e = await Assert.ThrowsAsync<SandboxViolationException>(() => step.RunAsync(globals));
        Assert.Contains("System.InvalidOperationException", e.Message, StringComparison.Ordinal);
        Assert.Equal("jobs/x.csx:2:1", StepErrors.Describe(e, step).Where?.ToString());
        Assert.Null(((Ferry.Json.JsObject)globals.state)["where"]);
    }

    [Fact]
    public async Task Dynamic_value_cast_back_from_object_is_still_guarded()
    {
        var step = ScriptKit.Compile(Compiler, "object o = new List<int> { 1 };\ndynamic d = o;\nstate.n = d.Count;");
        var (globals, _) = ScriptKit.Globals();
        await Assert.ThrowsAsync<SandboxViolationException>(() => step.RunAsync(globals));
    }

    [Fact]
    public async Task Dynamic_conversion_of_a_refused_type_is_stopped_at_run_time()
    {
        var step = ScriptKit.Compile(Compiler, "dynamic d = new Exception(\"x\");\nstring s = d;");
        await Assert.ThrowsAsync<SandboxViolationException>(() => step.RunAsync(ScriptKit.Globals().Globals));
    }

    [Fact]
    public async Task Loop_across_awaits_is_killed_on_time()
    {
        var step = ScriptKit.Compile(Compiler, "while (true) { await probe.Echo(1); }", withProbe: true);
        // Each iteration allocates a little, so a fast machine spends 64 MB within 300 ms: the memory budget is set far
        // out of reach, so that time is what stops the loop.
        var budget = new ExecutionBudget(TimeSpan.FromMilliseconds(300), 4L * 1024 * 1024 * 1024);
        var (globals, log) = ScriptKit.Globals(budget: budget);
        globals.__adaptor = ScriptKit.Probe(log);
        var e = await Assert.ThrowsAsync<StepKilledException>(() => step.RunAsync(globals));
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public void Regex_default_timeout_is_configured_for_the_process()
    {
        Sandbox.ConfigureProcess();
        Assert.Equal(Sandbox.RegexMatchTimeout, AppContext.GetData("REGEX_DEFAULT_MATCH_TIMEOUT"));
    }
}
