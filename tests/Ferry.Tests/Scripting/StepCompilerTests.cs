using System.Runtime.CompilerServices;
using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Scripting;

namespace Ferry.Tests.Scripting;

public class StepCompilerTests
{
    private static readonly StepCompiler Compiler = ScriptKit.NewCompiler();

    [Fact]
    public async Task State_reads_missing_members_as_null_and_assignment_creates_them()
    {
        var step = ScriptKit.Compile(Compiler, """
            state.data.seen = state.data.missing == null;
            state.data.total = state.data.a + state.data.b;
            state.extra = new { ok = true };
            """);
        var (globals, _) = ScriptKit.Globals("""{"data":{"a":2,"b":3}}""");
        var result = await step.RunAsync(globals);
        Assert.Null(result);
        Assert.Equal("""{"data":{"a":2,"b":3,"seen":true,"total":5},"extra":{"ok":true}}""", Js.ToJson(globals.state));
    }

    [Fact]
    public async Task Returned_object_is_the_result()
    {
        var step = ScriptKit.Compile(Compiler, """return new JsObject { ["data"] = 42 };""");
        var result = await step.RunAsync(ScriptKit.Globals().Globals);
        Assert.Equal("""{"data":42}""", Js.ToJson(result));
    }

    [Fact]
    public async Task Adaptor_is_bound_under_its_name_and_await_works()
    {
        var step = ScriptKit.Compile(Compiler, """
            using System.Text;
            var echoed = await probe.Echo(new { id = state.data.id });
            state.echoed = echoed;
            state.sent = await probe.Send(echoed);
            """, withProbe: true);
        var (globals, log) = ScriptKit.Globals("""{"data":{"id":7}}""");
        var probe = ScriptKit.Probe(log);
        globals.__adaptor = probe;
        await step.RunAsync(globals);
        Assert.Equal("""{"data":{"id":7},"echoed":{"id":7},"sent":2}""", Js.ToJson(globals.state));
        Assert.Equal(2, probe.Sent.Count);
    }

    [Fact]
    public async Task Log_and_cursor_globals_work()
    {
        var step = ScriptKit.Compile(Compiler, """
            log.Info($"rows: {state.data.rows.Length}");
            log.Warn(state.data);
            cursor.Set(new DateTime(2024, 5, 1, 0, 0, 0, DateTimeKind.Utc));
            """);
        var (globals, log) = ScriptKit.Globals("""{"data":{"rows":[1,2,3]}}""");
        await step.RunAsync(globals);
        Assert.Equal(["rows: 3", """{"rows":[1,2,3]}"""], log.Entries.Select(e => e.Message).ToArray());
        Assert.True(globals.cursor.Changed);
        Assert.Equal("2024-05-01T00:00:00.0000000Z", (string)globals.cursor.Value!);
    }

    [Fact]
    public async Task Ordinary_code_keeps_working_after_instrumentation()
    {
        var step = ScriptKit.Compile(Compiler, """
            record Row(string Id, int Count)
            {
                public int Double => Count * 2;
                public string Label { get => $"{Id}:{Count}"; }
            }
            class Totals
            {
                private readonly List<int> _values = new(4);
                public void Add(int v) => _values.Add(v);
                public int Sum() { var s = 0; foreach (var v in _values) s += v; return s; }
            }
            static int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
            IEnumerable<int> Evens(int max) { for (var i = 0; i <= max; i += 2) yield return i; }
            async Task<int> Later(int x) { await Task.CompletedTask; return x + 1; }

            var rows = new List<Row>();
            foreach (var r in state.data.rows)
                rows.Add(new Row((string)r.id, (int)r.count));
            var totals = new Totals();
            rows.ForEach(r => totals.Add(r.Double));
            int i = 0;
            do { i++; } while (i < 3);
            var grid = new int[2, 3];
            var labels = string.Join(",", rows.Where(r => r.Count > 1).Select(r => r.Label));
            var byId = rows.ToDictionary(r => r.Id, r => r.Count);
            var text = new StringBuilder().Append('-', 3).Append("x".PadLeft(3)).ToString();
            var words = Regex.Split("a b  c", @"\s+");
            var when = DateTime.ParseExact("01/05/2024", "dd/MM/yyyy", CultureInfo.InvariantCulture);
            string kind = state.data.kind switch { "a" => "first", _ => "other" };
            state.result = new
            {
                total = totals.Sum(), labels, fib = Fib(10), evens = Evens(6).ToArray(), later = await Later(1), i,
                cells = grid.Length, text, words = words.Length, when = when.ToString("yyyy-MM-dd"), kind, b = byId["b"],
                first = state.data.rows[0]?.id, missing = state.data.nothing?.deeper ?? "none",
            };
            """);
        var (globals, _) = ScriptKit.Globals("""{"data":{"kind":"a","rows":[{"id":"a","count":1},{"id":"b","count":2}]}}""");
        await step.RunAsync(globals);
        Assert.Equal(
            """{"total":6,"labels":"b:2","fib":55,"evens":[0,2,4,6],"later":2,"i":3,"cells":6,"text":"---  x","words":3,"when":"2024-05-01","kind":"first","b":2,"first":"a","missing":"none"}""",
            Js.ToJson(((JsObject)globals.state)["result"]));
    }

    [Fact]
    public void Compile_error_is_mapped_to_the_csx_line()
    {
        var result = Compiler.CompileStep("state.a = 1;\nstate.b = 2;\nvar x = undefinedThing + 1;\n", ScriptKit.Csx, null, null);
        Assert.False(result.Success);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal("FERRY200", error.Code);
        Assert.Equal(new SourceLocation("jobs/x.csx", 3, 9), error.Location);
        Assert.Contains("undefinedThing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inline_code_errors_are_mapped_to_the_ferry_yaml_line_and_column()
    {
        // `code: |` whose first line is ferry.yaml line 12, indented by 8 spaces (column 9).
        var result = Compiler.CompileStep("state.a = 1;\nvar x = undefinedThing;\nvar y = System.IO.File.Exists(\"a\");", new SourceLocation("ferry.yaml", 12, 9), null, null);
        Assert.Equal(["ferry.yaml:13:17", "ferry.yaml:14:17"], result.Diagnostics.Select(d => d.Location!.ToString()).ToArray());
        Assert.Equal(["FERRY200", "FERRY210"], result.Diagnostics.Select(d => d.Code).ToArray());
    }

    [Fact]
    public void Second_compile_of_the_same_code_is_a_memory_cache_hit()
    {
        var compiler = ScriptKit.NewCompiler();
        var first = compiler.CompileStep("state.n = 1;", ScriptKit.Csx, null, null);
        var second = compiler.CompileStep("state.n = 1;", new SourceLocation("other.csx", 1, 1), null, null);
        Assert.Equal(StepCacheSource.Compiled, first.Source);
        Assert.False(first.FromCache);
        Assert.Equal(StepCacheSource.Memory, second.Source);
        Assert.True(second.FromCache);
        Assert.Equal(first.Step!.Hash, second.Step!.Hash);
        Assert.Equal("other.csx", second.Step.Location.File);
    }

    [Fact]
    public async Task A_step_no_longer_held_is_unloaded_and_compiles_again_from_the_disk_cache()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-cache-").FullName;
        try
        {
            var compiler = ScriptKit.NewCompiler(dir);
            // The step returns an object of a type of its own, which state conversion looks at (and caches) by type.
            const string code = "state.made = new { id = 7, name = \"anon\" };";
            var context = await RunAndForgetAsync(compiler, code);
            for (var i = 0; i < 20 && context.IsAlive; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            Assert.False(context.IsAlive, "the step's load context is still alive after its last holder was dropped");

            var again = compiler.CompileStep(code, ScriptKit.Csx, null, null);
            Assert.Equal(StepCacheSource.Disk, again.Source);
            var (globals, _) = ScriptKit.Globals();
            await again.Step!.RunAsync(globals);
            Assert.Equal("""{"made":{"id":7,"name":"anon"}}""", Js.ToJson(globals.state));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Compiles and runs a step, and returns only a weak reference to its load context.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunAndForgetAsync(StepCompiler compiler, string code)
    {
        var result = compiler.CompileStep(code, ScriptKit.Csx, null, null);
        Assert.Equal(StepCacheSource.Compiled, result.Source);
        var (globals, _) = ScriptKit.Globals();
        await result.Step!.RunAsync(globals);
        Assert.Equal("""{"made":{"id":7,"name":"anon"}}""", Js.ToJson(globals.state));
        return new WeakReference(result.Step.LoadContext ?? throw new InvalidOperationException("no load context"));
    }

    [Fact]
    public void Different_adaptor_gives_a_different_hash()
    {
        var plain = Compiler.CompileStep("state.n = 1;", ScriptKit.Csx, null, null);
        var probe = Compiler.CompileStep("state.n = 1;", ScriptKit.Csx, typeof(ProbeAdaptor), "probe");
        Assert.NotEqual(plain.Step!.Hash, probe.Step!.Hash);
    }

    [Fact]
    public async Task A_second_compiler_on_the_same_cache_directory_loads_from_disk()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-cache-").FullName;
        try
        {
            const string code = "state.doubled = (int)state.n * 2;\nthrow new InvalidOperationException(\"after\");";
            var first = ScriptKit.NewCompiler(dir).CompileStep(code, ScriptKit.Csx, null, null);
            Assert.Equal(StepCacheSource.Compiled, first.Source);
            Assert.Equal(2, Directory.GetFiles(dir).Length);

            var second = ScriptKit.NewCompiler(dir).CompileStep(code, ScriptKit.Csx, null, null);
            Assert.Equal(StepCacheSource.Disk, second.Source);
            Assert.True(second.FromCache);
            var (globals, _) = ScriptKit.Globals("""{"n":21}""");
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.Step!.RunAsync(globals));
            Assert.Equal(42, (int)((JsObject)globals.state)["doubled"]!);
            // The PDB came from disk too: the error is located.
            Assert.Equal("jobs/x.csx:2:1", StepErrors.Describe(e, second.Step!).Where?.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Corrupt_cache_file_is_recompiled()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-cache-").FullName;
        try
        {
            var first = ScriptKit.NewCompiler(dir).CompileStep("state.x = 2;", ScriptKit.Csx, null, null);
            File.WriteAllText(Path.Combine(dir, first.Step!.Hash + ".dll"), "not an assembly");
            var second = ScriptKit.NewCompiler(dir).CompileStep("state.x = 2;", ScriptKit.Csx, null, null);
            Assert.True(second.Success);
            Assert.Equal(StepCacheSource.Compiled, second.Source);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Condition_compiles_and_evaluates_over_state()
    {
        var result = Compiler.CompileCondition("state.data.count > 2", new SourceLocation("ferry.yaml", 20, 30));
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var condition = result.Condition!;
        var budget = ExecutionBudget.Unlimited;
        Assert.True(condition.Evaluate((JsObject)Js.Parse("""{"data":{"count":3}}""")!, budget));
        Assert.False(condition.Evaluate((JsObject)Js.Parse("""{"data":{"count":1}}""")!, budget));
        Assert.False(condition.Evaluate((JsObject)Js.Parse("""{"data":{}}""")!, budget));
    }

    [Fact]
    public void Condition_with_lambdas_and_null_result()
    {
        var condition = Compiler.CompileCondition("((IEnumerable<dynamic>)state.data.rows).Any(r => r.ok == true)", new SourceLocation("ferry.yaml", 5, 20)).Condition!;
        Assert.True(condition.Evaluate((JsObject)Js.Parse("""{"data":{"rows":[{"ok":false},{"ok":true}]}}""")!, ExecutionBudget.Unlimited));
        var missing = Compiler.CompileCondition("state.flag", new SourceLocation("ferry.yaml", 5, 20)).Condition!;
        Assert.False(missing.Evaluate(new JsObject(), ExecutionBudget.Unlimited));
    }

    [Fact]
    public void Condition_errors_and_refusals_are_mapped_to_the_yaml_position()
    {
        var result = Compiler.CompileCondition("state.data.count >", new SourceLocation("ferry.yaml", 20, 30));
        Assert.False(result.Success);
        Assert.All(result.Diagnostics, d => Assert.Equal(20, d.Location!.Line));
        var refused = Compiler.CompileCondition("System.IO.File.Exists(\"x\")", new SourceLocation("ferry.yaml", 20, 30));
        var d = Assert.Single(refused.Diagnostics);
        Assert.Equal("ferry.yaml:20:30", d.Location!.ToString());
        Assert.Contains("await", Assert.Single(Compiler.CompileCondition("await Task.FromResult(true)", new SourceLocation("ferry.yaml", 1, 1)).Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Condition_loop_is_killed_by_its_budget()
    {
        var condition = Compiler.CompileCondition("Enumerable.Range(0, 10).All(i => { while (true) { } })", new SourceLocation("ferry.yaml", 1, 1)).Condition!;
        var e = Assert.Throws<StepKilledException>(() => condition.Evaluate(new JsObject(), new ExecutionBudget(TimeSpan.FromMilliseconds(200), 1 << 26)));
        Assert.Equal(KillReason.Timeout, e.Reason);
    }

    [Fact]
    public async Task Runtime_exception_is_located_on_the_user_line()
    {
        var step = ScriptKit.Compile(Compiler, """
            state.a = 1;
            void Check(int n)
            {
                if (n > 1) throw new InvalidOperationException($"bad value {n}");
            }
            foreach (var n in new[] { 1, 2 })
                Check(n);
            """);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => step.RunAsync(ScriptKit.Globals().Globals));
        var error = StepErrors.Describe(e, step);
        Assert.Equal("InvalidOperationException: bad value 2", error.Message);
        Assert.Equal(new SourceLocation("jobs/x.csx", 4, 5), error.Where);
    }

    [Fact]
    public async Task Runtime_error_in_inline_code_points_at_the_yaml_line_with_a_readable_message()
    {
        var result = Compiler.CompileStep("state.ok = 1;\nvar name = state.data.patient.name;", new SourceLocation("ferry.yaml", 30, 11), null, null);
        var step = result.Step!;
        var e = await Assert.ThrowsAnyAsync<Exception>(() => step.RunAsync(ScriptKit.Globals("""{"data":{}}""").Globals));
        var error = StepErrors.Describe(e, step);
        Assert.Equal("ferry.yaml:31:11", error.Where?.ToString());
        Assert.StartsWith("A value was null where the step used it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_access_errors_keep_their_message()
    {
        var step = ScriptKit.Compile(Compiler, "state.data.rows.Explode();");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => step.RunAsync(ScriptKit.Globals("""{"data":{"rows":[]}}""").Globals));
        var error = StepErrors.Describe(e, step);
        Assert.Contains("'Explode' is not a function of a JSON array", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Where?.Line);
    }

    [Fact]
    public void Invalid_adaptor_name_is_reported()
    {
        var result = Compiler.CompileStep("state.x = 1;", ScriptKit.Csx, typeof(ProbeAdaptor), "go-data");
        Assert.Equal("FERRY201", Assert.Single(result.Diagnostics).Code);
    }
}

public class EmptyStepCodeTests
{
    private static readonly StepCompiler Compiler = ScriptKit.NewCompiler();

    [Theory]
    [InlineData("// nothing to do yet")]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("/* a\n block */")]
    public async Task Code_with_no_statements_compiles_and_leaves_state_as_it_was(string code)
    {
        var result = Compiler.CompileStep(code, ScriptKit.Csx, null, null);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var (globals, _) = ScriptKit.Globals("""{"data":[1]}""");
        Assert.Null(await result.Step!.RunAsync(globals));
        Assert.Equal("""{"data":[1]}""", Js.ToJson(globals.state));
    }
}
